#!/bin/sh
# stage.sh: the cost of one pruning-stage step, side by side in one run:
# sp's plain training step, sp's stage step (sp-train-mask's: twin,
# generators, masks, window) and the original code's stage step (PyTorch,
# ../shared/bench/seed-sp-step, the same VGG-16 on the CPU).
#
#   bench/stage.sh [STEPS] [THREADS]      (defaults: 5 timed steps, all cores)
#
# For batch 12 and 64 and layers 5 and 11 of vgg16-cifar, on one random
# batch of 3x32x32 images.  Prints milliseconds per step and the ratios:
# stage/plain for sp (the goal: at most 2), and the original's stage step
# over sp's (the goal: at least 2).
set -e
cd "$(dirname "$0")/.."
STEPS=${1:-5}
THREADS=${2:-$(nproc)}
BUILD=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}
SEED=${SEED_DIR:-../shared/bench/seed-sp-step}

make -s BUILD="$BUILD" "$BUILD/libsp.a" >&2
mkdir -p "$BUILD/bench"
LIBS=$(make -s --no-print-directory --eval 'print-libs: ; @echo $(LDLIBS)' print-libs)
cc -std=c11 -D_GNU_SOURCE -O2 -fopenmp -Iinclude -o "$BUILD/bench/stage_bench" \
    bench/stage_bench.c "$BUILD/libsp.a" $LIBS
export OMP_NUM_THREADS=$THREADS OMP_WAIT_POLICY=passive
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
have_seed=0
if [ -d "$SEED" ] && $PY -c 'import torch' 2>/dev/null; then
    cp "$SEED"/*.py "$scratch" && have_seed=1
fi

printf '%-22s %10s %10s %7s %12s %9s\n' "vgg16-cifar" "sp plain" "sp stage" ratio "original" "orig/sp"
for bs in 12 64; do
    for layer in 5 11; do
        line=$("$BUILD/bench/stage_bench" vgg16-cifar $bs $layer "$STEPS")
        plain=$(echo "$line" | sed 's/.*plain step \([0-9.]*\) ms.*/\1/')
        stage=$(echo "$line" | sed 's/.*stage step \([0-9.]*\) ms.*/\1/')
        orig=-
        if [ $have_seed -eq 1 ]; then
            orig=$(cd "$scratch" && $PY seed_sp_step.py $bs $layer "$STEPS" 2>/dev/null |
                sed -n 's/.*seed SP step \([0-9.]*\) ms.*/\1/p')
        fi
        awk -v b="bs=$bs layer=$layer" -v p="$plain" -v s="$stage" -v o="$orig" 'BEGIN {
            r = o == "-" ? "-" : sprintf("%.2f", o / s)
            printf "%-22s %8.1f ms %8.1f ms %7.2f %9s ms %9s\n", b, p, s, s / p, o, r }'
    done
done
