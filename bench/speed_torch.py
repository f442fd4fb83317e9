#!/usr/bin/python3
"""The PyTorch side of bench/speed.sh, the same measurement as
bench/speed_bench.c: images per second of training steps (forward,
cross-entropy, backward, SGD with momentum 0.9 and weight decay 5e-4) or
of inference (evaluation mode, no autograd), on synthetic data, and the
peak memory of the process (the interpreter included).

    speed_torch.py NET train|infer BATCH ITERS THREADS [DEVICE]
(DEVICE: cpu, the default, or cuda, with TF32 off as sp computes) prints "torch NET MODE IMAGES_PER_S MAX_RSS_KB - PARAMS BASE_RSS_KB",
BASE_RSS_KB: the peak before the network was built (interpreter, torch)."""
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_nets import NETS  # noqa: E402


WARMUP = 2   # untimed steps: the second is still well slower than the later ones


def run(model, x, y, train, iters):
    """Seconds of iters steps after WARMUP untimed ones (the device's
    queue drained before the clock is read)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    model.train(train)
    with torch.set_grad_enabled(train):
        for it in range(WARMUP + iters):
            if it == WARMUP:
                t0 = time.perf_counter()
            if train:
                opt.zero_grad()
                F.cross_entropy(model(x), y).backward()
                opt.step()
            else:
                model(x).cpu().numpy()
    if x.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main():
    net, mode = sys.argv[1], sys.argv[2]
    batch, iters, threads = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    device = sys.argv[6] if len(sys.argv) > 6 else 'cpu'
    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    torch.manual_seed(1)
    make, shape = NETS[net]
    model = make().to(device)
    classes = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1].out_features
    x = torch.randn(batch, *shape).to(device)
    y = torch.randint(0, classes, (batch,)).to(device)
    secs = run(model, x, y, mode == 'train', iters)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    params = sum(p.numel() for p in model.parameters())
    print('torch %s %s %.2f %d - %d %d' % (net, mode, batch * iters / secs, rss, params, base))


if __name__ == '__main__':
    main()
