#!/bin/sh
# train_mask.sh: sp-train-mask on a tiny real dataset (Fashion-MNIST
# records shrunk to 8x8) and a tiny resnet20, on the reference backend:
#   - a stage writes the block's hard channel index into its masks, the
#     stage.* metadata, the generators, soft masks and the original's
#     twin/ tensors, and its --log has step, window and epoch lines;
#   - sp-train-mask | sp-compress | sp-flops works as a pipe;
#   - a stage killed with SIGKILL and continued with --resume writes
#     exactly the bytes of an uninterrupted run;
#   - bad input fails with one sentence and leaves no output behind.
. "$(dirname "$0")/lib.sh"

FM=/usr/share/datasets/fashion-mnist
for p in sp-train-mask sp-compress sp-flops sp-pack sp-init; do
    if [ ! -x "$BIN/$p" ]; then
        echo "ok train_mask: $p not built, nothing to check # SKIP"
        finish
    fi
done
if [ ! -d "$FM" ]; then
    echo "ok train_mask: $FM missing, nothing to check # SKIP"
    finish
fi

sp-pack "$FM" --split train --size 8x8 -n 96 -o "$T/train.spd" 2>"$T/e" || fail pack "$(cat "$T/e")"
sp-pack "$FM" --split test --size 8x8 -n 32 -o "$T/val.spd" 2>"$T/e" || fail pack "$(cat "$T/e")"
sp-init --arch resnet20 --input 1x8x8 --seed 4 -o "$T/net.spk" 2>"$T/e" || fail init "$(cat "$T/e")"
sp-init --arch resnet20 --input 1x8x8 --classes 7 -o "$T/net7.spk" 2>"$T/e" || fail init "$(cat "$T/e")"

# 12 steps per epoch (batch 8), windows of 4 steps, 2 epochs; the state is
# saved every 3 steps.
stage() { # stage OUT [extra options]
    out=$1; shift
    sp-train-mask --block 1 --data "$T/train.spd" --val "$T/val.spd" --epochs 2 --batch 8 \
        --window 4 --beta-range 5 --rate 0.5 --lr 0.01 --seed 3 --device ref --save-every 3 \
        "$@" -o "$out" "$T/net.spk"
}

check "train_mask_uninterrupted" stage "$T/a.spk" --log "$T/a.log"
[ -e "$T/a.spk.resume" ] && fail "train_mask_state_removed" "a.spk.resume left behind" ||
    ok "train_mask_state_removed"
if [ "$(grep -c '"val_top1"' "$T/a.log")" -eq 2 ] && [ "$(grep -c '"window"' "$T/a.log")" -eq 6 ] &&
    [ "$(grep -c '"images_per_s"' "$T/a.log")" -eq 24 ]
then ok "train_mask_log_lines"; else fail "train_mask_log_lines" "$(head -c 300 "$T/a.log")"; fi

PY=$(find_python numpy)
if [ -n "$PY" ]; then
    # stage 1 of resnet20 masks the first ReLU of layer2.0 .. layer2.2 (32 channels)
    py_check "import json, struct" "train_mask_contents" '
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n))
meta = h["__metadata__"]; base = 8 + n
def arr(name):
    e = h[name]; f.seek(base + e["data_offsets"][0])
    return np.frombuffer(f.read(e["data_offsets"][1] - e["data_offsets"][0]), "<f4")
masks = sorted(k for k in h if k.endswith(".m.mask"))
kept = [int(arr(k).sum()) for k in masks]
assert len(masks) == 3 and all(k.startswith("layer2.") for k in masks), masks
assert all(set(np.unique(arr(k))) <= {0.0, 1.0} for k in masks), "masks are not 0/1"
assert meta["stage.block"] == "1" and meta["stage.state"] == "trained", meta
assert meta["stage.kept"] == ",".join(map(str, kept)), (meta["stage.kept"], kept)
assert meta["stage.by"] == "sp" and meta["stage.recipe"] == "resnet-cifar10"
assert len(meta["stage.input"]) == 8 and meta["stage.seed"] == "3"
for k in masks:
    node = k[:-len(".mask")]
    assert h["gen/" + node + ".weight"]["shape"] == [32, 32, 3, 3], h["gen/" + node + ".weight"]
    s = arr("soft/" + node); assert ((s >= 0) & (s <= 1)).all() and s.size == 32
