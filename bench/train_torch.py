#!/usr/bin/python3
"""The PyTorch side of bench/train.sh: images per second of one training
step (forward, cross-entropy, backward, SGD with momentum and weight decay)
and of inference, on synthetic 32x32 data, with the same networks as sp's
(defined in tests/fixtures/gen_torch_fixtures.py).

    train_torch.py ARCH BATCH ITERS THREADS [DEVICE [SIZE [CLASSES]]]
prints "torch ARCH train IMAGES_PER_S infer IMAGES_PER_S".  On a GPU
(DEVICE cuda) TF32 is off, as sp computes in full float32; resnet50 is
torchvision's."""
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


def resnet50(classes):
    import torchvision
    return torchvision.models.resnet50(num_classes=classes)


def main():
    arch, batch, iters, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    device = sys.argv[5] if len(sys.argv) > 5 else 'cpu'
    size = int(sys.argv[6]) if len(sys.argv) > 6 else 32
    classes = int(sys.argv[7]) if len(sys.argv) > 7 else 10
    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(1)
    model = (resnet50(classes) if arch == 'resnet50' else NETS[arch]()).to(device)
    x = torch.randn(batch, 3, size, size, device=device)
    y = torch.randint(0, classes, (batch,), device=device)
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    model.train()
    for it in range(iters + 1):
        if it == 1:
            t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()   # sp reads its loss every step too
    sync()
    train = batch * iters / (time.perf_counter() - t0)
    model.eval()
    with torch.no_grad():
        for it in range(iters + 1):
            if it == 1:
                t0 = time.perf_counter()
            model(x).cpu().numpy()
    infer = batch * iters / (time.perf_counter() - t0)
    print('torch %s train %.1f infer %.1f' % (arch, train, infer))


if __name__ == '__main__':
    main()
