#!/bin/sh
# sp-export: state_dicts that PyTorch loads with the imported tensors
# unchanged, a pruned network whose PyTorch forward pass gives sp-eval's
# logits, and ONNX models that pass onnx.checker and give sp-eval's logits
# in OpenCV's DNN module.  The PyTorch / ONNX / OpenCV side runs when those
# modules can be imported (scripts/install-deps installs them).
. "$(dirname "$0")/lib.sh"
I=$FIX/interop
PRE=$SHARED/data/pretrained
PY=$(find_python torch onnx cv2 numpy)

sp-import --norm half "$PRE/resnet56-cifar10-akamaster.th" -o "$T/resnet56.spk" 2>"$T/err" ||
    fail export_setup "$(cat "$T/err")"
# The CIFAR networks with the fixtures' normalisation, 0.5 and 0.5; the
# ImageNet ones with their default.
for f in resnet20 pruned_resnet20 vgg16_cifar resnet50_cifar_kuangliu mobilenetv2 vgg16 resnet50; do
    norm=; case $f in *resnet20) norm="--norm half" ;; esac
    # shellcheck disable=SC2086
    sp-import $norm "$I/$f.pth" -o "$T/$f.spk" 2>"$T/err" || fail export_setup "$(cat "$T/err")"
done

for net in resnet56 resnet20 pruned_resnet20; do
    check "export_pth_$net" sp-export --format pth "$T/$net.spk" -o "$T/$net.pth"
    check "export_safetensors_$net" sp-export --format safetensors "$T/$net.spk" -o "$T/$net.safetensors"
done
for net in pruned_resnet20 resnet56 vgg16_cifar resnet50_cifar_kuangliu mobilenetv2 vgg16 resnet50; do
    check "export_onnx_$net" sp-export --format onnx "$T/$net.spk" -o "$T/$net.onnx"
    check "export_onnx_nofold_$net" sp-export --format onnx --no-fold "$T/$net.spk" -o "$T/$net.nofold.onnx"
done
sp-export -f onnx -o "$T/file.onnx" "$T/resnet20.spk"
check export_stdout sh -c "sp-export -f onnx < '$T/resnet20.spk' | cmp -s - '$T/file.onnx'"
expect_error export_no_format 2 sp-export "$T/resnet20.spk"
expect_error export_bad_format 2 sp-export --format tflite "$T/resnet20.spk"
expect_error export_not_checkpoint 1 sp-export --format pth "$I/resnet20.pth" -o "$T/bad.pth"
check export_not_checkpoint_no_output test ! -e "$T/bad.pth"

# sp-eval's logits on the committed images, the oracle-independent side
if sp-pack --format cifar10 --split test "$I/images.tar.gz" -o "$T/img.spd" 2>"$T/err"; then
    for net in pruned_resnet20 resnet56 vgg16_cifar resnet50_cifar_kuangliu; do
        sp-eval --threads 1 --data "$T/img.spd" --logits "$T/$net.npy" "$T/$net.spk" \
            >/dev/null 2>"$T/err" || fail "export_eval_$net" "$(cat "$T/err")"
    done
else
    fail export_pack "$(cat "$T/err")"
fi

# 224x224 networks: ten PNG images written by OpenCV, packed at their own size
if [ -n "$PY" ] && "$PY" - "$T/png" >"$T/err" 2>&1 <<'EOF'
import os, sys
import numpy as np, cv2
r = np.random.RandomState(3)
for i in range(10):
    d = os.path.join(sys.argv[1], "c%d" % i)
    os.makedirs(d)
    rgb = r.randint(0, 256, size=(224, 224, 3)).astype(np.uint8)
    cv2.imwrite(os.path.join(d, "img.png"), rgb[..., ::-1])
    np.save(os.path.join(sys.argv[1], "rgb%d.npy" % i), rgb)
EOF
then
    sp-pack --size 224x224 "$T/png" -o "$T/png.spd" 2>"$T/err" || fail export_pack_png "$(cat "$T/err")"
    for net in mobilenetv2 vgg16 resnet50; do
        sp-eval --threads 1 --data "$T/png.spd" --logits "$T/$net.npy" "$T/$net.spk" \
            >/dev/null 2>"$T/err" || fail "export_eval_$net" "$(cat "$T/err")"
    done
elif [ -n "$PY" ]; then
    fail export_png "$(cat "$T/err")"
fi

if [ -n "$PY" ]; then
    "$PY" - "$I" "$T" "$PRE" >"$T/py" 2>&1 <<'EOF'
import json, sys
import numpy as np, torch, onnx, cv2
I, T, PRE = sys.argv[1:4]
sys.dont_write_bytecode = True
sys.path.insert(0, I + "/..")
import gen_interop_fixtures as G

