#!/bin/sh
# inspect.sh: sp-inspect reports what the checkpoint header holds (checked
# against the header read by Python), lists each network's pruning blocks
# as SP-ALGORITHM.md numbers them, and shows datasets.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$BIN/sp-init" ] || [ ! -x "$BIN/sp-inspect" ]; then
    echo "ok inspect: sp-init or sp-inspect not built # SKIP"
    finish
fi

# Block counts: VGG-16 layers 0-14 (0-12 with a single linear layer),
# CIFAR ResNet stages 0-2, ResNet-50 groups 0-3, MobileNetV2 blocks 1-7.
for pair in vgg16:15 vgg16-cifar-fc:15 vgg16-cifar:13 resnet56:3 resnet50:4 mobilenetv2:7; do
    arch=${pair%:*} want=${pair#*:}
    got=$(sp-init --arch "$arch" | sp-inspect --blocks --json |
          python3 -c 'import json, sys; print(len(json.load(sys.stdin)["blocks"]))' 2>&1)
    if [ "$got" = "$want" ]; then ok "$arch has $want blocks"
    else fail "$arch has $want blocks" "got $got"; fi
done

sp-init --arch resnet20 -o "$T/r.spk" || fail "sp-init resnet20" "failed"
sp-inspect "$T/r.spk" >"$T/text" 2>"$T/.err" || fail "text report" "$(cat "$T/.err")"
sp-inspect --json "$T/r.spk" >"$T/full.json" 2>"$T/.err" || fail "json report" "$(cat "$T/.err")"
sp-inspect --blocks --json <"$T/r.spk" >"$T/blocks.json" 2>"$T/.err" || fail "blocks report" "$(cat "$T/.err")"

# Every tensor of the header appears in the text with its dtype, shape and
# size; the JSON report repeats the header exactly.
check "reports agree with the header" python3 - "$T/r.spk" "$T/text" "$T/full.json" "$T/blocks.json" <<'EOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
hdr = json.loads(raw[8:8 + n])
meta = hdr.pop("__metadata__")
graph = json.loads(meta["graph"])
lines = open(sys.argv[2]).read().split("\n")
rows = {l.split()[0]: l.split() for l in lines if l.strip()}
for name, e in hdr.items():
    shape = "x".join(map(str, e["shape"])) or "scalar"
    size = e["data_offsets"][1] - e["data_offsets"][0]
    assert rows.get(name) == [name, e["dtype"], shape, str(size)], "text row of %s: %s" % (name, rows.get(name))
assert not any(meta["graph"][:40] in l for l in lines), "the graph JSON is printed"
full = json.load(open(sys.argv[3]))
assert [t["name"] for t in full["tensors"]] == list(hdr), "tensor order"
for t in full["tensors"]:
    e = hdr[t["name"]]
    assert [t["dtype"], t["shape"], t["bytes"]] == [e["dtype"], e["shape"], e["data_offsets"][1] - e["data_offsets"][0]], t
assert full["arch"] == "resnet20" and full["classes"] == graph["classes"] and full["input"] == graph["input"]
assert [x["name"] for x in full["nodes"]] == [x["name"] for x in graph["nodes"]], "nodes"
assert full["metadata"]["crc32"] == meta["crc32"], "crc32"
for k, v in meta.items():
    if k not in ("graph", "original"):
        assert full["metadata"][k] == v, k
assert "graph" not in full["metadata"] and "original" not in full["metadata"]
blocks = json.load(open(sys.argv[4]))
assert list(blocks) == ["blocks"] and blocks["blocks"] == full["blocks"], "blocks"
anchors = [a["name"] for b in graph["blocks"] for a in [{"name": x} for x in b["anchors"]]]
assert [a["name"] for b in blocks["blocks"] for a in b["anchors"]] == anchors, "anchors"
width = {}
for nd in graph["nodes"]:
    if "cout" in nd: width[nd["name"]] = nd["cout"]
for b in blocks["blocks"]:
    for a in b["anchors"]:
        assert a["channels"] == a["original"], a
        assert a["channels"] in (16, 32, 64), a
EOF

for name in conv1.weight layer1.0.bn1.running_var layer3.2.conv2.weight; do
    if grep -q "^$name " "$T/text"; then ok "text lists $name"; else fail "text lists $name" "absent"; fi
done

if cmp -s "$T/full.json" - <<EOF
$(sp-inspect --json <"$T/r.spk")
EOF
then ok "standard input reads like the file"; else fail "standard input reads like the file" "differs"; fi

# Usage.
check "--help" sp-inspect --help
grep -q '^Usage: sp-inspect' "$T/.out" || fail "--help prints the usage" "$(head -2 "$T/.out")"
expect_error "unknown option" 2 sp-inspect --frobnicate "$T/r.spk"
expect_error "two inputs" 2 sp-inspect "$T/r.spk" "$T/r.spk"
expect_error "--record on a checkpoint" 2 sp-inspect --record 0 "$T/r.spk"
expect_error "missing file" 1 sp-inspect "$T/nonexistent.spk"

# Datasets.
if [ -x "$BIN/sp-pack" ] && [ -d /usr/share/datasets/fashion-mnist ] &&
   sp-pack --split test -n 12 /usr/share/datasets/fashion-mnist -o "$T/d.spd" 2>/dev/null; then
    check "dataset as JSON" sh -c "sp-inspect --json '$T/d.spd' | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"records\"] == 12'"
    sp-inspect --record 5 "$T/d.spd" >"$T/img.pgm" 2>"$T/.err"
    if [ "$(head -c 13 "$T/img.pgm")" = "$(printf 'P5\n28 28\n255')" ] &&
       [ "$(wc -c <"$T/img.pgm")" -eq $((13 + 28 * 28)) ]; then ok "dataset record as PGM"
    else fail "dataset record as PGM" "$(cat "$T/.err")"; fi
    sp-inspect <"$T/d.spd" >"$T/.out" 2>"$T/.err"
    if [ $? -eq 1 ] && [ ! -s "$T/.out" ] && [ "$(wc -l <"$T/.err")" -eq 1 ] &&
       grep -q "^sp-inspect: .*file name" "$T/.err"; then ok "dataset on standard input refused"
    else fail "dataset on standard input refused" "$(cat "$T/.err")"; fi
    expect_error "--blocks on a dataset" 2 sp-inspect --blocks "$T/d.spd"
fi
finish
