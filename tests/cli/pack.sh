#!/bin/sh
# sp-pack on array datasets: CIFAR-10/100 archives and IDX files written by
# tests/tools/make_pack_inputs.py in the official layouts, the real
# Fashion-MNIST, and inputs that must be refused.  Packed files are read
# back with tests/tools/spd.py, an independent reader of sp-data(5).
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
GEN="$PY $ROOT/tests/tools/make_pack_inputs.py"
# pycheck NAME PYTHON-CODE [ARGS]: the code runs with spd imported and
# argv set; it passes when it prints "ok".
pycheck() { py_check "" "$@"; }

cd "$T" || exit 1

# CIFAR-10 at full size: 5 x 10,000 train records, 10,000 test records
$GEN cifar10 c10.tar.gz 10000
check pack-cifar10-train sp-pack c10.tar.gz -o c10.spd
check pack-cifar10-test sp-pack c10.tar.gz --split test -o c10t.spd
pycheck pack-cifar10-records '
import tarfile
d, t = spd.read("c10.spd"), spd.read("c10t.spd")
tar = tarfile.open("c10.tar.gz")
src = b"".join(tar.extractfile("cifar-10-batches-bin/data_batch_%d.bin" % k).read() for k in range(1, 6))
r = np.frombuffer(src, np.uint8).reshape(-1, 3073)
assert (d["count"], d["height"], d["width"], d["channels"]) == (50000, 32, 32, 3), d
assert t["count"] == 10000
assert d["encoding"] == "raw"
assert d["names"][0] == "airplane" and d["names"][9] == "truck" and d["classes"] == 10
assert (d["labels"] == r[:, 0]).all(), "labels"
assert tuple(d["record"](0)[:3]) == (src[1], src[1025], src[2049]), "pixel (0,0) of record 0"
for i in list(range(0, 50000, 4999)) + [49999]:
    hwc = r[i, 1:].reshape(3, 1024).T.reshape(-1)
    assert np.array_equal(np.frombuffer(d["record"](i), np.uint8), hwc), i
print("ok")'

# CIFAR-100: fine labels by default, coarse on request
$GEN cifar100 c100.tar.gz 50 20
check pack-cifar100 sp-pack c100.tar.gz -o fine.spd
check pack-cifar100-coarse sp-pack c100.tar.gz --labels coarse --split test -o coarse.spd
pycheck pack-cifar100-labels '
import tarfile
tar = tarfile.open("c100.tar.gz")
tr = np.frombuffer(tar.extractfile("cifar-100-binary/train.bin").read(), np.uint8).reshape(-1, 3074)
te = np.frombuffer(tar.extractfile("cifar-100-binary/test.bin").read(), np.uint8).reshape(-1, 3074)
f, c = spd.read("fine.spd"), spd.read("coarse.spd")
assert f["classes"] == 100 and f["names"][5] == "fine05" and f["count"] == 50
assert c["classes"] == 20 and c["names"][19] == "coarse19" and c["count"] == 20
assert (f["labels"] == tr[:, 1]).all() and (c["labels"] == te[:, 0]).all()
assert np.array_equal(np.frombuffer(f["record"](3), np.uint8), tr[3, 2:].reshape(3, 1024).T.reshape(-1))
px = tr[:, 2:].reshape(-1, 3, 1024).astype(np.float64) / 255
assert np.allclose(f["mean"], px.mean(axis=(0, 2)), atol=1e-5), f["mean"]
assert np.allclose(f["std"], px.std(axis=(0, 2)), atol=1e-5), f["std"]
print("ok")'

# a subset of classes, in the order the file lists them
printf 'cat\nairplane\n' > classes.txt
check pack-classes-from sp-pack c10.tar.gz --split test --classes-from classes.txt -o sub.spd
pycheck pack-classes-from-labels '
t = spd.read("c10t.spd"); s = spd.read("sub.spd")
want = [{3: 0, 0: 1}[l] for l in t["labels"] if l in (3, 0)]
assert s["names"] == ["cat", "airplane"] and list(s["labels"]) == want
print("ok")'
printf 'cat\nunicorn\n' > typo.txt
expect_error pack-classes-from-unknown 1 sp-pack c10.tar.gz --split test --classes-from typo.txt -o typo.spd
check pack-limit sp-pack c10.tar.gz --split test --limit 123 -o lim.spd
pycheck pack-limit-count 'd = spd.read("lim.spd"); assert d["count"] == 123, d["count"]; print("ok")'