def test(name, fn):
    try:
        fn()
        print("ok " + name)
    except Exception as e:
        print("not ok %s - %r" % (name, e))

def rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())

def read_safetensors(path):
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    head = json.loads(raw[8:8 + n])
    head.pop("__metadata__", None)
    out = {}
    for k, e in head.items():
        b, f = e["data_offsets"]
        dt = {"F32": np.float32, "I64": np.int64}[e["dtype"]]
        out[k] = torch.from_numpy(np.frombuffer(raw[8 + n + b:8 + n + f], dt).reshape(e["shape"]).copy())
    return out, list(head)

def same_tensors(net, src, fmt):
    def run():
        if fmt == "pth":
            out = torch.load("%s/%s.pth" % (T, net))
            order = list(out)
        else:
            out, order = read_safetensors("%s/%s.safetensors" % (T, net))
        want = [k for k in src if not k.endswith("num_batches_tracked")]
        got = [k for k in order if not k.endswith("num_batches_tracked")]
        assert got == want, (got[:3], want[:3])
        for k in want:
            assert out[k].dtype == torch.float32 and torch.equal(out[k], src[k].float()), k
    return run

real = torch.load(PRE + "/resnet56-cifar10-akamaster.th", map_location="cpu")["state_dict"]
real = {k[len("module."):]: v for k, v in real.items()}
for fmt in ("pth", "safetensors"):
    test("roundtrip_%s_resnet56_real" % fmt, same_tensors("resnet56", real, fmt))
    test("roundtrip_%s_resnet20" % fmt, same_tensors("resnet20", torch.load(I + "/resnet20.pth"), fmt))
    test("roundtrip_%s_pruned_resnet20" % fmt,
         same_tensors("pruned_resnet20", torch.load(I + "/pruned_resnet20.pth"), fmt))

images = G.read_images(I + "/images.tar.gz")
x = G.preprocess(images)

def pruned_pytorch_logits():
    sd = torch.load(T + "/pruned_resnet20.pth")
    assert sd["layer1.1.conv1.weight"].shape[0] == 3     # the pruned width came through
    with torch.no_grad():
        y = G.resnet_cifar_forward(sd, x).numpy()
    e = rel(y, np.load(T + "/pruned_resnet20.npy"))
    assert e < 1e-4, e
test("pruned_pth_logits_equal_sp_eval", pruned_pytorch_logits)

def onnx_logits(net, variant):
    def run():
        path = "%s/%s%s.onnx" % (T, net, variant)
        m = onnx.load(path)
        onnx.checker.check_model(m)
        assert m.opset_import[0].version >= 13
        meta = {p.key: p.value for p in m.metadata_props}
        assert meta["input_size"] == "3x32x32" and meta["mean"] == "0.5,0.5,0.5", meta
        assert m.graph.input[0].name == meta["input_name"] == "input"
        dnn = cv2.dnn.readNetFromONNX(path)
        dnn.setInput(x.numpy())
        e = rel(dnn.forward(), np.load("%s/%s.npy" % (T, net)))
        assert e < 1e-4, e
    return run
for net in ("pruned_resnet20", "resnet56", "vgg16_cifar", "resnet50_cifar_kuangliu"):
    test("onnx_opencv_%s" % net, onnx_logits(net, ""))
test("onnx_opencv_nofold_pruned_resnet20", onnx_logits("pruned_resnet20", ".nofold"))

# 224x224 networks on the PNG images, ImageNet normalisation
rgb = np.stack([np.load("%s/png/rgb%d.npy" % (T, i)) for i in range(10)])
mean = np.array([0.485, 0.456, 0.406], np.float32)[None, :, None, None]
std = np.array([0.229, 0.224, 0.225], np.float32)[None, :, None, None]
x224 = (rgb.transpose(0, 3, 1, 2).astype(np.float32) / 255 - mean) / std

def onnx_224(net, variant):
    def run():
        path = "%s/%s%s.onnx" % (T, net, variant)
        onnx.checker.check_model(onnx.load(path))
        dnn = cv2.dnn.readNetFromONNX(path)
        dnn.setInput(x224)
        e = rel(dnn.forward(), np.load("%s/%s.npy" % (T, net)))
        assert e < 1e-4, e
    return run
for net in ("mobilenetv2", "vgg16", "resnet50"):
    test("onnx_opencv_%s" % net, onnx_224(net, ""))
    test("onnx_opencv_nofold_%s" % net, onnx_224(net, ".nofold"))
EOF
    cat "$T/py"
    grep -q "^not ok\|Traceback" "$T/py" && _failed=1
fi
finish
