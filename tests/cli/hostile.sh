#!/bin/sh
# hostile.sh: damaged and hostile inputs (tests/fixtures/hostile, written by
# gen_hostile.py) are refused with one sentence and a failure status, in
# bounded time and under 1 GB, and no output ever replaces an input.
. "$(dirname "$0")/lib.sh"
H=$FIX/hostile
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
export OMP_NUM_THREADS=1

# refused NAME STATUS PATTERN COMMAND...: exit STATUS, nothing on stdout, one
# line on stderr naming the program and matching PATTERN, within 60 s and
# 1 GB of memory.
refused() {
    name=$1 want=$2 pat=$3; shift 3
    if [ -x /usr/bin/time ]; then
        timeout 60 /usr/bin/time -f %M -o "$T/.mem" "$@" >"$T/.out" 2>"$T/.err"; rc=$?
    else
        timeout 60 "$@" >"$T/.out" 2>"$T/.err"; rc=$?; echo 0 >"$T/.mem"
    fi
    kb=$(tail -n 1 "$T/.mem")
    prog=$(basename "$1")
    if [ "$rc" -ne "$want" ]; then fail "$name" "exit $rc, expected $want: $(head -c 300 "$T/.err")"
    elif [ -s "$T/.out" ]; then fail "$name" "wrote to stdout"
    elif [ "$(wc -l <"$T/.err")" -ne 1 ] || ! grep -q "^$prog: .*$pat" "$T/.err"; then
        fail "$name" "stderr: $(head -c 300 "$T/.err")"
    elif [ "${kb:-0}" -gt 1000000 ]; then fail "$name" "used $kb KB"
    else ok "$name"; fi
}

# 1. a zero-element F16 tensor with a dimension of 2^31 is read, not freed twice
refused import-f16-empty-huge 1 "match no built-in network" \
    sp-import "$H/f16_empty_huge.safetensors" -o "$T/x.spk"
# 2. .spd table offsets whose sums wrap around
sp-init --arch resnet20 --input 3x8x8 --classes 1 -o "$T/net1.spk" 2>/dev/null
for f in spd_labels_wrap spd_index_wrap; do
    refused "inspect-$f" 1 "a table lies outside the file" sp-inspect "$H/$f.spd"
    refused "eval-$f" 1 "a table lies outside the file" \
        sp-eval --data "$H/$f.spd" "$T/net1.spk"
done
# 3 and 5. a truncated JPEG and image bombs are skipped by sp-pack, the
# good image kept; a raised cap lets the PNG through to its own error
mkdir -p "$T/imgs/a"
cp "$H/good.png" "$H/truncated17.jpg" "$H/bomb_progressive.jpg" "$H/bomb_30000.png" "$T/imgs/a/"
timeout 60 /usr/bin/time -f %M -o "$T/mem" sp-pack "$T/imgs" --size 8x8 -o "$T/imgs.spd" 2>"$T/err"
check pack-skips-bad-images test $? -eq 0
check pack-keeps-good-image sh -c "sp-inspect '$T/imgs.spd' | grep -q '^records: *1$'"
check pack-truncated-jpeg-named grep -q "truncated17.jpg': corrupt JPEG" "$T/err"
check pack-jpeg-bomb-capped grep -q "bomb_progressive.jpg': JPEG of 65500x65500 pixels is larger than the limit" "$T/err"
check pack-png-bomb-capped grep -q "bomb_30000.png': PNG of 30000x30000 pixels is larger than the limit" "$T/err"
check pack-bombs-bounded test "$(tail -n 1 "$T/mem")" -lt 1000000
refused pack-strict-bomb 1 "larger than the limit of 100 pixels" \
    sp-pack "$T/imgs" --strict --max-pixels 100 -o "$T/strict.spd"
check pack-strict-leaves-nothing test ! -e "$T/strict.spd"
# 5. pickles and zips that would allocate far beyond their size
refused import-memo-far 1 "memo index 16777214 is beyond" sp-import "$H/memo_far.pkl" -o "$T/x.spk"
refused import-stride0 1 "has 16777216 elements but its storage only 1" \
    sp-import "$H/stride0.pth" -o "$T/x.spk"
