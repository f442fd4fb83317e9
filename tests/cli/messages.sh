#!/bin/sh
# Messages a user meets early: counts with the right plural, sp-pack naming
# what it reads, sp-inspect on a file that is neither of its inputs, a
# warning for a baseline that is another network, PNG images that sp-pack
# stores as JPEG, and man pages whose quotes all close.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
FM=/usr/share/datasets/fashion-mnist
sp-pack "$FM" --split test --limit 16 -o fm.spd 2>err && sp-init --arch resnet20 -o r20.spk 2>>err &&
    sp-init --arch resnet20 --data fm.spd -o r20fm.spk 2>>err || fail setup "$(cat err)"
printf 'some notes\n' >notes.txt

# "1 channel", never "1 channels"
expect_error plural_eval 1 sp-eval --data fm.spd r20.spk
cp .err msg
check plural_eval_says grep -q "'fm.spd' has 1 channel per image, the network takes 3" msg
{
    sp-train-mask --block 0 --data fm.spd --val fm.spd r20.spk
    sp-import --input 1x32x32 "$FIX/interop/resnet20.pth"
    sp-init --arch resnet20 --norm mnist
    sp-init --arch resnet20 --norm-from fm.spd
} >/dev/null 2>all.err
check plural_messages_seen test "$(wc -l <all.err)" -ge 4
check plural_no_1_channels sh -c '! grep -E "(^|[^0-9])1 (channels|classes|outputs)" all.err msg'


# sp-pack on something that is not a dataset says what it reads
expect_error pack_not_dataset 1 sp-pack notes.txt -o x.spd
cp .err msg
check pack_lists_what_it_reads grep -q "'notes.txt' is not a dataset: sp-pack reads CIFAR-10 and CIFAR-100 binary archives, IDX image and label files, a folder of class folders of images, ImageNet's train and val tars and WebDataset shards" msg

# sp-inspect on a text file: neither of the two things it reads
expect_error inspect_text 1 sp-inspect notes.txt
cp .err msg
check inspect_text_says grep -q "'notes.txt' is not an sp checkpoint or a packed dataset" msg
sp-inspect < notes.txt >/dev/null 2>err
check inspect_text_stdin grep -q "^sp-inspect: standard input is not an sp checkpoint or a packed dataset" err
head -c 2000 r20.spk >trunc.spk
sp-inspect trunc.spk >/dev/null 2>err
check inspect_truncated_still_truncated grep -q "'trunc.spk' is truncated" err

# sp-flops --baseline: another network warns, the network pruned from does not
sp-init --arch resnet56 -o r56.spk
sp-flops --baseline r56.spk r20.spk >out 2>err
check flops_other_baseline_warns grep -q "^sp-flops: warning: the baseline 'r56.spk' is not the network this one was pruned from" err
check flops_other_baseline_still_reports grep -q "drop" out
sp-flops --baseline r20fm.spk r20.spk >/dev/null 2>err
check flops_other_input_warns grep -q "warning: the baseline 'r20fm.spk' is not" err
check flops_pruned_no_warning sh -c 'sp-select --by l1 --block 0 --rate 0.5 r20.spk | sp-compress |
    sp-flops --baseline r20.spk 2>err >/dev/null && [ ! -s err ]'

# PNG images in a folder: stored as JPEG, and said so; with --size, raw, and silent
PY=$(find_python numpy PIL)
if [ -n "$PY" ]; then
    "$PY" "$ROOT/tests/tools/make_pack_inputs.py" folder tree
    sp-pack tree -o tree.spd 2>err
    check pack_png_as_jpeg_said grep -q "^sp-pack: warning: 1 PNG image stored as JPEG (quality 90), which loses a little; --size HxW stores raw pixels, without loss" err
    sp-pack tree --size 16x16 -o raw.spd 2>err
    check pack_png_raw_silent sh -c '! grep -q "PNG" err'
fi

# Every man page renders with its quotes closed one by one: no quote opens
# inside another (nested quoting macros pile the closing ones up at the end).
PY3=$(find_python re)
for page in "$ROOT"/man/man*/*; do
    n=$(basename "$page")
    MANWIDTH=80 man -l "$page" 2>/dev/null >page.txt
    out=$("$PY3" -c '
import sys
depth = 0
for ch in open(sys.argv[1], encoding="utf-8").read():
    depth += {"\u2018": 1, "\u2019": -1}.get(ch, 0)
    if depth not in (0, 1):
        sys.exit("quotes nest or close unopened")
print("ok" if depth == 0 else "a quote is left open")' page.txt 2>&1)
    if [ -s page.txt ] && [ "$out" = ok ]; then ok "man_quotes_$n"; else fail "man_quotes_$n" "$out"; fi
done
finish
