#!/bin/sh
# Normalisation travels with the network: sp-import of the pretrained CIFAR
# ResNets needs no --mean/--std (their logits equal PyTorch's, computed by
# tests/fixtures/gen_norm_fixtures.py with the ImageNet statistics they were
# trained with); sp-init --data takes the dataset's statistics; --norm,
# --norm-from, --mean and --std choose; sp-inspect says where the values
# came from.
. "$(dirname "$0")/lib.sh"
I=$FIX/interop
PRE=$SHARED/data/pretrained
NP=$(find_python numpy)

# norm_line FILE.spk: sp-inspect's normalisation line
norm_line() { sp-inspect "$1" | sed -n 's/^normalise *//p'; }
# has NAME FILE.spk TEXT: the normalisation line contains TEXT
has() { check "$1" sh -c 'sp-inspect "$1" | grep "^normalise" | grep -qF -- "$2"' sh "$2" "$3"; }

sp-pack --format cifar10 --split test "$I/images.tar.gz" -o "$T/img.spd" 2>"$T/err" ||
    fail pack_images "$(cat "$T/err")"
for net in resnet20 resnet56; do
    sp-import "$PRE/$net-cifar10-akamaster.th" -o "$T/$net.spk" 2>"$T/err" ||
        fail "import_$net" "$(cat "$T/err")"
    has "norm_default_$net" "$T/$net.spk" \
        "mean 0.485,0.456,0.406  std 0.229,0.224,0.225  (preset imagenet, the default of $net)"
    for how in default half; do
        flags=; [ $how = half ] && flags="--mean 0.5,0.5,0.5 --std 0.5,0.5,0.5"
        # shellcheck disable=SC2086
        if sp-eval --threads 1 --data "$T/img.spd" $flags --logits "$T/$net.$how.npy" \
               "$T/$net.spk" >/dev/null 2>"$T/err" &&
           "$NP" -c '
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
e = np.abs(a - b).max() / np.abs(b).max()
print("relative error %.3g" % e)
sys.exit(0 if a.shape == b.shape and (e < 1e-4) == (sys.argv[3] == "default") else 1)' \
               "$T/$net.$how.npy" "$I/pretrained_${net}_logits.npy" $how >"$T/err" 2>&1
        then ok "logits_pytorch_${how}_$net"; else fail "logits_pytorch_${how}_$net" "$(tail -n 2 "$T/err")"; fi
    done
done

# Named presets, a dataset's statistics, values given, and what is recorded.
sp-pack /usr/share/datasets/fashion-mnist --split test --limit 64 -o "$T/fm.spd" 2>"$T/err" ||
    fail pack_fmnist "$(cat "$T/err")"
fm_mean=$(sp-inspect "$T/fm.spd" | awk '$1 == "mean:" { print $2 }')
check init_data sp-init --arch resnet20 --data "$T/fm.spd" -o "$T/fm.spk"
check init_data_shape sh -c 'sp-inspect "$1" | grep -q "^input *1x28x28"' sh "$T/fm.spk"
has init_data_source "$T/fm.spk" "(statistics of $T/fm.spd)"
check init_data_values sh -c '
    sp-inspect "$1" | awk -v m="$2" '\''$1 == "normalise" { d = $3 - m; exit !(d < 1e-4 && d > -1e-4) }'\''' \
    sh "$T/fm.spk" "$fm_mean"
sp-init --arch resnet20 --norm cifar10 -o "$T/c10.spk"
has norm_preset "$T/c10.spk" "mean 0.4914,0.4822,0.4465  std 0.247,0.2435,0.2616  (preset cifar10)"
sp-init --arch resnet20 --data "$T/fm.spd" --norm fashion-mnist -o "$T/fmp.spk"
has norm_preset_over_data "$T/fmp.spk" "mean 0.286  std 0.353  (preset fashion-mnist)"
sp-import --norm-from "$T/img.spd" "$PRE/resnet20-cifar10-akamaster.th" -o "$T/from.spk"
has norm_from "$T/from.spk" "(statistics of $T/img.spd)"
sp-import --norm cifar100 --mean 0.1,0.2,0.3 "$PRE/resnet20-cifar10-akamaster.th" -o "$T/mean.spk"
has norm_mean_over_preset "$T/mean.spk" \
    "mean 0.1,0.2,0.3  std 0.2673,0.2564,0.2762  (--mean given to sp-import, the std from preset cifar100)"
sp-init --arch resnet20 --input 1x28x28 -o "$T/one.spk"
has norm_other_channels "$T/one.spk" "mean 0.5  std 0.5  (preset half, the default of a 1-channel resnet20)"
sp-init --arch vgg16 -o "$T/vgg.spk"
has norm_default_vgg16 "$T/vgg.spk" "(preset imagenet, the default of vgg16)"

# The values reach what a network is trained and exported with.
check norm_in_metadata sh -c 'head -c 100000 "$1" | grep -q "\"norm_source\":\"preset cifar10\""' sh "$T/c10.spk"

expect_error norm_unknown 2 sp-init --arch resnet20 --norm cifar11
cp "$T/.err" "$T/msg"
check norm_unknown_lists grep -q "known: imagenet, cifar10" "$T/msg"
expect_error norm_channels 2 sp-init --arch resnet20 --norm mnist
cp "$T/.err" "$T/msg"
check norm_channels_says grep -q "is for 1 channel, but the network takes 3" "$T/msg"
expect_error norm_both 2 sp-import --norm imagenet --norm-from "$T/fm.spd" "$PRE/resnet20-cifar10-akamaster.th"
expect_error norm_from_channels 1 sp-import --norm-from "$T/fm.spd" "$PRE/resnet20-cifar10-akamaster.th"
expect_error norm_bad_mean 2 sp-init --arch resnet20 --mean 0.1,0.2
expect_error norm_from_absent 1 sp-init --arch resnet20 --norm-from "$T/absent.spd"
finish
