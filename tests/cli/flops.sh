#!/bin/sh
# sp-flops: the built-in networks must cost exactly the published baselines
# of SP-ALGORITHM.md section 7 (the oracle), comparisons must give the drop
# worked out from the layer formulas, and bad input must fail cleanly.
. "$(dirname "$0")/lib.sh"

# json FILE EXPR: evaluate a Python expression on the JSON object d.
json() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# baseline NAME FLOPS PARAMS ARCH-OPTIONS...: through a pipe, keeping a copy
baseline() {
    name=$1 flops=$2 params=$3; shift 3
    if ! { sp-init "$@" 2>"$T/err" | tee "$T/$name.spk" | sp-flops --json >"$T/$name.json" 2>>"$T/err"; } ||
       [ -s "$T/err" ]; then
        fail "flops_$name" "$(head -c 300 "$T/err")"
        return
    fi
    got="$(json "$T/$name.json" 'd["flops_thop"], d["params"]')"
    if [ "$got" = "($flops, $params)" ]; then ok "flops_$name"
    else fail "flops_$name" "got $got, expected ($flops, $params)"; fi
}

baseline vgg16_cifar10 314031104 14728266 --arch vgg16-cifar --classes 10
baseline vgg16_cifar100_fc 333309952 34015396 --arch vgg16-cifar-fc --classes 100
baseline vgg16_imagenet 15510906880 138365992 --arch vgg16
baseline resnet50_cifar10 1304696832 23520842 --arch resnet50-cifar --classes 10
baseline resnet50_cifar100 1304881152 23705252 --arch resnet50-cifar --classes 100
baseline resnet50_imagenet 4111414272 25557032 --arch resnet50
baseline mobilenetv2 314194496 3504872 --arch mobilenetv2

# ResNet-56: 0.85 M parameters, the figure the pruning literature quotes.
if sp-init --arch resnet56 --classes 10 | sp-flops --json >"$T/r56.json" 2>"$T/err" &&
   [ "$(json "$T/r56.json" 'd["params"]')" = 853018 ]; then ok resnet56_params
else fail resnet56_params "$(json "$T/r56.json" 'd["params"]' 2>&1 | head -c 200)"; fi

# Against itself: nothing drops, in total and per layer.
if sp-flops --json --baseline "$T/vgg16_cifar10.spk" <"$T/vgg16_cifar10.spk" >"$T/self.json" 2>"$T/err" &&
   [ "$(json "$T/self.json" 'd["drop"]["flops_thop"], d["drop"]["params"], d["drop"]["macs"], max(abs(l["drop_flops_thop"] or 0) for l in d["layers"])')" = "(0.0, 0.0, 0.0, 0)" ]
then ok baseline_self
else fail baseline_self "$(head -c 300 "$T/err") $(head -c 300 "$T/self.json")"; fi

# 100 classes to 10: only the last linear layer shrinks, by 4096 x 90.
sp-init --arch vgg16-cifar-fc --classes 10 -o "$T/fc10.spk" 2>"$T/err"
if sp-flops --json --baseline "$T/vgg16_cifar100_fc.spk" "$T/fc10.spk" >"$T/drop.json" 2>>"$T/err"; then
    want=$(python3 -c 'print(round(100 * 4096 * 90 / 333309952, 6), 90.0)')
    got=$(json "$T/drop.json" 'round(d["drop"]["flops_thop"], 6), [l["drop_flops_thop"] for l in d["layers"] if l["name"] == "classifier.6"][0]')
    if [ "$got" = "($(echo "$want" | sed 's/ /, /'))" ]; then ok baseline_drop
    else fail baseline_drop "got $got, expected $want"; fi
else fail baseline_drop "$(head -c 300 "$T/err")"; fi

# The table names each costing layer with thousands separators and totals.
if sp-flops "$T/vgg16_cifar10.spk" >"$T/table" 2>"$T/err" &&
   grep -q '^features\.0  *conv  *64x32x32  *1,792  *1,769,472  *1,835,008$' "$T/table" &&
   grep -q '^FLOPs (thop)  *314,031,104 (314\.03 M)$' "$T/table" &&
   grep -q '^params  *14,728,266 (14\.73 M)$' "$T/table"
then ok table
else fail table "$(head -c 300 "$T/err") $(tail -n 3 "$T/table")"; fi

# Failures: exit 1 (bad data) or 2 (usage), nothing on stdout, one message.
head -c 100 "$T/vgg16_cifar10.spk" >"$T/short.spk"
printf 'not a checkpoint' >"$T/junk.spk"
expect_error missing_file 1 sp-flops "$T/none.spk"
expect_error truncated 1 sp-flops "$T/short.spk"
expect_error junk_stdin 1 sp-flops - <"$T/junk.spk"
expect_error junk_baseline 1 sp-flops --baseline "$T/junk.spk" "$T/vgg16_cifar10.spk"
expect_error bad_option 2 sp-flops --nope "$T/vgg16_cifar10.spk"
expect_error two_files 2 sp-flops "$T/vgg16_cifar10.spk" "$T/vgg16_cifar10.spk"
if sp-flops --help | grep -q '^Usage: sp-flops'; then ok help; else fail help "no usage"; fi
finish
