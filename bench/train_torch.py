#!/usr/bin/python3
"""The PyTorch side of bench/train.sh: images per second of one training
step (forward, cross-entropy, backward, SGD with momentum and weight decay)
and of inference, on synthetic 32x32 data, with the same networks as sp's
(defined in tests/fixtures/gen_torch_fixtures.py).

    train_torch.py ARCH BATCH ITERS THREADS
prints "torch ARCH train IMAGES_PER_S infer IMAGES_PER_S"."""
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests',
                                'fixtures'))
from gen_torch_fixtures import CifarResNet, VGG16Cifar  # noqa: E402

NETS = {'resnet20': lambda: CifarResNet(3), 'resnet56': lambda: CifarResNet(9),
        'vgg16-cifar': VGG16Cifar}


def main():
    arch, batch, iters, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = NETS[arch]()
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    model.train()
    for it in range(iters + 1):
        if it == 1:
            t0 = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    train = batch * iters / (time.perf_counter() - t0)
    model.eval()
    with torch.no_grad():
        for it in range(iters + 1):
            if it == 1:
                t0 = time.perf_counter()
            model(x).numpy()
    infer = batch * iters / (time.perf_counter() - t0)
    print('torch %s train %.1f infer %.1f' % (arch, train, infer))


if __name__ == '__main__':
    main()
