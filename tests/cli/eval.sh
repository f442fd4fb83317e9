#!/bin/sh
# eval.sh: sp-eval's figures agree with an independent computation: Python
# (standard library only) reads the .npy logits sp-eval writes and the
# labels straight from Fashion-MNIST's IDX file, and recomputes top-1,
# top-5 and the mean cross-entropy.  Bad input fails with one sentence.
. "$(dirname "$0")/lib.sh"

FM=/usr/share/datasets/fashion-mnist
for p in sp-eval sp-pack sp-init sp-finetune; do
    if [ ! -x "$BIN/$p" ]; then
        echo "ok eval: $p not built, nothing to check # SKIP"
        finish
    fi
done
if [ ! -d "$FM" ] || ! command -v python3 >/dev/null; then
    echo "ok eval: Fashion-MNIST or python3 missing, nothing to check # SKIP"
    finish
fi

sp-pack "$FM" --split train --size 8x8 -n 64 -o "$T/train.spd" 2>"$T/e" || fail pack "$(cat "$T/e")"
sp-pack "$FM" --split test --size 8x8 -n 40 -o "$T/val.spd" 2>"$T/e" || fail pack "$(cat "$T/e")"
sp-init --arch resnet20 --input 1x8x8 --seed 2 -o "$T/init.spk" 2>"$T/e" || fail init "$(cat "$T/e")"
sp-init --arch resnet20 --input 1x8x8 --classes 5 -o "$T/net5.spk" 2>"$T/e" || fail init "$(cat "$T/e")"
# a network with trained BN statistics, so that the logits are not trivial
sp-finetune --data "$T/train.spd" --val "$T/val.spd" --epochs 1 --batch 16 --lr 0.05 \
    --threads 1 -o "$T/net.spk" "$T/init.spk" 2>"$T/e" || fail finetune "$(cat "$T/e")"

check "eval_text" sp-eval --data "$T/val.spd" --batch 16 "$T/net.spk"
grep -q "^top-1 [0-9.]*%  top-5 [0-9.]*%  loss [0-9.]*  (40 images)$" "$T/.out" &&
    ok "eval_text_format" || fail "eval_text_format" "$(cat "$T/.out")"

check "eval_json_logits" sp-eval --data "$T/val.spd" --batch 16 --json --logits "$T/z.npy" "$T/net.spk"
cp "$T/.out" "$T/cpu.json"
cat >"$T/check.py" <<'EOF'
import gzip, json, math, struct, sys
npy, labels_gz, report = sys.argv[1:4]
raw = open(npy, "rb").read()
assert raw[:8] == b"\x93NUMPY\x01\x00", "not a version 1.0 .npy file"
(hl,) = struct.unpack("<H", raw[8:10])
assert (10 + hl) % 64 == 0, "header not padded to 64 bytes"
header = raw[10:10 + hl].decode("latin1")
assert header.endswith("\n")
h = eval(header)
assert h["descr"] == "<f4" and h["fortran_order"] is False, header
n, k = h["shape"]
data = raw[10 + hl:]
assert len(data) == 4 * n * k, "data size %d for shape %s" % (len(data), h["shape"])
z = struct.unpack("<%df" % (n * k), data)
lab = gzip.open(labels_gz).read()[8:8 + n]
top1 = top5 = 0
loss = 0.0
for i in range(n):
    row = z[i * k:(i + 1) * k]
    y = lab[i]
    rank = sum(1 for j in range(k) if row[j] > row[y])
    top1 += rank < 1
    top5 += rank < 5
    m = max(row)
    loss += m + math.log(sum(math.exp(v - m) for v in row)) - row[y]
r = json.load(open(report))
want = {"images": n, "top1": 100.0 * top1 / n, "top5": 100.0 * top5 / n, "loss": loss / n}
for key, v in want.items():
    assert abs(r[key] - v) <= 1e-4 * max(1.0, abs(v)), "%s: sp-eval %r, recomputed %r" % (key, r[key], v)
EOF
check "eval_matches_independent_computation" python3 "$T/check.py" "$T/z.npy" \
    "$FM/t10k-labels-idx1-ubyte.gz" "$T/cpu.json"

check "eval_ref_device" sp-eval --data "$T/val.spd" --batch 16 --json --device ref \
    --logits "$T/zr.npy" "$T/net.spk"
check "eval_ref_matches_cpu" python3 "$T/check.py" "$T/zr.npy" \
    "$FM/t10k-labels-idx1-ubyte.gz" "$T/cpu.json"
# the same batch as cpu.json's: the last printed digit of the loss may
# change with the batch (sp-eval(1): "beyond rounding")
check "eval_stdin" sh -c "$(command -v sp-eval) --data '$T/val.spd' --batch 16 --json \
    < '$T/net.spk' | cmp - '$T/cpu.json'"

expect_error "eval_class_mismatch" 1 sp-eval --data "$T/val.spd" --logits "$T/bad.npy" "$T/net5.spk"
grep -q "10 classes but the network in .* has 5 outputs" "$T/.err" && [ ! -e "$T/bad.npy" ] &&
    ok "eval_class_mismatch_message" || fail "eval_class_mismatch_message" "$(cat "$T/.err")"
expect_error "eval_needs_data" 2 sp-eval "$T/net.spk"
expect_error "eval_bad_batch" 2 sp-eval --data "$T/val.spd" --batch 0 "$T/net.spk"
expect_error "eval_missing_data" 1 sp-eval --data "$T/none.spd" "$T/net.spk"
check "eval_help" sp-eval --help
finish
