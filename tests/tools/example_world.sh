#!/bin/sh
# example_world.sh DIR: the small world the documentation's examples run in
# (tests/cli/examples.sh).  Every file an example reads without making it
# first is here under the example's name, small: Fashion-MNIST and CIFAR-10
# with a few dozen images, an ImageNet of three classes (tars and folders,
# the folders in DIR/home/imagenet for ~/imagenet), the published ResNet-56,
# small state_dicts under torchvision's names, and checkpoints, masks and
# logs of a short run.  DIR/bin holds the substitutes that keep each example
# to seconds, first on PATH when the examples run:
#   sp-pack         packs at most 48 records (--limit 48 appended)
#   sp-finetune     one epoch of batches of 16
#   sp-train-mask   one epoch of batches of 16, a vote every 2 steps
#   make            a pipeline's plan only (make -n)
# and every program computes with one thread (OMP_NUM_THREADS=1, set by
# the caller), which costs the least on a machine shared with other work.
# Needs SP_BIN (the real programs), ROOT (the source tree), SHARED, PY (a
# python3 with numpy and PIL).
set -eu
W=$1
mkdir -p "$W/bin" "$W/out/resnet56_cifar10" "$W/home"
cd "$W"
for p in sp-pack:"--limit 48" sp-finetune:"--epochs 1 --batch 16" \
         sp-train-mask:"--epochs 1 --batch 16 --window 2 --beta-range 2"; do
    printf '#!/bin/sh\nexec "%s/%s" "$@" %s\n' "$SP_BIN" "${p%%:*}" "${p#*:}" >"bin/${p%%:*}"
done
printf '#!/bin/sh\nexec /usr/bin/make -n "$@"\n' >bin/make
chmod +x bin/*
ln -s "$ROOT/pipelines" pipelines

# data
M="$PY $ROOT/tests/tools/make_pack_inputs.py"
$M cifar10 cifar-10-binary.tar.gz 8
$M ilsvrc ilsvrc 2 7
mv ilsvrc/train.tar ILSVRC2012_img_train.tar
mv ilsvrc/val.tar ILSVRC2012_img_val.tar
mv ilsvrc/val_labels.txt val_wnids.txt
rm -r ilsvrc
$M imagenet_tree home/imagenet 2 1
FM=/usr/share/datasets/fashion-mnist
"$SP_BIN/sp-pack" "$FM" --split train --limit 48 -o train.spd
"$SP_BIN/sp-pack" "$FM" --split test --limit 24 -o test.spd
cp test.spd val.spd

# networks
I=$ROOT/tests/fixtures/interop
cp "$I/vgg16_cifar.pth" vgg16_bn_cifar.pth
cp "$I/vgg16.pth" vgg16_bn.pth
cp "$I/resnet50.pth" resnet50-0676ba61.pth
ln -s "$SHARED/data/pretrained/resnet56-cifar10-akamaster.th" resnet56-cifar10-akamaster.th
ln -s "$SHARED/data/pretrained/resnet56-cifar10-akamaster.th" resnet56.th
"$SP_BIN/sp-import" vgg16_bn_cifar.pth -o net.spk
cp net.spk vgg16.spk

# a short run on Fashion-MNIST: base, a stage, its compression, fine-tuning
"$SP_BIN/sp-init" --arch resnet20 --data train.spd --seed 1 -o r20.spk
cp r20.spk base.spk
bin/sp-train-mask --block 0 --data train.spd --val test.spd --log mask_0.log -o mask_0.spk base.spk
cp mask_0.spk mask_3.spk
cp mask_0.log mask_1.log
"$SP_BIN/sp-compress" mask_0.spk -o pruned_0.spk
cp pruned_0.spk pruned.spk
bin/sp-finetune --data train.spd --val test.spd --log final.log -o final.spk pruned.spk
cp final.spk out/final.spk
cp pruned.spk out/pruned_5.spk

# what the ResNet-56 pipeline leaves in out/resnet56_cifar10, with a narrow
# ResNet-20 standing in for the ResNet-56
R=out/resnet56_cifar10
"$SP_BIN/sp-pack" cifar-10-binary.tar.gz --split train -o $R/train.spd
"$SP_BIN/sp-pack" cifar-10-binary.tar.gz --split test -o $R/val.spd
"$SP_BIN/sp-import" "$I/resnet20.pth" -o $R/base.spk
"$SP_BIN/sp-select" --by l1 --block 0 --rate 0.5 $R/base.spk | "$SP_BIN/sp-compress" -o $R/pruned_0.spk
"$SP_BIN/sp-select" --by l1 --block 1 --rate 0.5 -o $R/mask_1.spk $R/pruned_0.spk
