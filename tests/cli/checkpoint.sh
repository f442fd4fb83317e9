#!/bin/sh
# checkpoint.sh: the checkpoint on disk follows sp-checkpoint(5), checked by
# an independent reader (Python's json, struct and zlib), and every program
# that reads checkpoints refuses damaged or foreign input with one line,
# exit 1 and nothing on stdout, leaving no output file behind.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$BIN/sp-init" ]; then
    echo "ok checkpoint: sp-init not built, nothing to check # SKIP"
    finish
fi

# One line on stderr starting with the program, exit 1, empty stdout, and a
# message that names the checkpoint's problem.
expect_bad_input() {
    name=$1 input=$2; shift 2
    "$@" <"$input" >"$T/.out" 2>"$T/.err"; rc=$?
    prog=$(basename "$1")
    if [ "$rc" -ne 1 ]; then fail "$name" "exit $rc, expected 1: $(head -c 300 "$T/.err")"
    elif [ -s "$T/.out" ]; then fail "$name" "wrote to stdout"
    elif [ "$(wc -l <"$T/.err")" -ne 1 ]; then fail "$name" "not one line: $(head -c 300 "$T/.err")"
    elif ! grep -q "^$prog: .*\(truncated\|damaged\|not an sp checkpoint\|is empty\)" "$T/.err"; then
        fail "$name" "message: $(head -c 300 "$T/.err")"
    else ok "$name"; fi
}

sp-init --arch resnet20 -o "$T/x.spk" 2>"$T/init.err" || fail "sp-init resnet20" "$(cat "$T/init.err")"

cat >"$T/check.py" <<'EOF'
import json, struct, sys, zlib
SIZE = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "U8": 1}
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
assert n % 8 == 0, "header length %d is not a multiple of 8" % n
text = raw[8:8 + n].decode("utf-8")
assert text.rstrip(" ") == text.strip(), "header padding is not spaces"
hdr = json.loads(text)
keys = list(hdr)
assert keys[0] == "__metadata__", "__metadata__ is not first"
meta = hdr["__metadata__"]
assert all(isinstance(v, str) for v in meta.values()), "metadata values must be strings"
assert meta["format"] == "sp-checkpoint" and meta["version"] == "1", "format/version"
data = raw[8 + n:]
assert meta["crc32"] == "%08x" % zlib.crc32(data), "crc32 %s, data %08x" % (meta["crc32"], zlib.crc32(data))
at = 0
for k in keys[1:]:
    e = hdr[k]
    size = SIZE[e["dtype"]]
    for d in e["shape"]:
        size *= d
    b, end = e["data_offsets"]
    assert b == at and end - b == size, "tensor %s: offsets %s, expected %d + %d" % (k, e["data_offsets"], at, size)
    at = end
