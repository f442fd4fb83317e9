#!/bin/sh
# pack.sh: sp-pack's JPEG packing throughput against PIL doing the same work
# (open, RGB, shorter side to S, centre crop), one thread each, on the same
# photo-like 500x375 JPEGs, at S = 256 and S = 64.
# Usage: bench/pack.sh [COUNT]   (default 500 images; needs bin/sp-pack,
# python3 with numpy and PIL; SP_BIN overrides bin/)
cd "$(dirname "$0")/.." || exit 2
BIN=${SP_BIN:-$PWD/bin}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
count=${1:-500}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
$PY bench/pack_pil.py --make "$dir/img" "$count" || exit 1
cat "$dir"/img/*/* > /dev/null            # both start with the files cached

sp_rate() { # images/s of sp-pack at size $1, best of 3
    best=0
    for run in 1 2 3; do
        t0=$(date +%s.%N)
        "$BIN/sp-pack" "$dir/img" --size "$1x$1" --threads 1 > "$dir/out.spd" || exit 1
        t1=$(date +%s.%N)
        best=$(echo "$count $t0 $t1 $best" | awk '{ r = $1 / ($3 - $2); print (r > $4 ? r : $4) }')
    done
    echo "$best"
}
pil_rate() { # best of 3
    best=0
    for run in 1 2 3; do
        r=$($PY bench/pack_pil.py "$dir/img" "$1") || exit 1
        best=$(echo "$r $best" | awk '{ print ($1 > $2 ? $1 : $2) }')
    done
    echo "$best"
}
printf '%d JPEGs of 500x375, one thread each, images/s (best of 3)\n' "$count"
printf '%-6s %10s %10s %8s\n' size sp-pack PIL ratio
for s in 256 64; do
    a=$(sp_rate $s) b=$(pil_rate $s)
    printf '%-6s %10.1f %10.1f %7.2fx\n' "$s" "$a" "$b" "$(echo "$a $b" | awk '{ print $1 / $2 }')"
done
