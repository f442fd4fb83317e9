#!/bin/sh
# prune_fmnist.sh: the method against the classic criteria on Fashion-MNIST.
#
#   bench/prune_fmnist.sh [OUT] [RATES] [SEEDS]
#       (defaults: /tmp/sp-prune-fmnist, "0.4 0.15", "1 2 3")
#
# A resnet20 baseline (28x28 grey input) is trained by sp-finetune; then,
# for every rate and seed, its three stages are pruned
#   sp:      sp-train-mask + sp-compress, block by block (the recipe's
#            global ranking; sp-layer: the same with --sort layer);
#   l1, random: sp-select --by l1|random at the uniform width, and again
#            with --widths-from the method's stage (the same architecture);
# and every pruned network is fine-tuned for one epoch and evaluated.
# Prints one line per network: name, top-1, FLOPs, parameters; and a
# Markdown table with the mean and spread over the seeds.  The stages use
# the resnet-cifar10 recipe on a 6000-image training subset for 2 epochs
# (the full recipe, 8 epochs of 60000, takes hours on 2 cores).
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/sp-prune-fmnist}
RATES=${2:-"0.4 0.15"}
SEEDS=${3:-"1 2 3"}
FM=/usr/share/datasets/fashion-mnist
BIN=${SP_BIN:-$(pwd)/bin}
PATH=$BIN:$PATH
export OMP_WAIT_POLICY=passive
mkdir -p "$OUT"
cd "$OUT"

[ -e train.spd ] || sp-pack "$FM" --split train -o train.spd
[ -e test.spd ] || sp-pack "$FM" --split test -o test.spd
[ -e subset.spd ] || sp-pack "$FM" --split train --limit 6000 -o subset.spd
[ -e r20.spk ] || sp-init --arch resnet20 --input 1x28x28 --seed 1 -o r20.spk
[ -e base.spk ] || sp-finetune --data train.spd --val test.spd --epochs 2 --batch 128 \
    --lr 0.1 --weight-decay 5e-4 --schedule cosine --augment none --seed 1 r20.spk -o base.spk

STAGE="--data subset.spd --val test.spd --epochs 2 --augment none --resume"
FT="--data train.spd --val test.spd --epochs 1 --batch 128 --lr 0.01 --weight-decay 5e-4 \
    --schedule cosine --augment none"

# prune NAME SEED CMD...: three blocks, CMD run with --block K on the
# previous network; then fine-tune and evaluate
prune() {
    name=$1 seed=$2; shift 2
    prev=base.spk
    for k in 0 1 2; do
        [ -e "$name.mask$k.spk" ] || "$@" --block $k --seed "$seed" "$prev" -o "$name.mask$k.spk"
        [ -e "$name.pruned$k.spk" ] || sp-compress "$name.mask$k.spk" -o "$name.pruned$k.spk"
        prev=$name.pruned$k.spk
    done
    [ -e "$name.ft.spk" ] || sp-finetune $FT --seed "$seed" "$prev" -o "$name.ft.spk"
}

# the stage mask files of the method give the widths for --widths-from
select_at() { # select_at BY WIDTHS_PREFIX ... : sp-select with the widths of that method run
    by=$1 from=$2; shift 2
    k=$(echo "$@" | sed -n 's/.*--block \([0-9]*\).*/\1/p')
    sp-select --by "$by" --widths-from "$from.mask$k.spk" "$@"
}

# report NAME FILE: "NAME TOP1 PARAMS MACS FLOPS_THOP"
report() {
    top1=$(sp-eval --data test.spd "$2" | sed -n 's/.*top-1 *\([0-9.]*\)%.*/\1/p')
    cost=$(sp-flops --json "$2" |
        sed -n 's/^{"arch":"[^"]*","params":\([0-9]*\),"macs":\([0-9]*\),"flops_thop":\([0-9]*\).*/\1 \2 \3/p')
    echo "$1 $top1 $cost" | tee -a results.txt
}

[ -e results.txt ] || : >results.txt
report baseline base.spk
for r in $RATES; do
    for s in $SEEDS; do
        prune "sp-r$r-s$s" "$s" sp-train-mask $STAGE --rate "$r"
        report "sp-r$r-s$s" "sp-r$r-s$s.ft.spk"
        for by in l1 random; do
            prune "$by-r$r-s$s" "$s" sp-select --by "$by" --rate "$r"
            report "$by-r$r-s$s" "$by-r$r-s$s.ft.spk"
            prune "$by@sp-r$r-s$s" "$s" select_at "$by" "sp-r$r-s$s"
            report "$by@sp-r$r-s$s" "$by@sp-r$r-s$s.ft.spk"
        done
    done
done
# the method with one threshold per layer, after the comparison above
for r in $RATES; do
    for s in $SEEDS; do
        prune "sp-layer-r$r-s$s" "$s" sp-train-mask $STAGE --sort layer --rate "$r"
        report "sp-layer-r$r-s$s" "sp-layer-r$r-s$s.ft.spk"
    done
done

# the table: the last line of every network, mean and spread over seeds
echo
echo "| rate | selection | top-1 % (mean +- sd, seeds) | FLOPs (thop) | parameters |"
echo "|---|---|---|---:|---:|"
awk '{ last[$1] = $0 } END { for (k in last) print last[k] }' results.txt | awk '
    $1 == "baseline" { printf "| 1 | baseline | %.2f | %d | %d |\n", $2, $5, $3; next }
    { n = split($1, part, "-r"); name = part[1]; rs = part[2]; sub(/-s[0-9]+$/, "", rs)
      k = rs " " name; c[k]++; t[k] += $2; tt[k] += $2 * $2; f[k] += $5; p[k] += $3 }
    END { for (k in c) { split(k, a, " "); m = t[k] / c[k]; v = tt[k] / c[k] - m * m
            printf "| %s | %s | %.2f +- %.2f (%d) | %d | %d |\n", a[1], a[2], m,
                   sqrt(v > 0 ? v : 0), c[k], f[k] / c[k], p[k] / c[k] } }' | sort -t'|' -k2,2r -k3,3
