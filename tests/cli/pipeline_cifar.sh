#!/bin/sh
# pipeline_cifar.sh: the four CIFAR pipelines end to end on tiny archives in
# the official binary layout (tests/tools/make_pack_inputs.py), one epoch of
# a few steps per stage:
#   - resnet56_cifar10 from the published ResNet-56 (sp-import of a real
#     .th), resnet56_cifar100 training its own baseline, both fine-tuned;
#   - vgg16_cifar10 and vgg16_cifar100 from an .spk used in place, on one
#     block each (the first convolution; the last, whose channels feed the
#     linear head) and without fine-tuning, to keep their 60 and 135 MB
#     checkpoints few;
#   - each makes every stage's file and a report whose numbers are there and
#     whose pictures draw in rsvg-convert; a second make has nothing to do.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/pipeline_lib.sh"
need_pipeline_tools || finish
PY=$(find_python numpy PIL)
if [ -z "$PY" ]; then
    echo "ok pipeline_cifar: no python3 with numpy and PIL to write the archives # SKIP"
    finish
fi
GEN="$PY $ROOT/tests/tools/make_pack_inputs.py"
$GEN cifar10 "$T/cifar-10-binary.tar.gz" 8 || fail fixture "cifar10"          # 40 + 8 images
$GEN cifar100 "$T/cifar-100-binary.tar.gz" 40 8 || fail fixture "cifar100"
R56=$SHARED/data/pretrained/resnet56-cifar10-akamaster.th
TINY="EPOCHS=1 BATCH=8 WINDOW=2 BETA_RANGE=2 FT_EPOCHS=1 FT_BATCH=8"

# stages_made NAME BLOCKS FILES: every stage of the pipeline left its file
stages_made() {
    _n=$1 _o=$T/$1; _miss=""
    for k in $2; do
        for f in mask_$k.spk pruned_$k.spk mask_$k.log; do [ -s "$_o/$f" ] || _miss="$_miss $f"; done
    done
    for f in $3; do [ -s "$_o/$f" ] || _miss="$_miss $f"; done
    if [ -z "$_miss" ]; then ok "${_n}_stages"; else fail "${_n}_stages" "missing:$_miss"; fi
}

if [ -f "$R56" ]; then
    # shellcheck disable=SC2086
    if pipe resnet56_cifar10 DATA="$T/cifar-10-binary.tar.gz" BASE="$R56" $TINY; then
        ok resnet56_cifar10
        stages_made resnet56_cifar10 "0 1 2" "train.spd val.spd base.spk final.spk final.log"
        check_report resnet56_cifar10 "$T/resnet56_cifar10" DATA="$T/cifar-10-binary.tar.gz" \
            BASE="$R56" $TINY
        # the published network was imported, with its 0.85 M parameters
        grep -q '^| parameters | 853,018 |' "$T/resnet56_cifar10/report/report.md" &&
            ok resnet56_cifar10_imported ||
            fail resnet56_cifar10_imported "$(grep parameters "$T/resnet56_cifar10/report/report.md")"
    else
        fail resnet56_cifar10 "$(tail -n 5 "$T/resnet56_cifar10.out")"
    fi
else
    echo "ok resnet56_cifar10: $R56 missing # SKIP"
fi

# no BASE: the pipeline trains its baseline first (sp-init, sp-finetune)
if pipe resnet56_cifar100 DATA="$T/cifar-100-binary.tar.gz" BASE_EPOCHS=1 BASE_BATCH=8 $TINY; then
    ok resnet56_cifar100
    stages_made resnet56_cifar100 "0 1 2" "init.spk base.spk base.log final.spk"
    check_report resnet56_cifar100 "$T/resnet56_cifar100" DATA="$T/cifar-100-binary.tar.gz" \
        BASE_EPOCHS=1 BASE_BATCH=8 $TINY
    sp-inspect "$T/resnet56_cifar100/final.spk" 2>/dev/null | grep -q '^classes *100$' &&
        ok resnet56_cifar100_classes || fail resnet56_cifar100_classes "not 100 classes"
else
    fail resnet56_cifar100 "$(tail -n 5 "$T/resnet56_cifar100.out")"
fi

sp-init --arch vgg16-cifar --seed 1 -o "$T/vgg16.spk" 2>"$T/e" || fail fixture "$(cat "$T/e")"
if pipe vgg16_cifar10 DATA="$T/cifar-10-binary.tar.gz" BASE="$T/vgg16.spk" BLOCKS=0 $TINY FT_EPOCHS=0
then
    ok vgg16_cifar10
    stages_made vgg16_cifar10 "0" "report/report.html"
    check_report vgg16_cifar10 "$T/vgg16_cifar10" DATA="$T/cifar-10-binary.tar.gz" \
        BASE="$T/vgg16.spk" BLOCKS=0 $TINY FT_EPOCHS=0
else
    fail vgg16_cifar10 "$(tail -n 5 "$T/vgg16_cifar10.out")"
fi
rm -rf "$T/vgg16_cifar10" "$T/vgg16.spk"

sp-init --arch vgg16-cifar-fc --seed 2 -o "$T/vgg16fc.spk" 2>"$T/e" || fail fixture "$(cat "$T/e")"
if pipe vgg16_cifar100 DATA="$T/cifar-100-binary.tar.gz" BASE="$T/vgg16fc.spk" BLOCKS=12 \
    $TINY FT_EPOCHS=0
then
    ok vgg16_cifar100
    # an .spk BASE is used in place, not copied
    stages_made vgg16_cifar100 "12" "report/report.html"
    [ -e "$T/vgg16_cifar100/base.spk" ] && fail vgg16_cifar100_base_in_place "base.spk made" ||
        ok vgg16_cifar100_base_in_place
    check_report vgg16_cifar100 "$T/vgg16_cifar100" DATA="$T/cifar-100-binary.tar.gz" \
        BASE="$T/vgg16fc.spk" BLOCKS=12 $TINY FT_EPOCHS=0
else
    fail vgg16_cifar100 "$(tail -n 5 "$T/vgg16_cifar100.out")"
fi
finish
