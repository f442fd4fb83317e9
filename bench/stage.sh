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
# sp and the original alternate, each in its own process; each figure is
# the best of ROUNDS.  Prints a Markdown table of milliseconds per step and
# the ratios: sp stage / sp plain (the goal: at most 2) and the speed of
# sp's stage step over the original's (original ms / sp ms; the goal: at
# least 2).  Without the original's files or PyTorch its columns are "-".
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
orig=:
if [ -d "$SEED" ] && $PY -c 'import torch' 2>/dev/null; then
    mkdir "$scratch/seed"
    cp "$SEED"/*.py "$scratch/seed"
    orig="cd $scratch/seed && $PY seed_sp_step.py"
fi

raw=$scratch/raw
r=0
while [ "$r" -lt "$ROUNDS" ]; do
    for bs in $BATCHES; do
        for layer in $LAYERS; do
            # "sp ARCH bs=B block=K: plain step P ms, stage step S ms, ..."
            "$BUILD/bench/stage_bench" vgg16-cifar "$bs" "$layer" "$STEPS" |
                sed 's/^sp .*bs=\([0-9]*\) block=\([0-9]*\): plain step \([0-9.]*\) ms, stage step \([0-9.]*\) ms.*/sp \1 \2 \3 \4/' >>"$raw"
            # "vgg16-cifar bs=B layer=K: plain step P ms, seed SP step S ms, ..."
            sh -c "$orig $bs $layer $STEPS" 2>/dev/null |
                sed -n 's/.*bs=\([0-9]*\) layer=\([0-9]*\): plain step \([0-9.]*\) ms, seed SP step \([0-9.]*\) ms.*/orig \1 \2 \3 \4/p' >>"$raw"
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
            function ratio(a, b) { return a in ms && b in ms ? sprintf("%.2f", ms[a] / ms[b]) : "-" }
            $2 == bs && $3 == layer { best($1 " plain", $4); best($1 " stage", $5) }
            END {
                printf "| %d | %d | %s | %s | %s | %s | %s | %s |\n", bs, layer,
                    f("sp plain"), f("sp stage"), ratio("sp stage", "sp plain"),
                    f("orig plain"), f("orig stage"), ratio("orig stage", "sp stage")
            }' "$raw"
    done
done