refused import-zip-bomb 1 "inflates to far more data than the file holds" \
    sp-import "$H/zip_bomb.pth" -o "$T/x.spk"
for kind in marks lists; do
    $PY "$H/gen_hostile.py" --big $kind - "$T/$kind.pkl"
    refused "import-pickle-$kind" 1 "builds more objects than any state_dict" \
        sp-import "$T/$kind.pkl" -o "$T/x.spk"
done
$PY "$H/gen_hostile.py" --big gzidx - "$T/gzidx"
refused pack-gzip-bomb 1 "inflates to more than [0-9]* MiB, far more than its size justifies" \
    sp-pack "$T/gzidx" -o "$T/gz.spd"
# a member nothing refers to is never inflated: the checkpoint imports
$PY "$H/gen_hostile.py" --big unreferenced "$FIX/interop/resnet20.pth" "$T/unref.pth"
timeout 60 /usr/bin/time -f %M -o "$T/mem" sp-import "$T/unref.pth" -o "$T/unref.spk" 2>"$T/err"
check import-unreferenced-member-skipped test $? -eq 0 -a "$(tail -n 1 "$T/mem")" -lt 90000
# the members may come in any order
$PY "$H/gen_hostile.py" --big pickle-last "$FIX/interop/resnet20.pth" "$T/last.pth"
check import-pickle-after-tensors sp-import "$T/last.pth" -o "$T/last.spk"
check no-output-after-refusals test ! -e "$T/x.spk"

# 7. an output naming an input, by its name or a hard link, is refused
# and the input kept
cp "$FIX/interop/resnet20.pth" "$T/in.pth"
ln "$T/in.pth" "$T/link.pth"
sum=$(cksum <"$T/in.pth")
refused import-output-is-input 1 "refusing to write '.*in.pth': it is an input" \
    sp-import "$T/in.pth" -o "$T/in.pth"
refused import-output-is-link 1 "it is an input" sp-import "$T/in.pth" -o "$T/link.pth"
refused import-output-is-stdin 1 "it is an input" sp-import -o "$T/in.pth" <"$T/in.pth"
check import-input-kept test "$(cksum <"$T/in.pth")" = "$sum"
sp-import "$T/in.pth" -o "$T/net.spk" 2>/dev/null
refused export-output-is-input 1 "it is an input" sp-export --format pth "$T/net.spk" -o "$T/net.spk"
sp-pack "$T/imgs" --size 8x8 -o "$T/d.spd" 2>/dev/null
dsum=$(cksum <"$T/d.spd")
refused eval-logits-is-data 1 "it is an input" \
    sp-eval --data "$T/d.spd" --logits "$T/d.spd" "$T/net1.spk"
refused pack-output-is-input 1 "it is an input" sp-pack "$T/d.spd" -o "$T/d.spd"
refused finetune-log-is-data 1 "it is an input" \
    sp-finetune --data "$T/d.spd" --val "$T/d.spd" --epochs 1 --log "$T/d.spd" -o "$T/ft.spk" "$T/net1.spk"
check dataset-kept test "$(cksum <"$T/d.spd")" = "$dsum"

# 8. a temporary left by a killed run is removed by the next one; that of
# a running process is not
sleep 30 & live=$!
: >"$T/o.spd.tmp-999999999"; : >"$T/o.spd.tmp-$live"
sp-pack "$T/imgs" --size 8x8 -o "$T/o.spd" 2>/dev/null
check stale-temporary-removed test ! -e "$T/o.spd.tmp-999999999" -a -e "$T/o.spd.tmp-$live"
kill $live
# a write that fails says why
if (ulimit -f 1; sp-export --format pth "$T/net.spk" -o "$T/big.pth" 2>"$T/err"); then
    fail export-disk-full-says-why "succeeded past ulimit -f"
else
    check export-disk-full-says-why grep -q "^sp-export: cannot write '.*big.pth': File too large$" "$T/err"
fi
check export-disk-full-leaves-nothing sh -c "! ls '$T' | grep -q '^big.pth'"
finish
