#!/bin/sh
# speed.sh: training and inference speed, peak memory and achieved GFLOP/s
# of sp and of PyTorch, side by side in one run on this machine: same
# networks, batch, input and threads.
#
#   bench/speed.sh [ITERS [THREADS [ROUNDS]]]
#   ITERS=5 THREADS=4 ROUNDS=3 NETS="resnet56 vgg16-cifar" bench/speed.sh
#
# Defaults: 5 timed steps, all cores, 2 rounds, NETS = resnet56,
# vgg16-cifar (batch 128, 3x32x32, 10 classes), resnet50 and mobilenetv2
# (batch 32, 3x224x224, 1000 classes), any of those or resnet20; BATCH
# overrides the batch of all.
#
# Each figure comes from its own process: two untimed steps (the first
# plans, the second is still slow), then ITERS timed steps on synthetic
# data.  A training step is forward, cross-entropy, backward and an SGD
# update (momentum 0.9, weight decay 5e-4); inference is a forward pass in
# evaluation mode, the logits copied out.  Memory is the process's peak
# resident set (getrusage ru_maxrss), PyTorch's including its interpreter
# and libraries.  The processes run one after the other, alternating sp
# and PyTorch (PyTorch first every other round); speed is the best of
# ROUNDS, memory the largest.  GFLOP/s: sp's count of a forward pass (2 x
# the multiply-adds of convolutions and linear layers, sp-flops' MACs),
# three times that for a training step, times images/s; % peak divides it
# by bench/peak.c's FMA peak (the best of one measurement per round).
# Ratios are sp / PyTorch: above 1 for speed and below 1 for memory mean
# sp is ahead.  Before timing, bench/check_nets.py checks that the PyTorch
# definitions match sp's networks layer by layer.  SP_BENCH_ORDER=nchw or
# nhwc overrides sp's choice of activation order, in training and inference;
# SP_BENCH_STORE=all makes sp's training keep every batch norm output
# instead of recomputing it in the backward pass; SP_BENCH_FUSE=none runs
# every node apart (no folding in inference, no batch norm epilogues in
# training).
set -eu
cd "$(dirname "$0")/.."
ITERS=${1:-${ITERS:-5}}
THREADS=${2:-${THREADS:-$(nproc)}}
ROUNDS=${3:-${ROUNDS:-2}}
NETS=${NETS:-resnet56 vgg16-cifar resnet50 mobilenetv2}
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_cc speed_bench
bench_bin sp-init sp-inspect
bench_cc peak -ffp-contract=fast
export OMP_NUM_THREADS="$THREADS"

torch=$($PY -c 'import torch; print(torch.__version__)' 2>/dev/null) || torch=
for net in $NETS; do
    bin/sp-init --arch "$net" -o "$scratch/net.spk"
    [ -z "$torch" ] || bin/sp-inspect --json "$scratch/net.spk" |
        $PY bench/check_nets.py "$net" >&2
    # batch 128 for 32-pixel inputs, 32 for the larger ImageNet ones
    bin/sp-inspect "$scratch/net.spk" | awk -v n="$net" -v b="${BATCH:-}" '$1 == "input" {
        split($2, s, "x"); print n, (b != "" ? b : (s[2] > 64 ? 32 : 128)) }' >>"$scratch/batch"
done
batch_of() { awk -v n="$1" '$1 == n { print $2 }' "$scratch/batch"; }
sp_run() { "$BUILD/bench/speed_bench" "$1" "$2" "$(batch_of "$1")" "$ITERS"; }
pt_run() {
    [ -z "$torch" ] || $PY bench/speed_torch.py "$1" "$2" "$(batch_of "$1")" "$ITERS" "$THREADS"
}

raw=$scratch/raw
r=0
while [ "$r" -lt "$ROUNDS" ]; do
    "$BUILD/bench/peak" >>"$scratch/peak"
    for net in $NETS; do
        for mode in train infer; do
            if [ $((r % 2)) -eq 0 ]; then
                sp_run "$net" "$mode"
                pt_run "$net" "$mode"
            else
                pt_run "$net" "$mode"
                sp_run "$net" "$mode"
            fi >>"$raw"
        done
    done
    r=$((r + 1))
done

read -r peak isa <<EOF
$(sort -k2 -g -r "$scratch/peak" | awk 'NR == 1 { print $2, $3 }')
EOF
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "${cpu:-$(uname -m)}, $THREADS threads; PyTorch ${torch:-absent}; peak $peak GFLOP/s" \
    "($isa FMA loop); $ITERS timed steps, best of $ROUNDS rounds;" \
    "OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
echo
echo "| network | batch | mode | GFLOP/image | sp images/s | PyTorch images/s | speed sp/PyTorch" \
    "| sp GFLOP/s (% peak) | PyTorch GFLOP/s (% peak) | sp peak MiB | PyTorch peak MiB" \
    "| memory sp/PyTorch |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for net in $NETS; do
    for mode in train infer; do
        awk -v net="$net" -v mode="$mode" -v b="$(batch_of "$net")" -v peak="$peak" '
            function f(v, fmt) { return v == "" ? "-" : sprintf(fmt, v) }
            function ratio(a, c) { return a == "" || c == "" ? "-" : sprintf("%.2f", a / c) }
            function gf(ips) { return ips == "" ? "-" : sprintf("%.1f (%.0f %%)",
                               ips * flops, 100 * ips * flops / peak) }
            $2 == net && $3 == mode {
                if ($4 > ips[$1]) ips[$1] = $4
                if ($5 / 1024 > mem[$1]) mem[$1] = $5 / 1024
                if ($1 == "sp") flops = 2e-9 * $6 * (mode == "train" ? 3 : 1)
            }
            END {
                printf "| %s | %d | %s | %.2f | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                    net, b, mode, flops, f(ips["sp"], "%.1f"), f(ips["torch"], "%.1f"),
                    ratio(ips["sp"], ips["torch"]), gf(ips["sp"]), gf(ips["torch"]),
                    f(mem["sp"], "%.0f"), f(mem["torch"], "%.0f"), ratio(mem["sp"], mem["torch"])
            }' "$raw"
    done
done
awk '{ if ($8 / 1024 > base[$1]) base[$1] = $8 / 1024 }
    END {
        printf "\nPeak memory includes what each process held before building a network:"
        printf " sp %.0f MiB, PyTorch %s.\n", base["sp"],
            "torch" in base ? sprintf("%.0f MiB (interpreter and libraries)", base["torch"]) : "-"
    }' "$raw"
