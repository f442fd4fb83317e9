"""make_pack_inputs.py: writes sp-pack's test inputs in the real on-disk
formats, small and deterministic.

    make_pack_inputs.py cifar10 OUT.tar.gz PER_BATCH   official member names
    make_pack_inputs.py cifar100 OUT.tar.gz N_TRAIN N_TEST
    make_pack_inputs.py idx DIR N                      gzip and plain pairs
    make_pack_inputs.py folder ROOT                    JPEG/PNG tree, one corrupt JPEG
    make_pack_inputs.py ilsvrc DIR [PER_CLASS N_VAL]   train tar of tars, val tar + labels
    make_pack_inputs.py imagenet_tree ROOT PER_CLASS N_VAL_PER_CLASS
                                                       train/ and val/ class folders
    make_pack_inputs.py wds OUT.tar N                  WebDataset shard
"""
import gzip
import io
import os
import sys
import tarfile

import numpy as np
from PIL import Image

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
                 "dog", "frog", "horse", "ship", "truck"]


def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def cifar_records(n, seed, label_bytes):
    """Records sharing random pixels except a few per-record bytes at the
    start of each plane (so full-size archives compress well and stay quick
    to write), with random labels."""
    rng = np.random.default_rng(seed)
    recs = np.zeros((n, label_bytes + 3072), np.uint8)
    recs[:, label_bytes:] = rng.integers(0, 256, 3072, dtype=np.uint8)[None, :]
    for j in range(label_bytes):
        recs[:, j] = rng.integers(0, 100 if j == label_bytes - 1 else 20, n)
    i = np.arange(n)
    for c, m in enumerate((1, 3, 5)):
        recs[:, label_bytes + 1024 * c] = (i * m + 11 * (c + 1)) % 256
        recs[:, label_bytes + 1024 * c + 1] = (i // 256 * m) % 256
    return recs


def cifar10(out, per_batch):
    per_batch = int(per_batch)
    members = {}
    for b in range(1, 6):
        r = cifar_records(per_batch, b, 1)
        r[:, 0] %= 10
        members[f"data_batch_{b}.bin"] = r.tobytes()
    r = cifar_records(per_batch, 9, 1)
    r[:, 0] %= 10
    members["test_batch.bin"] = r.tobytes()
    members["batches.meta.txt"] = ("\n".join(CIFAR10_NAMES) + "\n\n").encode()
    # not in numeric order, as nothing guarantees it in an archive
    order = ["batches.meta.txt", "data_batch_2.bin", "data_batch_1.bin", "test_batch.bin",
             "data_batch_5.bin", "data_batch_3.bin", "data_batch_4.bin"]
    with tarfile.open(out, "w:gz", compresslevel=1) as t:
        d = tarfile.TarInfo("cifar-10-batches-bin")
        d.type = tarfile.DIRTYPE
        t.addfile(d)
        for m in order:
            add(t, "cifar-10-batches-bin/" + m, members[m])


def cifar100(out, n_train, n_test):
    fine = [f"fine{k:02d}" for k in range(100)]
    coarse = [f"coarse{k:02d}" for k in range(20)]
    with tarfile.open(out, "w:gz", compresslevel=1) as t:
        for name, n, seed in (("train.bin", int(n_train), 1), ("test.bin", int(n_test), 2)):
            r = cifar_records(n, seed, 2)
            r[:, 0] %= 20
            add(t, "cifar-100-binary/" + name, r.tobytes())
        add(t, "cifar-100-binary/fine_label_names.txt", "\n".join(fine).encode() + b"\n")
        add(t, "cifar-100-binary/coarse_label_names.txt", "\n".join(coarse).encode() + b"\n")


def idx(d, n):
    n = int(n)
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    lab = (np.arange(n) % 10).astype(np.uint8)
    ib = bytes([0, 0, 8, 3]) + np.array([n, 28, 28], ">u4").tobytes() + img.tobytes()
    lb = bytes([0, 0, 8, 1]) + np.array([n], ">u4").tobytes() + lab.tobytes()
    with open(f"{d}/images-idx3-ubyte", "wb") as f:
        f.write(ib)
    with open(f"{d}/labels-idx1-ubyte", "wb") as f:
        f.write(lb)
    with gzip.open(f"{d}/train-images-idx3-ubyte.gz", "wb") as f:
        f.write(ib)
    with gzip.open(f"{d}/train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(lb)
    lb_short = bytes([0, 0, 8, 1]) + np.array([n - 1], ">u4").tobytes() + lab[:-1].tobytes()
    with open(f"{d}/short-labels-idx1-ubyte", "wb") as f:
        f.write(lb_short)


def photo(h, w, seed):
    """A smooth image: gradients and a few soft blobs."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        a, b, p = rng.uniform(-1, 1, 3)
        img[..., c] = 128 + 60 * np.sin(a * x / w * 6 + b * y / h * 6 + p * 3)
        for _ in range(3):
            cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.1, 0.3) * min(h, w)
            img[..., c] += rng.uniform(-60, 60) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def jpeg_bytes(im, q=95):
    b = io.BytesIO()
    im.save(b, "JPEG", quality=q)
    return b.getvalue()


def folder(root):
    sizes = [(60, 80), (75, 50), (64, 64), (90, 120)]
    k = 0
    for cls in ("cat", "ant", "bee"):
        os.makedirs(f"{root}/{cls}", exist_ok=True)
        for i, (h, w) in enumerate(sizes):
            k += 1
            im = photo(h, w, k)
            if cls == "bee" and i == 3:
                im.save(f"{root}/{cls}/img{i}.png")
            else:
                with open(f"{root}/{cls}/img{i}.jpg", "wb") as f:
                    f.write(jpeg_bytes(im))
    with open(f"{root}/ant/broken.jpg", "wb") as f:
        f.write(jpeg_bytes(photo(64, 64, 99))[:300])
    with open(f"{root}/ant/notes.txt", "w") as f:
        f.write("not an image\n")


def ilsvrc(d, per_class=3, n_val=6):
    per_class, n_val = int(per_class), int(n_val)
    os.makedirs(d, exist_ok=True)
    wnids = ["n02000001", "n01000002", "n03000003"]
    k = 0
    with tarfile.open(f"{d}/train.tar", "w") as outer:
        for w in wnids:
            inner = io.BytesIO()
            with tarfile.open(fileobj=inner, mode="w") as t:
                for i in range(per_class):
                    k += 1
                    add(t, f"{w}_{i}.JPEG", jpeg_bytes(photo(40 + 5 * (i % 3), 50, k)))
            add(outer, f"{w}.tar", inner.getvalue())
    names = [f"ILSVRC2012_val_{i:08d}.JPEG" for i in range(1, n_val + 1)]
    labels = [wnids[i % 3] for i in range(n_val)]
    # archive order differs from name order
    order = (3, 0, 5, 1, 4, 2) if n_val == 6 else [(i * 5 + 3) % n_val for i in range(n_val)]
    assert sorted(order) == list(range(n_val)), "n_val must not be a multiple of 5"
    with tarfile.open(f"{d}/val.tar", "w") as t:
        for i in order:
            add(t, names[i], jpeg_bytes(photo(48, 48, 100 + i)))
    with open(f"{d}/val_labels.txt", "w") as f:
        f.write("".join(l + "\n" for l in labels))
    sorted_wnids = sorted(wnids)
    with open(f"{d}/val_named.txt", "w") as f:
        f.write("".join(f"{n} {sorted_wnids.index(l)}\n" for n, l in zip(names, labels)))
    with open(f"{d}/expect_val.txt", "w") as f:        # labels in archive order
        f.write(" ".join(str(sorted_wnids.index(labels[i])) for i in order) + "\n")


def imagenet_tree(root, per_class, n_val):
    """ImageNet as torchvision's ImageFolder wants it: ROOT/train/WNID/*.JPEG
    and ROOT/val/WNID/*.JPEG, photo-like JPEGs of a few sizes, 3 classes."""
    k = 0
    for split, n in (("train", int(per_class)), ("val", int(n_val))):
        for w in ("n01440764", "n01443537", "n01484850"):
            os.makedirs(f"{root}/{split}/{w}", exist_ok=True)
            for i in range(n):
                k += 1
                h, wd = ((36, 48), (48, 40), (40, 40))[i % 3]
                with open(f"{root}/{split}/{w}/{w}_{k}.JPEG", "wb") as f:
                    f.write(jpeg_bytes(photo(h, wd, 300 + k)))


def wds(out, n):
    with tarfile.open(out, "w") as t:
        for i in range(int(n)):
            key = f"sample{i:04d}"
            add(t, key + ".cls", f"{(i * 3) % 5}\n".encode())
            add(t, key + (".png" if i == 1 else ".jpg"),
                jpeg_bytes(photo(32, 40, 200 + i)) if i != 1 else png_bytes(photo(32, 40, 200 + i)))


def png_bytes(im):
    b = io.BytesIO()
    im.save(b, "PNG")
    return b.getvalue()


if __name__ == "__main__":
    {"cifar10": cifar10, "cifar100": cifar100, "idx": idx, "folder": folder,
     "ilsvrc": ilsvrc, "imagenet_tree": imagenet_tree, "wds": wds}[sys.argv[1]](*sys.argv[2:])