assert at == len(data), "data section is %d bytes, tensors cover %d" % (len(data), at)
# The parameters a PyTorch module of this graph would have, in state_dict order.
want = []
for nd in json.loads(meta["graph"])["nodes"]:
    op, nm = nd["op"], nd["name"]
    if op == "conv":
        kh, kw = nd["kernel"]
        want.append((nm + ".weight", "F32", [nd["cout"], nd["cin"] // nd["groups"], kh, kw]))
        if nd["bias"]:
            want.append((nm + ".bias", "F32", [nd["cout"]]))
    elif op == "bn":
        c = nd["channels"]
        want += [(nm + "." + s, "F32", [c]) for s in ("weight", "bias", "running_mean", "running_var")]
        want.append((nm + ".num_batches_tracked", "I64", []))
    elif op == "linear":
        want.append((nm + ".weight", "F32", [nd["cout"], nd["cin"]]))
        if nd["bias"]:
            want.append((nm + ".bias", "F32", [nd["cout"]]))
    elif op == "mask":
        want.append((nm + ".mask", "F32", [nd["channels"]]))
got = [(k, hdr[k]["dtype"], hdr[k]["shape"]) for k in keys[1:1 + len(want)]]
assert got == want, "parameters differ from the graph's: first %s" % next(
    (g, w) for g, w in zip(got + [None] * len(want), want) if g != w)
json.loads(meta["original"])
learnable = sum(eval("*".join(map(str, s)) or "1") for k, t, s in want
                if not k.endswith(("running_mean", "running_var", "num_batches_tracked", ".mask")))
print(learnable)
EOF
# 269722: the parameter count of the CIFAR ResNet-20 (He et al. 2016, option A).
if out=$(python3 "$T/check.py" "$T/x.spk" 2>&1) && [ "$out" = 269722 ]; then
    ok "resnet20 checkpoint follows sp-checkpoint(5)"
else
    fail "resnet20 checkpoint follows sp-checkpoint(5)" "$out"
fi
if python3 -c 'import safetensors' 2>/dev/null; then
    check "the safetensors package reads it" python3 -c '
import sys, json
from safetensors import safe_open
with safe_open(sys.argv[1], framework="numpy") as f:
    assert f.metadata()["format"] == "sp-checkpoint"
    assert len(list(f.keys())) > 0
' "$T/x.spk"
fi

# Damaged and foreign inputs.
size=$(wc -c <"$T/x.spk")
head -c $((size / 2)) "$T/x.spk" >"$T/truncated.spk"
head -c 100 "$T/x.spk" >"$T/cut-header.spk"
python3 - "$T/x.spk" "$T" <<'EOF'
import random, struct, sys
raw = bytearray(open(sys.argv[1], "rb").read())
(n,) = struct.unpack("<Q", raw[:8])
flip = bytearray(raw); flip[8 + n + (len(raw) - 8 - n) // 2] ^= 0x08
open(sys.argv[2] + "/flipped.spk", "wb").write(flip)
head = bytearray(raw); head[9] ^= 0x01
open(sys.argv[2] + "/header.spk", "wb").write(head)
open(sys.argv[2] + "/trailing.spk", "wb").write(raw + b"\0")
rng = random.Random(1)
open(sys.argv[2] + "/random.spk", "wb").write(bytes(rng.randrange(256) for _ in range(4096)))
EOF
: >"$T/empty.spk"
printf 'This is a text file, not a checkpoint.\n' >"$T/text.spk"

DS=
if [ -x "$BIN/sp-pack" ] && [ -d /usr/share/datasets/fashion-mnist ]; then
    sp-pack --split test -n 16 /usr/share/datasets/fashion-mnist -o "$T/ds.spd" 2>/dev/null && DS=$T/ds.spd
fi
# The programs that read a checkpoint, with the arguments they need besides it.
args_of() {
    case $1 in
    sp-eval) echo "--data $DS" ;;
    sp-finetune) echo "--data $DS --val $DS" ;;
    sp-train-mask) echo "--block 0 --data $DS --val $DS" ;;
    sp-export) echo "--format onnx" ;;
    *) echo "" ;;
    esac
}
needs_data() { case $1 in sp-eval|sp-finetune|sp-train-mask) return 0 ;; esac; return 1; }

for prog in sp-inspect sp-flops sp-eval sp-finetune sp-export sp-compress sp-train-mask; do
    [ -x "$BIN/$prog" ] || continue
    if needs_data "$prog" && [ -z "$DS" ]; then
        echo "ok $prog: no dataset to run it with # SKIP"
        continue
    fi
    # shellcheck disable=SC2046
    for bad in truncated cut-header flipped header trailing random empty text; do
        expect_bad_input "$prog refuses $bad input" "$T/$bad.spk" "$prog" $(args_of "$prog")
    done
    case $prog in sp-compress|sp-export|sp-finetune|sp-train-mask)
        rm -f "$T/out"*
        "$prog" $(args_of "$prog") -o "$T/out" <"$T/truncated.spk" >/dev/null 2>&1
        if ls "$T"/out* >/dev/null 2>&1; then fail "$prog -o leaves nothing after a bad input" "$(ls "$T"/out*)"
        else ok "$prog -o leaves nothing after a bad input"; fi
    esac
done

# A failed or killed sp-init leaves no file and no temporary under the name.
sp-init --arch vgg16-cifar --input 3x4x4 -o "$T/small.spk" >/dev/null 2>&1
if [ $? -ne 0 ] && ! ls "$T"/small.spk* >/dev/null 2>&1; then ok "failed sp-init -o leaves nothing"
else fail "failed sp-init -o leaves nothing" "$(ls "$T"/small.spk* 2>&1)"; fi
sp-init --arch vgg16-cifar-fc -o "$T/killed.spk" 2>/dev/null &
pid=$!
sleep 0.3
if kill "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null
    if ls "$T"/killed.spk* >/dev/null 2>&1; then fail "killed sp-init -o leaves nothing" "$(ls "$T"/killed.spk*)"
    else ok "killed sp-init -o leaves nothing"; fi
else
    wait "$pid"
    echo "ok killed sp-init -o: it finished before the signal # SKIP"
fi

# The same network through a pipe and from a file reads identically.
sp-inspect --json "$T/x.spk" >"$T/file.json" 2>"$T/.err" || fail "inspect from a file" "$(cat "$T/.err")"
sp-init --arch resnet20 | sp-inspect --json >"$T/pipe.json" 2>"$T/.err"
if cmp -s "$T/file.json" "$T/pipe.json"; then ok "checkpoint through a pipe reads like the file"
else fail "checkpoint through a pipe reads like the file" "outputs differ"; fi
finish
