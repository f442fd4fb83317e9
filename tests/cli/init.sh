#!/bin/sh
# sp-init: deterministic output, --list, and the failures (bad network,
# input too small, unwritable output) leaving nothing behind.
. "$(dirname "$0")/lib.sh"

check "init: same seed, same bytes" sh -c '
    sp-init --arch resnet20 --seed 5 -o "$1/a.spk" &&
    sp-init --arch resnet20 --seed 5 > "$1/b.spk" &&
    cmp "$1/a.spk" "$1/b.spk"' sh "$T"
check "init: another seed, other bytes" sh -c '
    sp-init --arch resnet20 --seed 6 -o "$1/c.spk" && ! cmp -s "$1/a.spk" "$1/c.spk"' sh "$T"

# The metadata sits in the safetensors header, readable as text.
check "init: preprocessing metadata" sh -c '
    head -c 100000 "$1/a.spk" | grep -q "\"input_size\":\"3x32x32\"" &&
    head -c 100000 "$1/a.spk" | grep -q "\"mean\":\"0.485,0.456,0.406\"" &&
    head -c 100000 "$1/a.spk" | grep -q "\"arch\":\"resnet20\""' sh "$T"

check "init: original network equals the network" python3 -c '
import json, struct, sys
d = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", d[:8])[0]
m = json.loads(d[8:8 + n])["__metadata__"]
sys.exit(0 if m["graph"] == m["original"] and json.loads(m["graph"])["arch"] == "resnet20" else 1)
' "$T/a.spk"

if [ -x "$BIN/sp-flops" ]; then
    check "init: vgg16-cifar | sp-flops gives the published FLOPs" sh -c '
        sp-init --arch vgg16-cifar | sp-flops | grep -q "314,031,104"'
fi

names="vgg16-cifar vgg16-cifar-fc vgg16 resnet20 resnet32 resnet44 resnet56 resnet110 resnet50 resnet50-cifar mobilenetv2"
if sp-init --list > "$T/list" 2>"$T/err"; then
    missing=
    for n in $names; do grep -q "^$n " "$T/list" || missing="$missing $n"; done
    if [ -z "$missing" ] && [ "$(wc -l < "$T/list")" -eq 11 ]; then ok "init: --list"
    else fail "init: --list" "missing:$missing"; fi
else
    fail "init: --list" "$(cat "$T/err")"
fi

expect_error "init: unknown network is a usage error" 2 sp-init --arch resnet57 -o "$T/bad.spk"
if grep -q "resnet56" "$T/.err" && [ ! -e "$T/bad.spk" ]; then ok "init: unknown network lists the names"
else fail "init: unknown network lists the names" "$(cat "$T/.err")"; fi
expect_error "init: --arch is required" 2 sp-init

check "init: resnet20 on 1x28x28" sh -c '
    sp-init --arch resnet20 --input 1x28x28 -o "$1/m.spk" &&
    head -c 100000 "$1/m.spk" | grep -q "\"input_size\":\"1x28x28\"" &&
    head -c 100000 "$1/m.spk" | grep -q "\"mean\":\"0.5\""' sh "$T"

expect_error "init: input too small" 1 sp-init --arch vgg16-cifar --input 1x8x8 -o "$T/small.spk"
if grep -q "features.33" "$T/.err" && [ ! -e "$T/small.spk" ] &&
   [ -z "$(ls "$T" | grep small)" ]; then ok "init: too small names the layer, leaves nothing"
else fail "init: too small names the layer, leaves nothing" "$(cat "$T/.err")"; fi

# An unwritable directory: a read-only one where permissions bind (not for
# root), and /proc, where nobody may create files, in every case.
mkdir "$T/ro" && chmod 555 "$T/ro"
if [ ! -w "$T/ro" ]; then
    expect_error "init: read-only directory" 1 sp-init --arch resnet20 -o "$T/ro/x.spk"
    if [ -z "$(ls -A "$T/ro")" ]; then ok "init: read-only directory left empty"
    else fail "init: read-only directory left empty" "$(ls -A "$T/ro")"; fi
fi
chmod 755 "$T/ro"
expect_error "init: unwritable directory" 1 sp-init --arch resnet20 -o /proc/sp-init-test.spk
# The output name is a directory: the finished temporary cannot be renamed
# onto it and must not be left beside it.
mkdir "$T/out" "$T/out/dir"
expect_error "init: output onto a directory" 1 sp-init --arch resnet20 -o "$T/out/dir"
if [ "$(ls -A "$T/out")" = dir ] && [ -z "$(ls -A "$T/out/dir")" ]; then
    ok "init: failed output leaves nothing"
else
    fail "init: failed output leaves nothing" "$(ls -A "$T/out")"
fi
finish
