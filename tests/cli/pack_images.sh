#!/bin/sh
# sp-pack on images: a folder tree with a corrupt JPEG, a PNG and a stray
# text file, ILSVRC-style nested train tars and a validation tar with its
# labels file, and a WebDataset shard, all written by
# tests/tools/make_pack_inputs.py.  Pixels are compared with PIL doing the
# same resize (shorter side, bilinear with antialiasing, centre crop).
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
GEN="$PY $ROOT/tests/tools/make_pack_inputs.py"
# pycheck NAME PYTHON-CODE [ARGS]: py_check with PIL's fit of an image and
# a record as an array at hand.
PIL_HELPERS="from PIL import Image
def pil_fit(path, h, w):
    im = Image.open(path).convert('RGB')
    s = max(h / im.size[1], w / im.size[0])
    rw, rh = max(w, round(im.size[0] * s)), max(h, round(im.size[1] * s))
    im = im.resize((rw, rh), Image.BILINEAR)
    l, t = (rw - w) // 2, (rh - h) // 2
    return np.asarray(im.crop((l, t, l + w, t + h)), np.int16)
def rec(d, i):
    return np.frombuffer(d['record'](i), np.uint8).reshape(d['height'], d['width'], d['channels']).astype(np.int16)"
pycheck() { py_check "$PIL_HELPERS" "$@"; }

cd "$T" || exit 1
$GEN folder tree
$GEN ilsvrc ils
$GEN wds shard.tar 6

# the folder tree: every image but the corrupt one, which is named
sp-pack tree --size 24x32 -o tree.spd 2>err.txt
check pack-folder-status test $? -eq 0
check pack-folder-names-skipped grep -q "skipped 'tree/ant/broken.jpg'" err.txt
pycheck pack-folder-records '
d = spd.read("tree.spd")
files = ["tree/ant/img%d.jpg" % i for i in range(4)] + ["tree/bee/img%d.jpg" % i for i in range(3)] \
    + ["tree/bee/img3.png"] + ["tree/cat/img%d.jpg" % i for i in range(4)]
assert (d["count"], d["classes"], d["height"], d["width"]) == (12, 3, 24, 32), d
assert d["names"] == ["ant", "bee", "cat"] and list(d["labels"]) == [0] * 4 + [1] * 4 + [2] * 4
for i, f in enumerate(files):
    e = np.abs(rec(d, i) - pil_fit(f, 24, 32))
    # PNG: the same arithmetic as PIL; JPEG: decoders and DCT scaling differ a little
    assert (e.max() <= 1) if f.endswith("png") else (e.mean() < 4 and e.max() < 32), (f, e.mean(), e.max())
print("ok")'
check pack-folder-threads-same sh -c 'sp-pack tree --size 24x32 -t 3 -o t3.spd 2>/dev/null && cmp tree.spd t3.spd'
expect_error pack-folder-strict 1 sp-pack tree --size 24x32 --strict -o strict.spd
check pack-folder-strict-no-output test ! -e strict.spd
mkdir tree/empty
expect_error pack-folder-empty-class 1 sp-pack tree --size 24x32 -o empty.spd
check pack-folder-empty-no-output test ! -e empty.spd
rmdir tree/empty
expect_error pack-folder-raw-needs-size 1 sp-pack tree --encoding raw -o raw.spd

# JPEG records at source size keep the source bytes; PNGs are re-encoded
sp-pack tree -o treej.spd 2>/dev/null
pycheck pack-folder-jpeg-passthrough '
d = spd.read("treej.spd")
assert d["encoding"] == "jpeg" and (d["height"], d["width"]) == (0, 0)
assert d["record"](0) == open("tree/ant/img0.jpg", "rb").read()
png = np.asarray(Image.open(__import__("io").BytesIO(d["record"](7))).convert("RGB"), np.int16)
src = np.asarray(Image.open("tree/bee/img3.png").convert("RGB"), np.int16)
assert png.shape == src.shape and np.abs(png - src).mean() < 3
print("ok")'

# ILSVRC train: one tar per class inside the archive, classes sorted by wnid
check pack-ilsvrc-train sp-pack ils/train.tar --size 16x16 -o it.spd
pycheck pack-ilsvrc-train-labels '
d = spd.read("it.spd")
assert d["names"] == ["n01000002", "n02000001", "n03000003"], d["names"]
assert list(d["labels"]) == [1, 1, 1, 0, 0, 0, 2, 2, 2], list(d["labels"])
print("ok")'
# validation: bare labels in sorted file-name order, or FILE LABEL lines
check pack-ilsvrc-val sp-pack ils/val.tar --labels-file ils/val_labels.txt --size 16x16 -o iv.spd
check pack-ilsvrc-val-named sp-pack ils/val.tar --labels-file ils/val_named.txt --size 16x16 -o iv2.spd
pycheck pack-ilsvrc-val-labels '
want = [int(v) for v in open("ils/expect_val.txt").read().split()]
a, b = spd.read("iv.spd"), spd.read("iv2.spd")
assert list(a["labels"]) == want and list(b["labels"]) == want, (list(a["labels"]), want)
assert a["names"] == ["n01000002", "n02000001", "n03000003"] and b["names"] == ["0", "1", "2"]
print("ok")'
head -n 4 ils/val_labels.txt > short.txt
expect_error pack-ilsvrc-val-count 1 sp-pack ils/val.tar --labels-file short.txt --size 16x16 -o ivs.spd
head -c 20000 ils/train.tar > trunc.tar
expect_error pack-ilsvrc-truncated 1 sp-pack trunc.tar --size 16x16 -o tr.spd
check pack-ilsvrc-truncated-no-output test ! -e tr.spd

# WebDataset: KEY.jpg / KEY.png with KEY.cls
check pack-wds sp-pack shard.tar --size 20x20 --resize exact -o w.spd
pycheck pack-wds-labels '
import tarfile
d = spd.read("w.spd")
assert d["count"] == 6 and list(d["labels"]) == [(i * 3) % 5 for i in range(6)]
t = tarfile.open("shard.tar")
im = Image.open(t.extractfile("sample0001.png")).convert("RGB").resize((20, 20), Image.BILINEAR)
assert np.abs(rec(d, 1) - np.asarray(im, np.int16)).max() <= 1
print("ok")'
check pack-wds-jpeg sp-pack shard.tar --size 20x20 --resize exact --encoding jpeg --quality 80 -o wj.spd
pycheck pack-wds-jpeg-records '
import io
d, r = spd.read("wj.spd"), spd.read("w.spd")
assert d["encoding"] == "jpeg" and (d["height"], d["width"]) == (20, 20)
for i in range(6):
    im = np.asarray(Image.open(io.BytesIO(d["record"](i))), np.int16)
    assert im.shape == (20, 20, 3) and np.abs(im - rec(r, i)).mean() < 6
print("ok")'
finish