# IDX: a plain pair, a gzipped folder, mismatched counts
$GEN idx idx 30
check pack-idx-pair sp-pack idx/images-idx3-ubyte idx/labels-idx1-ubyte -o i1.spd
check pack-idx-folder sp-pack idx -o i2.spd
check pack-idx-same cmp i1.spd i2.spd
check pack-stdout sh -c 'sp-pack idx > i3.spd && cmp i1.spd i3.spd'
pycheck pack-idx-records '
d = spd.read("i1.spd")
img = np.fromfile("idx/images-idx3-ubyte", np.uint8)[16:].reshape(-1, 784)
assert (d["height"], d["width"], d["channels"], d["count"]) == (28, 28, 1, 30)
assert list(d["labels"]) == [i % 10 for i in range(30)]
assert all(d["record"](i) == img[i].tobytes() for i in range(30))
print("ok")'
expect_error pack-idx-mismatch 1 sp-pack idx/images-idx3-ubyte idx/short-labels-idx1-ubyte -o bad.spd
check pack-idx-mismatch-no-output test ! -e bad.spd

# the real Fashion-MNIST
FM=/usr/share/datasets/fashion-mnist
if [ -e $FM/train-images-idx3-ubyte.gz ]; then
    check pack-fashion-train sp-pack $FM --split train -o fm.spd
    check pack-fashion-test sp-pack $FM --split test -o fmt.spd
    pycheck pack-fashion-histogram '
import gzip
d, t = spd.read("fm.spd"), spd.read("fmt.spd")
assert (d["count"], d["height"], d["width"], d["channels"]) == (60000, 28, 28, 1)
assert t["count"] == 10000
assert np.bincount(d["labels"]).tolist() == [6000] * 10
assert d["names"][0] == "T-shirt/top" and d["names"][9] == "Ankle boot"
img = gzip.open(sys.argv[1] + "/train-images-idx3-ubyte.gz").read()[16:16 + 784]
lab = gzip.open(sys.argv[1] + "/t10k-labels-idx1-ubyte.gz").read()[8:]
assert d["record"](0) == img and list(t["labels"]) == list(lab)
print("ok")' $FM
else
    ok "pack-fashion # skipped: dataset-fashion-mnist not installed"
fi

# what sp-inspect shows of a dataset
if [ -x "$BIN/sp-inspect" ]; then
    check pack-inspect-record sh -c 'sp-inspect --record 7 c10t.spd > r7.ppm'
    pycheck pack-inspect-record-pixels '
import tarfile
src = tarfile.open("c10.tar.gz").extractfile("cifar-10-batches-bin/test_batch.bin").read()
r = np.frombuffer(src, np.uint8).reshape(-1, 3073)[7, 1:].reshape(3, 1024).T.tobytes()
assert open("r7.ppm", "rb").read() == b"P6\n32 32\n255\n" + r
print("ok")'
    check pack-inspect-json sh -c 'sp-inspect --json c10t.spd > t.json'
    pycheck pack-inspect-histogram '
import json
j, d = json.load(open("t.json")), spd.read("c10t.spd")
assert j["records"] == 10000 and j["class_names"] == d["names"]
assert j["histogram"] == np.bincount(d["labels"], minlength=10).tolist()
assert np.allclose(j["mean"], d["mean"]) and np.allclose(j["std"], d["std"])
print("ok")'
    cp c10t.spd damaged.spd
    printf '\377' | dd of=damaged.spd bs=1 seek=300 conv=notrunc 2>/dev/null
    expect_error pack-inspect-damaged 1 sp-inspect damaged.spd
fi

# refused inputs: one sentence, exit 1, nothing left behind
head -c 500000 c10.tar.gz > trunc.tar.gz
expect_error pack-truncated-archive 1 sp-pack trunc.tar.gz -o out.spd
check pack-truncated-no-output test ! -e out.spd
echo hello > junk.bin
expect_error pack-unknown-input 1 sp-pack junk.bin -o out.spd
expect_error pack-missing-input 1 sp-pack nothere.tar.gz -o out.spd
check pack-refused-no-output test ! -e out.spd
expect_error pack-bad-split 2 sp-pack c10.tar.gz --split dev -o out.spd
check pack-no-temporaries sh -c '! ls -a | grep -q "tmp-\|sp-pack-"'
finish