assert "twin/bn1.weight" in h and "twin/layer3.2.bn2.running_var" in h
assert not any(k.startswith("twin/") and k.endswith("conv1.weight") for k in h)
print("ok")' "$T/a.spk"
fi

# A pipe: stage, compress, count.
if sp-train-mask --block 0 --data "$T/train.spd" --val "$T/val.spd" --epochs 1 --batch 8 \
    --window 4 --rate 0.3 --device ref --seed 1 <"$T/net.spk" 2>"$T/e" | sp-compress |
    sp-flops >"$T/flops.txt" 2>>"$T/e" && grep -q . "$T/flops.txt"
then ok "train_mask_pipe"; else fail "train_mask_pipe" "$(head -c 300 "$T/e")"; fi

# --round 4: every layer of block 0 (16 channels) keeps a multiple of 4,
# in its masks and in stage.kept.
if sp-train-mask --block 0 --data "$T/train.spd" --val "$T/val.spd" --epochs 1 --batch 8 \
    --window 4 --rate 0.3 --device ref --seed 1 --round 4 -o "$T/round.spk" "$T/net.spk" 2>"$T/e"
then
    [ -n "$PY" ] && py_check "import json, struct" "train_mask_round" '
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n))
meta = h["__metadata__"]; base = 8 + n
def arr(name):
    e = h[name]; f.seek(base + e["data_offsets"][0])
    return np.frombuffer(f.read(e["data_offsets"][1] - e["data_offsets"][0]), "<f4")
kept = [int(arr(k).sum()) for k in sorted(k for k in h if k.endswith(".m.mask"))]
assert len(kept) == 3 and all(k % 4 == 0 and 0 < k <= 16 for k in kept), kept
assert meta["stage.kept"] == ",".join(map(str, kept)) and meta["stage.round"] == "4", meta
print("ok")' "$T/round.spk"
else fail "train_mask_round" "$(head -c 300 "$T/e")"; fi

# Kill the second run as soon as a mid-epoch state exists.
stage "$T/b.spk" 2>"$T/b.err" &
pid=$!
i=0
while [ ! -e "$T/b.spk.resume" ] && [ $i -lt 1500 ]; do sleep 0.02; i=$((i + 1)); done
kill -9 $pid 2>/dev/null; killed=$?
wait $pid 2>/dev/null
if [ $killed -ne 0 ] || [ -e "$T/b.spk" ]; then
    fail "train_mask_killed" "the run ended before it could be killed"
else
    ok "train_mask_killed"
    check "train_mask_resume" stage "$T/b.spk" --resume
    check "train_mask_resume_same_bytes" cmp "$T/a.spk" "$T/b.spk"
fi

# Bad input: one sentence, nothing written.
expect_error "train_mask_no_block" 1 sp-train-mask --block 7 --data "$T/train.spd" \
    --val "$T/val.spd" --device ref -o "$T/c.spk" "$T/net.spk"
expect_error "train_mask_rate" 2 sp-train-mask --block 0 --rate 1.5 --data "$T/train.spd" \
    --val "$T/val.spd" -o "$T/c.spk" "$T/net.spk"
expect_error "train_mask_rate_zero" 2 sp-train-mask --block 0 --rate 0 --data "$T/train.spd" \
    --val "$T/val.spd" -o "$T/c.spk" "$T/net.spk"
expect_error "train_mask_classes" 1 sp-train-mask --block 0 --data "$T/train.spd" \
    --val "$T/val.spd" --device ref --epochs 1 --batch 8 --window 4 -o "$T/c.spk" "$T/net7.spk"
expect_error "train_mask_twice" 1 sp-train-mask --block 0 --data "$T/train.spd" \
    --val "$T/val.spd" --device ref -o "$T/c.spk" "$T/a.spk"
sp-compress "$T/a.spk" -o "$T/p.spk" 2>"$T/e" || fail "train_mask_compress" "$(cat "$T/e")"
expect_error "train_mask_compressed_block" 1 sp-train-mask --block 1 --data "$T/train.spd" \
    --val "$T/val.spd" --device ref -o "$T/c.spk" "$T/p.spk"
expect_error "train_mask_short_epoch" 1 sp-train-mask --block 0 --data "$T/val.spd" \
    --val "$T/val.spd" --device ref --epochs 1 --batch 16 -o "$T/c.spk" "$T/net.spk"
[ -e "$T/c.spk" ] && fail "train_mask_nothing_written" "c.spk exists" ||
    ok "train_mask_nothing_written"
finish
