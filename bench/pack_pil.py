"""pack_pil.py: the PIL equivalent of `sp-pack ROOT --size SxS` for
bench/pack.sh: open, convert to RGB, resize the shorter side to S
(bilinear, antialiased), centre crop, keep the bytes.  Prints images/s.

    pack_pil.py ROOT SIZE
    pack_pil.py --make ROOT COUNT     writes COUNT photo-like 500x375 JPEGs
"""
import os
import sys
import time

import numpy as np
from PIL import Image


def make(root, count):
    """Smooth shapes plus fine texture, so the JPEGs carry photo-like detail."""
    rng = np.random.default_rng(1)
    os.makedirs(f"{root}/a", exist_ok=True)
    os.makedirs(f"{root}/b", exist_ok=True)
    y, x = np.mgrid[0:375, 0:500].astype(np.float32)
    for i in range(count):
        img = np.empty((375, 500, 3), np.float32)
        for c in range(3):
            a, b, p = rng.uniform(-1, 1, 3)
            img[..., c] = 128 + 70 * np.sin(a * x / 40 + b * y / 30 + p * 3)
        img += rng.normal(0, 12, img.shape)
        im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
        im.save(f"{root}/{'ab'[i % 2]}/img{i:04d}.jpg", quality=90)


def pack(root, size):
    files = sorted(f"{root}/{c}/{f}" for c in sorted(os.listdir(root))
                   for f in os.listdir(f"{root}/{c}"))
    out = []
    t = time.perf_counter()
    for f in files:
        im = Image.open(f).convert("RGB")
        w, h = im.size
        s = size / min(w, h)
        rw, rh = max(size, round(w * s)), max(size, round(h * s))
        im = im.resize((rw, rh), Image.BILINEAR)
        l, u = (rw - size) // 2, (rh - size) // 2
        out.append(im.crop((l, u, l + size, u + size)).tobytes())
    dt = time.perf_counter() - t
    print(f"{len(files) / dt:.1f}")


if __name__ == "__main__":
    if sys.argv[1] == "--make":
        make(sys.argv[2], int(sys.argv[3]))
    else:
        pack(sys.argv[1], int(sys.argv[2]))
