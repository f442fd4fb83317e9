#!/bin/sh
# train.sh: training and inference images per second of sp and of PyTorch,
# side by side on this machine, same networks, batch, input and threads.
#
#   bench/train.sh [ITERS] [THREADS] [ROUNDS]
#                    (defaults: 5 timed steps, all cores, 2 rounds)
#
# Each measurement times ITERS steps after one untimed warm-up step, on
# synthetic 3x32x32 data, batch 128: a training step is forward,
# cross-entropy, backward and an SGD update (momentum 0.9, weight decay
# 5e-4); inference is a forward pass in evaluation mode.  The networks run
# one after the other, never at the same time, alternating sp and PyTorch
# for ROUNDS rounds; each figure is the best of its rounds, which filters
# out the moments another process took the cores.  Ratio = sp / PyTorch.
set -e
cd "$(dirname "$0")/.."
ITERS=${1:-5}
THREADS=${2:-$(nproc)}
ROUNDS=${3:-2}
BATCH=128
BUILD=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}

make -s BUILD="$BUILD" "$BUILD/libsp.a" >&2
mkdir -p "$BUILD/bench"
LIBS=$(make -s --no-print-directory --eval 'print-libs: ; @echo $(LDLIBS)' print-libs)
cc -std=c11 -D_GNU_SOURCE -O2 -fopenmp -Iinclude -o "$BUILD/bench/train_bench" \
    bench/train_bench.c "$BUILD/libsp.a" $LIBS
export OMP_NUM_THREADS=$THREADS

echo "batch $BATCH, 3x32x32, $THREADS threads, $ITERS timed steps, best of $ROUNDS rounds;" \
    "images/s (higher is better)"
printf '%-12s %10s %10s %7s   %10s %10s %7s\n' network "sp train" "torch" ratio \
    "sp infer" "torch" ratio
for arch in resnet56 vgg16-cifar; do
    r=0
    while [ $r -lt "$ROUNDS" ]; do
        "$BUILD/bench/train_bench" "$arch" $BATCH "$ITERS"
        $PY bench/train_torch.py "$arch" $BATCH "$ITERS" "$THREADS"
        r=$((r + 1))
    done | awk -v arch="$arch" '
        { k = $1; if ($4 > tr[k]) tr[k] = $4; if ($6 > inf[k]) inf[k] = $6 }
        END { printf "%-12s %10.1f %10.1f %7.2f   %10.1f %10.1f %7.2f\n", arch,
              tr["sp"], tr["torch"], tr["sp"] / tr["torch"],
              inf["sp"], inf["torch"], inf["sp"] / inf["torch"] }'
done
