#!/bin/sh
# select.sh: sp-select writes a trained stage that sp-compress and sp-flops
# take through a pipe; the parameters drop by what the layer formulas say,
# the stage.* metadata follows sp-checkpoint(5), the output is the same for
# the same seed, --widths-from copies another stage's widths, and bad
# input fails with one line, exit 1 or 2 and no output file.
. "$(dirname "$0")/lib.sh"

for p in sp-init sp-select sp-compress sp-flops; do
    if [ ! -x "$BIN/$p" ]; then
        echo "ok select: $p not built, nothing to check # SKIP"
        finish
    fi
done

# meta FILE KEY: a metadata value of a checkpoint ("None" when absent).
meta() {
    python3 - "$1" "$2" <<'EOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
print(json.loads(raw[8:8 + n])["__metadata__"].get(sys.argv[2]))
EOF
}
# masks FILE: every mask tensor as NAME=0101..., one per line
masks() {
    python3 - "$1" <<'EOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
h = json.loads(raw[8:8 + n])
for k, e in h.items():
    if k.endswith(".m.mask"):
        b, end = e["data_offsets"]
        v = struct.unpack("<%df" % ((end - b) // 4), raw[8 + n + b:8 + n + end])
        print(k + "=" + "".join("1" if x == 1.0 else "0" if x == 0.0 else "?" for x in v))
EOF
}
json() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

sp-init --arch resnet20 --seed 3 -o "$T/r20.spk" 2>"$T/err" || fail init "$(cat "$T/err")"

# The pipe.  Stage 1 of ResNet-20 at rate 0.5 keeps 16 of 32 channels of
# each conv1: by hand, 16 * (16*9 + 2 + 32*9) for the first block (16
# inputs) and 16 * (32*9 + 2 + 32*9) for each of the other two.
if sp-select --by l1 --rate 0.5 --block 1 <"$T/r20.spk" 2>"$T/err" | sp-compress 2>>"$T/err" |
       sp-flops --json --baseline "$T/r20.spk" >"$T/flops.json" 2>>"$T/err" && [ ! -s "$T/err" ]; then
    want=$((16 * (16 * 9 + 2 + 32 * 9) + 2 * 16 * (32 * 9 + 2 + 32 * 9)))
    got=$(json "$T/flops.json" 'd["baseline"]["params"] - d["params"]')
    if [ "$got" = "$want" ]; then ok pipe_select_compress_flops
    else fail pipe_select_compress_flops "dropped $got parameters, expected $want"; fi
else
    fail pipe_select_compress_flops "$(head -c 300 "$T/err")"
fi

# The stage written, by every criterion.
for by in l1 l2 bn random; do
    if ! sp-select --by $by --rate 0.3 --block 2 --seed 5 -o "$T/$by.spk" "$T/r20.spk" 2>"$T/err"; then
        fail "select_$by" "$(head -c 300 "$T/err")"
        continue
    fi
    crc=$(python3 -c 'import json, struct, sys
raw = open(sys.argv[1], "rb").read(); (n,) = struct.unpack("<Q", raw[:8])
print(json.loads(raw[8:8 + n])["__metadata__"]["crc32"])' "$T/r20.spk")
    got="$(meta "$T/$by.spk" stage.block) $(meta "$T/$by.spk" stage.state) $(meta "$T/$by.spk" stage.by)"
    got="$got $(meta "$T/$by.spk" stage.rate) $(meta "$T/$by.spk" stage.seed) $(meta "$T/$by.spk" stage.kept)"
    got="$got $(meta "$T/$by.spk" stage.input)"
    want="2 trained $by 0.29999999999999999 5 19,19,19 $crc"
    if [ "$got" = "$want" ]; then ok "select_${by}_metadata"
    else fail "select_${by}_metadata" "got '$got', expected '$want'"; fi
    # 3 masks of 64 channels, each holding 19 ones and 45 zeros
    masks "$T/$by.spk" >"$T/$by.masks"
    if [ "$(wc -l <"$T/$by.masks")" -eq 3 ] &&
       [ "$(sed 's/.*=//' "$T/$by.masks" | tr -d '0\n' | wc -c)" -eq 57 ] &&
       [ "$(sed 's/.*=//' "$T/$by.masks" | tr -d '1\n' | wc -c)" -eq 135 ]; then
        ok "select_${by}_hard_index"
    else fail "select_${by}_hard_index" "$(cat "$T/$by.masks")"; fi
done
# Criteria differ (freshly initialised BN has gamma 1 everywhere: bn keeps
# the first channels), and the output depends on nothing but input and seed.
if [ "$(sed -n 1p "$T/bn.masks")" = "layer3.0.relu1.m.mask=$(printf '1%.0s' $(seq 19))$(printf '0%.0s' $(seq 45))" ] &&
   ! cmp -s "$T/l1.masks" "$T/random.masks"; then ok select_criteria_differ
else fail select_criteria_differ "$(head -n 1 "$T/bn.masks")"; fi
sp-select --by random --rate 0.3 --block 2 --seed 5 "$T/r20.spk" >"$T/random2.spk" 2>"$T/err"
sp-select --by random --rate 0.3 --block 2 --seed 6 "$T/r20.spk" >"$T/random3.spk" 2>>"$T/err"
if cmp -s "$T/random.spk" "$T/random2.spk" && ! cmp -s "$T/random.spk" "$T/random3.spk"; then
    ok select_random_seeded
else fail select_random_seeded "$(head -c 300 "$T/err")"; fi

# --widths-from: the widths of a trained stage (stage.kept) or of a
# compressed one (its layers against the original).
sp-compress "$T/random.spk" -o "$T/random_c.spk" 2>"$T/err" || fail compress "$(cat "$T/err")"
for ref in random random_c; do
    if sp-select --by l2 --widths-from "$T/$ref.spk" --block 2 -o "$T/w_$ref.spk" "$T/r20.spk" 2>"$T/err" &&
       [ "$(meta "$T/w_$ref.spk" stage.kept)" = 19,19,19 ] && [ "$(meta "$T/w_$ref.spk" stage.by)" = l2 ]; then
        ok "select_widths_from_$ref"
    else fail "select_widths_from_$ref" "$(head -c 300 "$T/err") $(meta "$T/w_$ref.spk" stage.kept)"; fi
done
# A later block of the compressed network, then its widths for another run.
if sp-select --by bn --rate 0.5 --block 0 "$T/random_c.spk" 2>"$T/err" | sp-compress >"$T/two.spk" 2>>"$T/err" &&
   [ "$(meta "$T/two.spk" stage.compressed)" = "2,0" ] &&
   sp-select --by l1 --widths-from "$T/two.spk" --block 0 "$T/r20.spk" 2>>"$T/err" | sp-compress >"$T/two_b.spk" 2>>"$T/err" &&
   [ "$(meta "$T/two_b.spk" stage.kept)" = 8,8,8 ]; then
    ok select_second_stage
else fail select_second_stage "$(head -c 300 "$T/err") $(meta "$T/two.spk" stage.compressed)"; fi

# --round 8: 19 of 64 channels becomes 24, the l1 choice plus the next best,
# in stage.kept and in the compressed widths.
if sp-select --by l1 --rate 0.3 --block 2 --round 8 "$T/r20.spk" 2>"$T/err" >"$T/round.spk" &&
   [ "$(meta "$T/round.spk" stage.kept)" = 24,24,24 ] && [ "$(meta "$T/round.spk" stage.round)" = 8 ] &&
   sp-compress "$T/round.spk" 2>>"$T/err" | sp-inspect --blocks >"$T/round.txt" 2>>"$T/err" &&
   [ "$(awk '$1 == 2 && $3 == 24' "$T/round.txt" | wc -l)" -eq 3 ]; then
    ok select_round
else fail select_round "$(head -c 300 "$T/err") $(meta "$T/round.spk" stage.kept)"; fi

# Failures: one line, exit 1 (bad data) or 2 (usage), no output left behind.
sp-init --arch resnet20 --classes 100 -o "$T/r20_100.spk" 2>/dev/null
sp-init --arch vgg16-cifar-fc -o "$T/fc.spk" 2>/dev/null
refused() { # refused NAME STATUS ARGS...: also leaves no -o file
    name=$1 status=$2; shift 2
    rm -f "$T/out.spk"
    expect_error "$name" "$status" sp-select "$@" -o "$T/out.spk"
    if [ -e "$T/out.spk" ] || ls "$T" | grep -q 'out\.spk\.tmp'; then
        fail "${name}_no_output" "an output file was left"
    fi
}
refused select_block_out_of_range 1 --by l1 --rate 0.5 --block 3 "$T/r20.spk"
grep -q "no block 3 (its blocks: 0-2)" "$T/.err" && ok select_block_message ||
    fail select_block_message "$(cat "$T/.err")"
refused select_block_compressed 1 --by l1 --rate 0.5 --block 2 "$T/random_c.spk"
refused select_already_trained 1 --by l1 --rate 0.5 --block 0 "$T/random.spk"
grep -q "sp-compress" "$T/.err" && ok select_already_trained_message ||
    fail select_already_trained_message "$(cat "$T/.err")"
refused select_widths_other_network 1 --by l1 --widths-from "$T/r20_100.spk" --block 2 "$T/r20.spk"
refused select_widths_untouched_block 1 --by l1 --widths-from "$T/random_c.spk" --block 1 "$T/r20.spk"
refused select_bn_without_batch_norm 1 --by bn --rate 0.5 --block 13 "$T/fc.spk"
refused select_missing_file 1 --by l1 --rate 0.5 --block 0 "$T/none.spk"
refused select_rate_zero 2 --by l1 --rate 0 --block 0 "$T/r20.spk"
refused select_rate_above_one 2 --by l1 --rate 1.5 --block 0 "$T/r20.spk"
refused select_rate_junk 2 --by l1 --rate half --block 0 "$T/r20.spk"
refused select_unknown_criterion 2 --by l3 --rate 0.5 --block 0 "$T/r20.spk"
refused select_no_criterion 2 --rate 0.5 --block 0 "$T/r20.spk"
refused select_no_block 2 --by l1 --rate 0.5 "$T/r20.spk"
refused select_negative_block 2 --by l1 --rate 0.5 --block -1 "$T/r20.spk"
refused select_no_rate 2 --by l1 --block 0 "$T/r20.spk"
refused select_rate_and_widths 2 --by l1 --rate 0.5 --widths-from "$T/random.spk" --block 2 "$T/r20.spk"
refused select_two_files 2 --by l1 --rate 0.5 --block 0 "$T/r20.spk" "$T/r20.spk"
expect_error select_both_stdin 2 sp-select --by l1 --widths-from - --block 0 <"$T/r20.spk"
# rate 1 keeps everything, a valid stage
if sp-select --by l1 --rate 1 --block 0 "$T/r20.spk" 2>"$T/err" | sp-compress 2>>"$T/err" |
       sp-flops --json --baseline "$T/r20.spk" >"$T/all.json" 2>>"$T/err" &&
   [ "$(json "$T/all.json" 'd["drop"]["params"]')" = 0.0 ]; then ok select_rate_one
else fail select_rate_one "$(head -c 300 "$T/err")"; fi
finish
