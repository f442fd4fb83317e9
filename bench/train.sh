#!/bin/sh
# train.sh: training and inference images per second of sp and of PyTorch,
# side by side on this machine, same networks, batch, input and threads.
#
#   bench/train.sh [ITERS] [THREADS]      (defaults: 5 timed steps, all cores)
#
# Each measurement times ITERS steps after one untimed warm-up step, on
# synthetic 3x32x32 data, batch 128: a training step is forward,
# cross-entropy, backward and an SGD update (momentum 0.9, weight decay
# 5e-4); inference is a forward pass in evaluation mode.  The networks run
# one after the other, never at the same time.  Ratio = sp / PyTorch.
set -e
cd "$(dirname "$0")/.."
ITERS=${1:-5}
THREADS=${2:-$(nproc)}
BATCH=128
BUILD=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}

make -s BUILD="$BUILD" "$BUILD/libsp.a" >&2
mkdir -p "$BUILD/bench"
LIBS=$(make -s --no-print-directory --eval 'print-libs: ; @echo $(LDLIBS)' print-libs)
cc -std=c11 -D_GNU_SOURCE -O2 -fopenmp -Iinclude -o "$BUILD/bench/train_bench" \
    bench/train_bench.c "$BUILD/libsp.a" $LIBS
export OMP_NUM_THREADS=$THREADS

echo "batch $BATCH, 3x32x32, $THREADS threads, $ITERS timed steps; images/s (higher is better)"
printf '%-12s %10s %10s %7s   %10s %10s %7s\n' network "sp train" "torch" ratio \
    "sp infer" "torch" ratio
for arch in resnet56 vgg16-cifar; do
    sp=$("$BUILD/bench/train_bench" "$arch" $BATCH "$ITERS")
    th=$($PY bench/train_torch.py "$arch" $BATCH "$ITERS" "$THREADS")
    echo "$sp $th" | awk '{ printf "%-12s %10.1f %10.1f %7.2f   %10.1f %10.1f %7.2f\n",
        $2, $4, $10, $4 / $10, $6, $12, $6 / $12 }'
done
