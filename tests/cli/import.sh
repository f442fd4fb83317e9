#!/bin/sh
# sp-import: real checkpoints, every network family in both torch.save
# formats, other dtypes and views, refusals of hostile pickles and of
# mismatched tensors, and logits equal to PyTorch's.  The fixtures and
# PyTorch's logits come from tests/fixtures/gen_interop_fixtures.py; the
# value checks that need PyTorch at test time run when it can be imported.
. "$(dirname "$0")/lib.sh"
I=$FIX/interop
PRE=$SHARED/data/pretrained
PY=$(find_python torch)
NP=$(find_python numpy)

# field NAME FILE.spk: the value sp-inspect prints for NAME
field() { sp-inspect "$2" | awk -v k="$1" '$1 == k { print $2; exit }'; }

# The published parameter counts of the two real networks are the oracle.
for spec in resnet20:269722 resnet56:853018; do
    net=${spec%%:*} want=${spec#*:}
    if sp-import "$PRE/$net-cifar10-akamaster.th" -o "$T/$net.spk" 2>"$T/err"; then
        got="$(field arch "$T/$net.spk") $(field parameters "$T/$net.spk")"
        if [ "$got" = "$net $want" ]; then ok "import_real_$net"
        else fail "import_real_$net" "got '$got', want '$net $want'"; fi
    else
        fail "import_real_$net" "$(cat "$T/err")"
    fi
done

# Every family, zip and legacy serialisation, detected from the tensors.
for spec in vgg16_cifar:vgg16-cifar vgg16:vgg16 vgg_original_fc:vgg16-cifar-fc \
            resnet20:resnet20 resnet50:resnet50 resnet50_cifar_kuangliu:resnet50-cifar \
            mobilenetv2:mobilenetv2; do
    f=${spec%%:*} arch=${spec#*:}
    for v in "" _legacy; do
        if sp-import "$I/$f$v.pth" -o "$T/$f$v.spk" 2>"$T/err" &&
           [ "$(field arch "$T/$f$v.spk")" = "$arch" ]; then ok "import_$f$v"
        else fail "import_$f$v" "$(cat "$T/err") arch $(field arch "$T/$f$v.spk" 2>/dev/null)"; fi
    done
done
for f in resnet20_module resnet20_untracked resnet20_fp16 resnet20_bf16_legacy resnet20_fp64 \
         resnet20_noncontig resnet20_noncontig_legacy resnet20_proto4 resnet20_proto4_legacy \
         resnet20_net; do
    check "import_$f" sp-import "$I/$f.pth" -o "$T/$f.spk"
done
check import_safetensors sp-import "$I/resnet20.safetensors" -o "$T/resnet20_st.spk"
check import_stdin sh -c "sp-import < '$I/resnet20.pth' > '$T/stdin.spk'"
check import_arch_given sp-import --arch resnet20 --classes 10 "$I/resnet20.pth" -o "$T/given.spk"

# Values: export what was imported and compare, in PyTorch, with the
# fixture's tensors converted to float32 (num_batches_tracked added as 0
# where the file had none; renamed layouts compared in order).
if [ -n "$PY" ]; then
    set --
    for f in vgg16_cifar vgg16_legacy vgg_original_fc resnet50_cifar_kuangliu mobilenetv2_legacy \
             resnet20_module resnet20_untracked resnet20_fp16 resnet20_bf16_legacy resnet20_fp64 \
             resnet20_noncontig resnet20_noncontig_legacy resnet20_proto4_legacy resnet20_net; do
        sp-export --format pth "$T/$f.spk" -o "$T/$f.out.pth" 2>/dev/null
        set -- "$@" "$f" "$I/$f.pth" "$T/$f.out.pth"
    done
    "$PY" - "$@" >"$T/values" 2>&1 <<'EOF'
import sys, torch

def compare(src_path, out_path):
    src = torch.load(src_path, map_location="cpu")
    src = src.get("state_dict", src.get("model", src.get("net", src)))
    src = {k[7:] if k.startswith("module.") else k: v for k, v in src.items()}
    out = torch.load(out_path)
    a = [(k, v) for k, v in src.items() if not k.endswith("num_batches_tracked")]
    b = [(k, v) for k, v in out.items() if not k.endswith("num_batches_tracked")]
    assert len(a) == len(b), "%d tensors, %d exported" % (len(a), len(b))
    renamed = not set(k for k, _ in a) <= set(out)
    for (ka, va), (kb, vb) in zip(a, b):
        assert renamed or ka == kb, (ka, kb)
        assert va.shape == vb.shape and vb.dtype == torch.float32, (ka, va.shape, vb.shape)
        assert torch.equal(va.float(), vb), ka
    for k, v in out.items():
        if k.endswith("num_batches_tracked"):
            want = 0 if renamed else src.get(k, torch.tensor(0)).item()
            assert v.dtype == torch.int64 and (renamed or v.item() == want), k

args = sys.argv[1:]
for i in range(0, len(args), 3):
    try:
        compare(args[i + 1], args[i + 2])
        print("ok import_values_%s" % args[i])
    except Exception as e:
        print("not ok import_values_%s - %r" % (args[i], e))
EOF
    cat "$T/values"
    grep -q "^not ok\|Traceback" "$T/values" && _failed=1
fi

# Hostile pickles: refused with one sentence, nothing on stdout, nothing
# written, and nothing run.
rm -f /tmp/sp-pwned-by-pth
for f in hostile_os_system.pth hostile_os_system.pkl hostile_eval.pth hostile_reduce.pth \
         module_sequential.pth module_user.pth module_user_legacy.pth; do
    expect_error "refuse_$f" 1 sp-import "$I/$f"
    check "refuse_${f}_no_output" sh -c "! sp-import '$I/$f' -o '$T/h.spk' 2>/dev/null && [ ! -e '$T/h.spk' ]"
done
sp-import "$I/hostile_os_system.pth" 2>"$T/err" >/dev/null
check refuse_message_os_system grep -q "refers to os.system" "$T/err"
for f in module_user module_user_legacy module_sequential; do
    sp-import "$I/$f.pth" 2>"$T/err" >/dev/null
    check "refuse_message_$f" grep -q "save model.state_dict()" "$T/err"
done
sp-import "$I/hostile_reduce.pth" 2>"$T/err" >/dev/null
check refuse_message_reduce grep -q "refusing to call collections.Counter" "$T/err"
check refuse_ran_nothing test ! -e /tmp/sp-pwned-by-pth

# Mismatches name the first offending tensor and both shapes.
expect_error mismatch_shape 1 sp-import "$I/resnet20_badshape.pth" -o "$T/bad.spk"
cp "$T/.err" "$T/msg"
check mismatch_shape_message grep -qF "tensor 'layer2.0.conv2.weight' has shape 8x8x1x1, resnet20 expects 8x8x3x3" "$T/msg"
check mismatch_shape_no_output test ! -e "$T/bad.spk"
expect_error mismatch_unexpected 1 sp-import "$I/resnet20_extra.pth" -o "$T/bad.spk"
cp "$T/.err" "$T/msg"
check mismatch_unexpected_message grep -qF "unexpected tensor 'head.weight' (shape 3x3)" "$T/msg"
expect_error mismatch_missing 1 sp-import --arch resnet56 "$I/resnet20.pth" -o "$T/bad.spk"
cp "$T/.err" "$T/msg"
check mismatch_missing_message grep -qF "tensor 'layer1.3.conv1.weight' is missing" "$T/msg"
check mismatch_no_output test ! -e "$T/bad.spk"
expect_error mismatch_classes 1 sp-import --classes 100 "$I/resnet20.pth" -o "$T/bad.spk"
cp "$T/.err" "$T/msg"
check mismatch_classes_message grep -qF "100 classes asked for, but tensor 'linear.weight' has 10 outputs" "$T/msg"
check import_input_size sh -c "sp-import --input 28x28 '$I/resnet20.pth' -o '$T/small.spk' &&
    sp-inspect '$T/small.spk' | grep -q '^input *3x28x28'"
expect_error import_not_torch 1 sp-import "$I/images.tar.gz"
expect_error import_unknown_arch 2 sp-import --arch nonet "$I/resnet20.pth"
expect_error import_no_file 1 sp-import "$T/absent.pth"

# Logits of the imported real ResNet-56 and of a pruned ResNet-20 equal
# PyTorch's on the same images (computed by the generator, committed, with
# inputs normalised by 0.5 and 0.5: --norm half).
if [ -n "$NP" ] && sp-pack --format cifar10 --split test "$I/images.tar.gz" -o "$T/img.spd" 2>"$T/err"; then
    sp-import --norm half "$I/pruned_resnet20.pth" -o "$T/pruned.spk" 2>>"$T/err"
    sp-import --norm half "$PRE/resnet56-cifar10-akamaster.th" -o "$T/resnet56.spk" 2>>"$T/err"
    for spec in resnet56:resnet56_logits pruned:pruned_resnet20_logits; do
        net=${spec%%:*} want=${spec#*:}
        if sp-eval --threads 1 --data "$T/img.spd" --logits "$T/$net.npy" "$T/$net.spk" >/dev/null 2>"$T/err" &&
           "$NP" -c '
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
e = np.abs(a - b).max() / np.abs(b).max()
print("relative error %.3g" % e)
sys.exit(0 if a.shape == b.shape and e < 1e-4 else 1)' "$T/$net.npy" "$I/$want.npy" >"$T/err" 2>&1
        then ok "logits_$net"; else fail "logits_$net" "$(tail -n 2 "$T/err")"; fi
    done
else
    fail logits_setup "no numpy or sp-pack failed: $(cat "$T/err")"
fi
finish
