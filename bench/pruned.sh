#!/bin/sh
# pruned.sh: does a pruned network run faster in proportion to what
# pruning removed?  Inference images/s in sp (the executor sp-eval runs:
# batch norms folded, ReLUs inside the convolutions) of the network before
# and after pruning, same batch and threads, next to the drop of its
# multiply-adds and FLOPs that sp-flops --baseline reports.
#
#   bench/pruned.sh PRUNED.spk ...      networks pruned by the method
#   bench/pruned.sh                     builds them first (see PRUNE)
#   ITERS=5 THREADS=2 ROUNDS=2 NETS="resnet56 vgg16-cifar" PRUNE=l1 RATE=0.5 bench/pruned.sh
#
# The target case is a network pruned by the method itself (sp-train-mask
# then sp-compress, every block), such as bench/prune_fmnist.sh's
# sp-*.ft.spk or a pipeline's output: the method's channel choice sets each
# layer's width, uneven under its global ranking, and the widths decide
# the speed.  A given PRUNED.spk is compared with a fresh network of the
# same built-in architecture, classes and input size.  Without arguments
# each network of NETS is made by sp-init and pruned here, block by block:
#   PRUNE=method (default): sp-train-mask with the network's recipe for
#     one epoch of one window (240 random 32x32 images, batch 12): uneven
#     widths from the method's first vote, with nothing learnt and the
#     recipe's rate not yet acting, so the FLOPs drop is what it gives;
#   PRUNE=l1: sp-select --by l1 --rate RATE, the same rate in every layer
#     (default 0.5 for a ResNet, 0.7 for a VGG: about half the FLOPs).
# NETS defaults to resnet56 and vgg16-cifar; PRUNE=method needs networks
# with 3x32x32 input, PRUNE=l1 takes any built-in network.
# Each speed is the best of ROUNDS, before and after alternating, each
# run in its own process (ITERS timed batches after two untimed ones;
# batch 128 for 32-pixel inputs, 32 for larger ones, or BATCH).
# speed-up / ideal is the speed-up over the ratio of the multiply-adds
# before and after: 1 means the network got faster in full proportion.
# bench/speed_bench reads two variables: SP_BENCH_CLOCK=cpu times the
# process's CPU time instead of wall time (with THREADS=1, steadier on a
# busy machine), and SP_BENCH_ORDER=nchw or nhwc overrides the inference
# executor's choice of activation order.
set -eu
cd "$(dirname "$0")/.."
ITERS=${ITERS:-5}
THREADS=${THREADS:-$(nproc)}
ROUNDS=${ROUNDS:-2}
NETS=${NETS:-resnet56 vgg16-cifar}
PRUNE=${PRUNE:-method}
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_cc speed_bench
bench_bin sp-init sp-inspect sp-flops sp-select sp-compress sp-train-mask sp-pack
export OMP_NUM_THREADS="$THREADS"

# meta FILE KEY: the arch, input or classes line of sp-inspect FILE
meta() { bin/sp-inspect "$1" | awk -v k="$2" '$1 == k { print $2; exit }'; }

# prune NET OUT: sp-init NET, then every block pruned as PRUNE says
prune() {
    bin/sp-init --arch "$1" -o "$scratch/cur.spk"
    if [ "$PRUNE" = method ] && [ ! -f "$scratch/train.spd" ]; then
        # 5 x 48 training images: 20 steps of the recipe's 12, one window
        $PY tests/tools/make_pack_inputs.py cifar10 "$scratch/c.tar.gz" 48
        bin/sp-pack --split train -o "$scratch/train.spd" "$scratch/c.tar.gz"
        bin/sp-pack --split test -o "$scratch/val.spd" "$scratch/c.tar.gz"
    fi
    case $1 in vgg*) rate=${RATE:-0.7} ;; *) rate=${RATE:-0.5} ;; esac
    blocks=$(bin/sp-inspect --blocks "$scratch/cur.spk" |
        awk 'NR > 1 && $5 == "yes" && !seen[$1]++ { print $1 }')
    for k in $blocks; do
        case $PRUNE in
        method) bin/sp-train-mask --block "$k" --data "$scratch/train.spd" \
                    --val "$scratch/val.spd" --epochs 1 --batch 12 -t "$THREADS" \
                    -o "$scratch/stage.spk" "$scratch/cur.spk" ;;
        l1) bin/sp-select --by l1 --block "$k" --rate "$rate" \
                -o "$scratch/stage.spk" "$scratch/cur.spk" ;;
        *) echo "pruned.sh: PRUNE must be method or l1, not $PRUNE" >&2; exit 2 ;;
        esac
        bin/sp-compress -o "$scratch/cur.spk" "$scratch/stage.spk"
    done
    mv "$scratch/cur.spk" "$2"
}

