#!/bin/sh
# stage.sh: the cost of one pruning-stage step, side by side in one run:
# sp's plain training step, sp's stage step (sp-train-mask's: twin,
# generators, masks, window) and the original code's plain and stage steps
# (PyTorch, ../shared/bench/seed-sp-step, the same VGG-16 on the CPU).
#
#   bench/stage.sh [STEPS [THREADS [ROUNDS]]]
#   STEPS=5 THREADS=2 ROUNDS=2 BATCHES="12 64" LAYERS="5 11" bench/stage.sh
#
# Defaults: 5 timed steps, all cores, 2 rounds, batches 12 and 64, layers
# (blocks) 5 and 11 of vgg16-cifar, on one random batch of 3x32x32 images.
# sp and the original alternate (the original first every other round),
# each in its own process; each figure is the best of ROUNDS.  Prints a
# Markdown table of milliseconds per step and the ratios: sp stage / sp
# plain (the goal: at most 2) and the speed of sp's stage step over the
# original's (original ms / sp ms; the goal: at least 2).  Without the
# original's files or PyTorch its columns are "-".
set -eu
cd "$(dirname "$0")/.."
STEPS=${1:-${STEPS:-5}}
THREADS=${2:-${THREADS:-$(nproc)}}
ROUNDS=${3:-${ROUNDS:-2}}
BATCHES=${BATCHES:-12 64}
LAYERS=${LAYERS:-5 11}
SEED=${SEED_DIR:-../shared/bench/seed-sp-step}
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_cc stage_bench
export OMP_NUM_THREADS="$THREADS"
orig=   # a copy of the original's files: it writes results/ where it runs
if [ -d "$SEED" ] && $PY -c 'import torch' 2>/dev/null; then
    orig=$scratch/seed
    mkdir "$orig"
    cp "$SEED"/*.py "$orig"
fi

# sp_run B K and orig_run B K print "WHO B K PLAIN_MS STAGE_MS"
sp_run() { # "sp ARCH bs=B block=K: plain step P ms, stage step S ms, ..."
    line=$("$BUILD/bench/stage_bench" vgg16-cifar "$1" "$2" "$STEPS")
    echo "$line" |
        sed 's/.*plain step \([0-9.]*\) ms, stage step \([0-9.]*\) ms.*/sp '"$1 $2"' \1 \2/'
}
orig_run() { # "vgg16-cifar bs=B layer=K: plain step P ms, seed SP step S ms, ..."
    [ -n "$orig" ] || return 0
    (cd "$orig" && $PY seed_sp_step.py "$1" "$2" "$STEPS" 2>/dev/null) |
        sed -n 's/.*plain step \([0-9.]*\) ms, seed SP step \([0-9.]*\) ms.*/orig '"$1 $2"' \1 \2/p'
}

raw=$scratch/raw
r=0
while [ "$r" -lt "$ROUNDS" ]; do
    for bs in $BATCHES; do
        for layer in $LAYERS; do
            if [ $((r % 2)) -eq 0 ]; then
                sp_run "$bs" "$layer"
                orig_run "$bs" "$layer"
            else
                orig_run "$bs" "$layer"
                sp_run "$bs" "$layer"
            fi >>"$raw"
        done
    done
    r=$((r + 1))
done

echo "vgg16-cifar, $THREADS threads; $STEPS timed steps, best of $ROUNDS rounds;" \
    "milliseconds per step (lower is better)"
echo
echo "| batch | layer | sp plain | sp stage | stage/plain | original plain | original stage" \
    "| speed sp/original |"
echo "|---|---|---|---|---|---|---|---|"
for bs in $BATCHES; do
    for layer in $LAYERS; do
        awk -v bs="$bs" -v layer="$layer" '
            function best(k, v) { if (!(k in ms) || v < ms[k]) ms[k] = v }
            function f(k) { return k in ms ? sprintf("%.1f", ms[k]) : "-" }
            function ratio(a, b) {
                return a in ms && b in ms ? sprintf("%.2f", ms[a] / ms[b]) : "-"
            }
            $2 == bs && $3 == layer { best($1 " plain", $4); best($1 " stage", $5) }
            END {
                printf "| %d | %d | %s | %s | %s | %s | %s | %s |\n", bs, layer,
                    f("sp plain"), f("sp stage"), ratio("sp stage", "sp plain"),
                    f("orig plain"), f("orig stage"), ratio("orig stage", "sp stage")
            }' "$raw"
    done
done
