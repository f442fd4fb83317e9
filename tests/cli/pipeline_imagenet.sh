#!/bin/sh
# pipeline_imagenet.sh: the three ImageNet pipelines end to end on tiny
# ImageNets in both of the forms users have (tests/tools/make_pack_inputs.py):
# train/ and val/ folders of class folders of JPEGs, and the ILSVRC2012 tars
# (a tar of one tar per class; a flat validation tar with its labels), three
# classes, packed and built at 32x32 (SIZE, INPUT):
#   - resnet50_imagenet on the folders from a .pth, groups 0 and 3 (its
#     94 MB checkpoints make each stage seconds), no fine-tuning;
#   - mobilenetv2_imagenet on the tars, training its own baseline, all 7
#     blocks;
#   - vgg16_imagenet on the folders from a stand-in BASE: torchvision's
#     vgg16_bn has 138 M parameters (a 540 MB checkpoint) at any input size,
#     too heavy for make test, so the test prunes the last convolution of a
#     VGG-16-BN with the CIFAR head (the same 13 convolutions) with the
#     ImageNet recipe; pipeline_plan.sh checks the real network's plan;
#   - each makes its stages and a report whose pictures draw.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/pipeline_lib.sh"
need_pipeline_tools || finish
PY=$(find_python numpy PIL)
if [ -z "$PY" ]; then
    echo "ok pipeline_imagenet: no python3 with numpy and PIL to write the images # SKIP"
    finish
fi
GEN="$PY $ROOT/tests/tools/make_pack_inputs.py"
$GEN imagenet_tree "$T/imagenet" 6 2 || fail fixture "imagenet_tree"   # 18 + 6 JPEGs
$GEN ilsvrc "$T/ilsvrc" 6 7 || fail fixture "ilsvrc"                   # 18 + 7 JPEGs
SMALL="SIZE=32x32 INPUT=32x32 EPOCHS=1 BATCH=9 WINDOW=1 BETA_RANGE=1 FT_BATCH=9"

sp-init --arch resnet50 --classes 3 --input 32x32 --seed 1 2>"$T/e" |
    sp-export --format pth -o "$T/resnet50.pth" 2>>"$T/e" || fail fixture "resnet50.pth: $(cat "$T/e")"
# shellcheck disable=SC2086
if pipe resnet50_imagenet DATA="$T/imagenet" BASE="$T/resnet50.pth" $SMALL BLOCKS="0 3" \
    FT_EPOCHS=0
then
    ok resnet50_imagenet
    o=$T/resnet50_imagenet
    # the validation folders were packed with the training set's classes
    if [ "$(cat "$o/classes.txt" | tr '\n' ' ')" = "n01440764 n01443537 n01484850 " ] &&
        sp-inspect "$o/val.spd" | grep -q '^records: *6$'
    then ok resnet50_imagenet_data; else fail resnet50_imagenet_data "$(cat "$o/classes.txt")"; fi
    check_report resnet50_imagenet "$o" DATA="$T/imagenet" BASE="$T/resnet50.pth" $SMALL \
        BLOCKS="0 3" FT_EPOCHS=0
    # LIMIT: the first images only, the class list whole
    pipe resnet50_imagenet DATA="$T/imagenet" BASE="$T/resnet50.pth" $SMALL LIMIT=4 "$o/train.spd"
    if sp-inspect "$o/train.spd" | grep -q '^records: *4$' &&
        sp-inspect "$o/train.spd" | grep -q '^classes: *3$'
    then ok resnet50_imagenet_limit; else fail resnet50_imagenet_limit "$(sp-inspect "$o/train.spd")"; fi
else
    fail resnet50_imagenet "$(tail -n 5 "$T/resnet50_imagenet.out")"
fi
rm -rf "$T/resnet50_imagenet" "$T/resnet50.pth"

if pipe mobilenetv2_imagenet DATA="$T/ilsvrc" BASE_EPOCHS=1 BASE_BATCH=6 $SMALL FT_EPOCHS=1; then
    ok mobilenetv2_imagenet
    o=$T/mobilenetv2_imagenet
    n=$(ls "$o"/pruned_*.spk 2>/dev/null | wc -l)
    # the tars: every image of the validation tar, labelled by its WordNet id
    if [ "$n" -eq 7 ] && sp-inspect "$o/val.spd" | grep -q '^records: *7$' &&
        sp-inspect "$o/train.spd" | grep -q '^records: *18$'
    then ok mobilenetv2_imagenet_stages; else fail mobilenetv2_imagenet_stages "$n blocks pruned"; fi
    check_report mobilenetv2_imagenet "$o" DATA="$T/ilsvrc" BASE_EPOCHS=1 BASE_BATCH=6 $SMALL \
        FT_EPOCHS=1
else
    fail mobilenetv2_imagenet "$(tail -n 5 "$T/mobilenetv2_imagenet.out")"
fi
rm -rf "$T/mobilenetv2_imagenet"

sp-init --arch vgg16-cifar --classes 3 --seed 3 -o "$T/vgg16.spk" 2>"$T/e" || fail fixture "$(cat "$T/e")"
VGG="ARCH=vgg16-cifar BLOCKS=12 FT_EPOCHS=0"
if pipe vgg16_imagenet DATA="$T/imagenet" BASE="$T/vgg16.spk" $SMALL $VGG; then
    ok vgg16_imagenet
    # FT_EPOCHS=0: no fine-tuning, the report compares the last pruned network
    [ ! -e "$T/vgg16_imagenet/final.spk" ] && grep -q 'recipe vgg-imagenet' "$T/vgg16_imagenet.out" &&
        ok vgg16_imagenet_no_finetune || fail vgg16_imagenet_no_finetune "final.spk made"
    check_report vgg16_imagenet "$T/vgg16_imagenet" DATA="$T/imagenet" BASE="$T/vgg16.spk" $SMALL $VGG
else
    fail vgg16_imagenet "$(tail -n 5 "$T/vgg16_imagenet.out")"
fi
finish
