#!/usr/bin/python3
"""Checks that bench/torch_nets.py builds the network sp builds: each
convolution, batch norm and linear layer of sp's graph (sp-inspect --json
on standard input) against the PyTorch module of the same name, by its
attributes and by its output shape in a forward pass, then the parameter
tensors name by name and shape by shape, and their total.

    bin/sp-init --arch NET | bin/sp-inspect --json | bench/check_nets.py NET
prints "NET: N layers and P parameters agree", or each difference (exit 1)."""
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_nets import NETS  # noqa: E402

KINDS = {nn.Conv2d: 'conv', nn.BatchNorm2d: 'bn', nn.Linear: 'linear'}


def torch_layer(m, out):
    """What sp-inspect --json says of a layer, from a PyTorch module."""
    d = {'op': KINDS[type(m)], 'output': list(out.shape[1:]) + [1] * (4 - out.dim())}
    if isinstance(m, nn.Conv2d):
        d.update(cin=m.in_channels, cout=m.out_channels, kernel=list(m.kernel_size),
                 stride=list(m.stride), padding=list(m.padding), groups=m.groups,
                 bias=m.bias is not None)
    elif isinstance(m, nn.Linear):
        d.update(cin=m.in_features, cout=m.out_features, bias=m.bias is not None)
    return d


def main():
    net = sys.argv[1]
    if net not in NETS:
        print('check_nets.py: no PyTorch definition of %s (bench/torch_nets.py has %s)'
              % (net, ', '.join(NETS)), file=sys.stderr)
        return 2
    sp = json.load(sys.stdin)
    make, shape = NETS[net]
    model = make().eval()
    seen = {}
    for name, m in model.named_modules():
        if type(m) in KINDS:
            m.register_forward_hook(
                lambda mod, _, out, name=name: seen.__setitem__(name, torch_layer(mod, out)))
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    bad, n = [], 0
    for node in sp['nodes']:
        if node['op'] not in KINDS.values():
            continue
        n += 1
        got = seen.pop(node['name'], None)
        want = {k: node[k] for k in (got or {}) if k in node}
        if got is None or got != want:
            bad.append('%s: sp %s, PyTorch %s' % (node['name'], want or node, got))
    bad += ['%s: only in PyTorch' % k for k in seen]
    tp = {k: list(v.shape) for k, v in model.named_parameters()}
    stats = ('running_mean', 'running_var', 'num_batches_tracked')
    ts = {t['name']: t['shape'] for t in sp['tensors'] if not t['name'].endswith(stats)}
    bad += ['tensor %s: sp %s, PyTorch %s' % (k, ts.get(k), tp.get(k))
            for k in sorted(set(tp) | set(ts)) if tp.get(k) != ts.get(k)]
    total = sum(v.numel() for v in model.parameters())
    if total != sp['parameters']:
        bad.append('parameters: sp %d, PyTorch %d' % (sp['parameters'], total))
    for b in bad:
        print('%s: %s' % (net, b))
    if not bad:
        print('%s: %d layers and %d parameters agree' % (net, n, total))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