# network i: after$i.spk, before$i.spk (a fresh one of the same shape),
# name$i and bs$i
n=0
if [ $# -eq 0 ]; then
    for net in $NETS; do
        n=$((n + 1))
        echo "pruning $net ($PRUNE) ..." >&2
        prune "$net" "$scratch/after$n.spk"
        case $PRUNE in method) how="method, random data" ;; *) how="l1, rate $rate" ;; esac
        echo "$net ($how)" >"$scratch/name$n"
    done
else
    for f in "$@"; do
        n=$((n + 1))
        cp "$f" "$scratch/after$n.spk"
        basename "$f" >"$scratch/name$n"
    done
fi
i=1
while [ "$i" -le "$n" ]; do
    a=$scratch/after$i.spk
    in=$(meta "$a" input)
    bin/sp-init -o "$scratch/before$i.spk" --arch "$(meta "$a" arch)" \
        --classes "$(meta "$a" classes)" --input "$in"
    # batch 128 for 32-pixel inputs, 32 for the larger ImageNet ones
    echo "$in" | awk -F x -v b="${BATCH:-}" '{ print (b != "" ? b : ($2 > 64 ? 32 : 128)) }' \
        >"$scratch/bs$i"
    i=$((i + 1))
done

# run WHICH I: "I WHICH IMAGES_PER_S MACS BATCH"
run() {
    bs=$(cat "$scratch/bs$2")
    line=$("$BUILD/bench/speed_bench" "$scratch/$1$2.spk" infer "$bs" "$ITERS")
    echo "$line" | awk -v i="$2" -v w="$1" -v bs="$bs" '{ print i, w, $4, $6, bs }'
}
raw=$scratch/raw
r=0
while [ "$r" -lt "$ROUNDS" ]; do
    i=1
    while [ "$i" -le "$n" ]; do
        if [ $((r % 2)) -eq 0 ]; then
            run before "$i"
            run after "$i"
        else
            run after "$i"
            run before "$i"
        fi >>"$raw"
        i=$((i + 1))
    done
    r=$((r + 1))
done

echo "$THREADS threads; $ITERS timed batches, best of $ROUNDS rounds; inference images/s"
echo
echo "| network | batch | MACs before | MACs after | drop MACs | drop FLOPs (thop)" \
    "| images/s before | images/s after | speed-up | ideal (MACs ratio) | speed-up / ideal |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
i=1
while [ "$i" -le "$n" ]; do
    drop=$(bin/sp-flops --json --baseline "$scratch/before$i.spk" "$scratch/after$i.spk" |
        $PY -c 'import json, sys; d = json.load(sys.stdin)["drop"]
print(d["macs"], d["flops_thop"])')
    awk -v i="$i" -v name="$(cat "$scratch/name$i")" -v drop="$drop" '
        $1 == i { if ($3 > ips[$2]) ips[$2] = $3; macs[$2] = $4; bs = $5 }
        END {
            split(drop, d, " ")
            up = ips["after"] / ips["before"]; ideal = macs["before"] / macs["after"]
            printf "| %s | %d | %.1fM | %.1fM | %.1f %% | %.1f %% | %.1f | %.1f | %.2f | %.2f" \
                " | %.2f |\n", name, bs, macs["before"] / 1e6, macs["after"] / 1e6, d[1], d[2],
                ips["before"], ips["after"], up, ideal, up / ideal
        }' "$raw"
    i=$((i + 1))
done
