#!/bin/sh
# finetune.sh: sp-finetune on a tiny real dataset (Fashion-MNIST records
# shrunk to 8x8) and a tiny resnet20, on the reference backend:
#   - a run killed with SIGKILL in the middle of an epoch and continued
#     with --resume writes exactly the bytes of an uninterrupted run;
#   - the output records its training;
#   - bad input (class count, NaN loss, usage) fails with one sentence and
#     leaves no output behind.
. "$(dirname "$0")/lib.sh"

FM=/usr/share/datasets/fashion-mnist
for p in sp-finetune sp-pack sp-init; do
    if [ ! -x "$BIN/$p" ]; then
        echo "ok finetune: $p not built, nothing to check # SKIP"
        finish
    fi
done
if [ ! -d "$FM" ]; then
    echo "ok finetune: $FM missing, nothing to check # SKIP"
    finish
fi

sp-pack "$FM" --split train --size 8x8 -n 64 -o "$T/train.spd" 2>"$T/e" || fail pack "$(cat "$T/e")"
sp-pack "$FM" --split test --size 8x8 -n 32 -o "$T/val.spd" 2>"$T/e" || fail pack "$(cat "$T/e")"
sp-init --arch resnet20 --input 1x8x8 --seed 4 -o "$T/net.spk" 2>"$T/e" || fail init "$(cat "$T/e")"
sp-init --arch resnet20 --input 1x8x8 --classes 7 -o "$T/net7.spk" 2>"$T/e" || fail init "$(cat "$T/e")"

# 8 steps per epoch, 2 epochs; the state is saved every 2 steps.
train() { # train OUT [extra options]
    out=$1; shift
    sp-finetune --data "$T/train.spd" --val "$T/val.spd" --epochs 2 --batch 8 --lr 0.05 \
        --schedule cosine --augment cifar --seed 9 --device ref --save-every 2 \
        "$@" -o "$out" "$T/net.spk"
}

check "finetune_uninterrupted" train "$T/a.spk" --log "$T/a.log"
if [ -e "$T/a.spk.resume" ]; then fail "finetune_state_removed" "a.spk.resume left behind"
else ok "finetune_state_removed"; fi
if [ "$(grep -c '"val_top1"' "$T/a.log")" -eq 2 ] && [ "$(grep -c '"images_per_s"' "$T/a.log")" -eq 16 ]
then ok "finetune_log_lines"; else fail "finetune_log_lines" "$(head -c 300 "$T/a.log")"; fi

# Kill the second run as soon as a mid-epoch state exists (steps 2 to 7).
train "$T/b.spk" --log "$T/b.log" 2>"$T/b.err" &
pid=$!
i=0
while [ ! -e "$T/b.spk.resume" ] && [ $i -lt 600 ]; do sleep 0.02; i=$((i + 1)); done
kill -9 $pid 2>/dev/null; killed=$?
wait $pid 2>/dev/null
if [ $killed -ne 0 ] || [ -e "$T/b.spk" ]; then
    fail "finetune_killed_mid_epoch" "the run ended before it could be killed"
elif ! grep -q '"resume.position":"0 ' "$T/b.spk.resume"; then
    fail "finetune_killed_mid_epoch" "the state is not in the first epoch"
else
    ok "finetune_killed_mid_epoch"
    saved=$(head -c 65536 "$T/b.spk.resume" | tr -c '[:print:]' '\n' |
        sed -n 's/.*"resume.position":"0 \([0-9]*\) .*/\1/p' | head -n 1)
    check "finetune_resume" train "$T/b.spk" --log "$T/b.log" --resume
    check "finetune_resume_same_bytes" cmp "$T/a.spk" "$T/b.spk"
    # the continued run started after the saved step, not from scratch
    first=$(grep -n "\"step\": $((saved + 1))," "$T/b.log" | tail -n 1 | cut -d: -f1)
    ones=$(grep -c '"step": 1,' "$T/b.log")
    if [ -n "$first" ] && [ "$ones" -eq 1 ]; then ok "finetune_resume_continued"
    else fail "finetune_resume_continued" "saved step $saved; log: $(head -c 200 "$T/b.log")"; fi
fi

# The output says how it was trained.
if grep -q '"train.best_epoch":"[12]"' "$T/a.spk" && grep -q '"augment":"cifar"' "$T/a.spk"
then ok "finetune_metadata"; else fail "finetune_metadata" "no training record in the header"; fi

expect_error "finetune_class_mismatch" 1 sp-finetune --data "$T/train.spd" --val "$T/val.spd" \
    --epochs 1 --device ref -o "$T/c.spk" "$T/net7.spk"
grep -q "10 classes but the network has 7 outputs" "$T/.err" && [ ! -e "$T/c.spk" ] &&
    ok "finetune_class_mismatch_message" ||
    fail "finetune_class_mismatch_message" "$(cat "$T/.err")"

expect_error "finetune_nan_loss" 1 sp-finetune --data "$T/train.spd" --val "$T/val.spd" \
    --epochs 4 --batch 8 --lr 1000 --momentum 0 --device ref -o "$T/n.spk" "$T/net.spk"
if grep -q "loss became \(NaN\|infinite\)" "$T/.err" && [ ! -e "$T/n.spk" ] &&
    [ -e "$T/n.spk.resume" ]; then
    ok "finetune_nan_message"
else fail "finetune_nan_message" "$(cat "$T/.err")"; fi

expect_error "finetune_needs_data" 2 sp-finetune --val "$T/train.spd" "$T/net.spk"
expect_error "finetune_resume_needs_output" 2 sp-finetune --data "$T/train.spd" \
    --val "$T/val.spd" --resume "$T/net.spk"
expect_error "finetune_bad_schedule" 2 sp-finetune --data "$T/train.spd" --val "$T/val.spd" \
    --schedule linear "$T/net.spk"
check "finetune_help" sp-finetune --help
finish
