#!/usr/bin/python3
"""gen_corpus.py: the seed corpus of the fuzz targets (tests/fuzz/corpus/),
small valid and nearly valid inputs of every reader.  Run from the
repository root after `make` (it uses bin/sp-init and bin/sp-pack); needs
PIL.  libFuzzer grows the corpus from these by mutation."""
import io
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
FIX = os.path.join(ROOT, "tests", "fixtures")
H = os.path.join(FIX, "hostile")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path, limit=None):
    with open(path, "rb") as f:
        return f.read() if limit is None else f.read(limit)


def image(fmt, mode="RGB", size=(16, 12), **kw):
    b = io.BytesIO()
    Image.new(mode, size, 90).save(b, fmt, **kw)
    return b.getvalue()


def tar(members):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return b.getvalue()


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    tmp = tempfile.mkdtemp()
    sp = lambda *a: subprocess.run([os.path.join(ROOT, "bin", a[0])] + list(a[1:]), check=True,
                                   stderr=subprocess.DEVNULL)
    # checkpoints: a real header (cut where libFuzzer's length limit is),
    # plain safetensors, the hostile ones
    net = os.path.join(tmp, "net.spk")
    sp("sp-init", "--arch", "resnet20", "--input", "1x8x8", "-o", net)
    put("checkpoint", "resnet20_head.spk", read(net, 60000))
    put("checkpoint", "f16_empty_huge.safetensors", read(os.path.join(H, "f16_empty_huge.safetensors")))
    put("checkpoint", "method_gen.safetensors", read(os.path.join(FIX, "method", "gen.safetensors"), 60000))
    # PyTorch files and pickles
    for f in ("hostile_os_system.pth", "hostile_reduce.pth", "hostile_eval.pth",
              "module_user.pth", "module_user_legacy.pth", "vgg16_cifar_legacy.pth"):
        put("torch", f, read(os.path.join(FIX, "interop", f)))
    for f in ("stride0.pth", "memo_far.pkl", "f16_empty_huge.safetensors"):
        put("torch", f, read(os.path.join(H, f)))
    z = zipfile.ZipFile(os.path.join(FIX, "interop", "resnet20.pth"))
    pkl = [n for n in z.namelist() if n.endswith("data.pkl")][0]
    put("pickle", "resnet20_data.pkl", z.read(pkl))
    put("pickle", "hostile_os_system.pkl", read(os.path.join(FIX, "interop", "hostile_os_system.pkl")))
    put("pickle", "memo_far.pkl", read(os.path.join(H, "memo_far.pkl")))
    # datasets: raw and JPEG records, and the damaged ones
    folder = os.path.join(tmp, "imgs", "a")
    os.makedirs(folder)
    for i in range(3):
        Image.new("RGB", (10 + i, 8), 40 * i).save(os.path.join(folder, "%d.png" % i))
    sp("sp-pack", os.path.join(tmp, "imgs"), "--size", "4x4", "-o", os.path.join(tmp, "raw.spd"))
    sp("sp-pack", os.path.join(tmp, "imgs"), "-e", "jpeg", "-o", os.path.join(tmp, "jpeg.spd"))
    put("spd", "raw.spd", read(os.path.join(tmp, "raw.spd")))
    put("spd", "jpeg.spd", read(os.path.join(tmp, "jpeg.spd")))
    for f in ("spd_labels_wrap.spd", "spd_index_wrap.spd"):
        put("spd", f, read(os.path.join(H, f)))
    # images
    put("image", "rgb.jpg", image("JPEG"))
    put("image", "grey.jpg", image("JPEG", "L"))
    put("image", "progressive.jpg", image("JPEG", progressive=True))
    put("image", "cmyk.jpg", image("JPEG", "CMYK"))
    put("image", "rgb.png", image("PNG"))
    put("image", "palette.png", image("PNG", "P"))
    put("image", "grey16.png", image("PNG", "I;16"))
    for f in ("truncated17.jpg", "bomb_progressive.jpg", "bomb_30000.png"):
        put("image", f, read(os.path.join(H, f)))
    # sp-pack's readers: the first byte picks the reader (fuzz_pack.c)
    put("pack", "cifar10", b"\0" + bytes([3]) + bytes(range(256)) * 12)
    put("pack", "cifar100", b"\1" + bytes([1, 7]) + bytes(range(256)) * 12)
    images = struct.pack(">IIII", 0x803, 2, 4, 4) + bytes(range(32))
    labels = struct.pack(">II", 0x801, 2) + bytes([1, 0])
    put("pack", "idx", b"\2" + bytes([round(255 * len(images) / (len(images) + len(labels)))])
        + images + labels)
    jpg = image("JPEG", size=(8, 8))
    inner = tar([("n01440764_1.JPEG", jpg), ("n01440764_2.JPEG", jpg)])
    put("pack", "ilsvrc_train", b"\3" + tar([("n01440764.tar", inner)]))
    put("pack", "wds", b"\4" + tar([("000.jpg", jpg), ("000.cls", b"3"), ("001.png", image("PNG")),
                                    ("001.cls", b"1")]))
    put("pack", "folder", b"\5" + image("PNG"))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
