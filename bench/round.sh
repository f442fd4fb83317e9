#!/bin/sh
# round.sh: what rounding the kept widths to a multiple (--round) does to
# inference speed and accuracy, side by side in one run.
#
#   bench/round.sh [OUT] [RATE] [MULTIPLES]
#       (defaults: /tmp/sp-round, 0.3, "1 8 16")
#
# A resnet20 trained on Fashion-MNIST (bench/prune_fmnist.sh's base.spk
# when OUT holds one, else trained here for 2 epochs) is pruned in all
# three blocks by sp-select --by l1 --rate RATE --round N, fine-tuned for
# one epoch and evaluated.  Prints per multiple: the widths, top-1, FLOPs,
# and sp-eval's images/s on the 10,000 test images (best of 3 runs, the
# multiples interleaved so that a busy moment hits them alike).
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/sp-round}
RATE=${2:-0.3}
MULTIPLES=${3:-"1 8 16"}
FM=/usr/share/datasets/fashion-mnist
BIN=${SP_BIN:-$(pwd)/bin}
PATH=$BIN:$PATH
mkdir -p "$OUT"
cd "$OUT"

[ -e train.spd ] || sp-pack "$FM" --split train -o train.spd
[ -e test.spd ] || sp-pack "$FM" --split test -o test.spd
[ -e r20.spk ] || sp-init --arch resnet20 --input 1x28x28 --seed 1 -o r20.spk
[ -e base.spk ] || sp-finetune --data train.spd --val test.spd --epochs 2 --batch 128 \
    --lr 0.1 --weight-decay 5e-4 --schedule cosine --augment none --seed 1 r20.spk -o base.spk
FT="--data train.spd --val test.spd --epochs 1 --batch 128 --lr 0.01 --weight-decay 5e-4 \
    --schedule cosine --augment none --seed 1"

for n in $MULTIPLES; do
    prev=base.spk
    for k in 0 1 2; do
        [ -e "round$n.p$k.spk" ] || sp-select --by l1 --rate "$RATE" --round "$n" --block $k \
            "$prev" | sp-compress -o "round$n.p$k.spk"
        prev=round$n.p$k.spk
    done
    [ -e "round$n.ft.spk" ] || sp-finetune $FT "$prev" -o "round$n.ft.spk"
done

speed() { # images/s of sp-eval on the test set
    s=$(date +%s.%N)
    sp-eval --data test.spd --batch 256 "$1" >/dev/null
    echo "$s $(date +%s.%N)" | awk '{ printf "%.1f", 10000 / ($2 - $1) }'
}
best_of() { awk 'BEGIN { m = 0 } { if ($1 > m) m = $1 } END { print m }'; }
: >speeds.txt
for r in 1 2 3; do
    echo "base $(speed base.spk)" >>speeds.txt
    for n in $MULTIPLES; do echo "round$n $(speed "round$n.ft.spk")" >>speeds.txt; done
done

printf '%-8s %-12s %7s %12s %10s %8s\n' round widths top-1 FLOPs images/s speed-up
base_speed=$(awk '$1 == "base" { print $2 }' speeds.txt | best_of)
flops() { sp-flops --json "$1" | sed -n 's/^{"arch":"[^"]*","params":[0-9]*,"macs":[0-9]*,"flops_thop":\([0-9]*\).*/\1/p'; }
top1() { sp-eval --data test.spd "$1" | sed -n 's/^top-1 *\([0-9.]*\)%.*/\1/p'; }
printf '%-8s %-12s %7s %12s %10s %8s\n' - 16,32,64 "$(top1 base.spk)" "$(flops base.spk)" \
    "$base_speed" 1.00
for n in $MULTIPLES; do
    w=$(sp-inspect --blocks "round$n.ft.spk" | awk 'NR > 1 && !seen[$1]++ { printf "%s%s", sep, $3; sep = "," }')
    s=$(awk -v k="round$n" '$1 == k { print $2 }' speeds.txt | best_of)
    printf '%-8s %-12s %7s %12s %10s %8.2f\n' "$n" "$w" "$(top1 "round$n.ft.spk")" \
        "$(flops "round$n.ft.spk")" "$s" "$(echo "$s $base_speed" | awk '{ print $1 / $2 }')"
done
