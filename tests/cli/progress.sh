#!/bin/sh
# Progress where long work happens: sp-eval draws a bar on a terminal (and
# sp-finetune one for its validation) and nothing on a pipe; --log records
# carry the time, the elapsed seconds and, per epoch, the mean training
# loss (checked against the steps' losses); sp-finetune runs without --val.
. "$(dirname "$0")/lib.sh"
PY=$(find_python numpy)
FM=/usr/share/datasets/fashion-mnist
cd "$T" || exit 1

sp-pack "$FM" --split train --limit 256 -o train.spd 2>err && sp-pack "$FM" --split test --limit 128 -o test.spd 2>>err &&
    sp-init --arch resnet20 --data train.spd -o r20.spk 2>>err || fail setup "$(cat err)"

# on_tty FILE COMMAND: COMMAND on a pseudo-terminal, its output in FILE
on_tty() { timeout 120 script -qec "$2" /dev/null </dev/null | tr -d '\r' >"$1"; }

if command -v script >/dev/null 2>&1; then
    on_tty eval.tty "sp-eval --threads 1 --batch 16 --data test.spd r20.spk"
    check eval_bar_on_tty grep -q "sp-eval: evaluate \[.*\] 8/8" eval.tty
    check eval_bar_erased sh -c 'grep -q "$(printf "\033\\[K")top-1" eval.tty'
    on_tty ft.tty "sp-finetune --threads 1 --epochs 1 --batch 64 --augment none --data train.spd --val test.spd r20.spk -o tty.spk"
    check finetune_validation_bar grep -q "sp-finetune: evaluate \[" ft.tty
    check finetune_epoch_line grep -q "sp-finetune: epoch 1/1: train loss [0-9.]*, val top-1" ft.tty
else
    echo "ok progress_tty: script(1) missing # SKIP"
fi
check eval_quiet_on_pipe sh -c 'sp-eval --threads 1 --data test.spd r20.spk 2>e | grep -q "^top-1" && [ ! -s e ]'

# --log: the time fields on every record, the epoch's mean training loss.
check finetune_log sp-finetune --threads 1 --epochs 2 --batch 64 --augment none --lr 0.05 \
    --data train.spd --val test.spd --log ft.log r20.spk -o ft.spk
if [ -n "$PY" ]; then
    py_check "" log_fields '
import json, re
recs = [json.loads(l) for l in open(sys.argv[1])]
steps = [r for r in recs if "loss" in r]
epochs = [r for r in recs if "train_loss" in r]
assert len(steps) == 8 and len(epochs) == 2, (len(steps), len(epochs))
for r in recs:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["time"]), r
    assert r["elapsed_s"] >= 0
assert all(a["elapsed_s"] <= b["elapsed_s"] for a, b in zip(recs, recs[1:]))
for e in epochs:
    mean = np.mean([s["loss"] for s in steps if s["epoch"] == e["epoch"]])
    assert abs(mean - e["train_loss"]) < 1e-5, (mean, e["train_loss"])
    assert "val_top1" in e
print("ok")' ft.log
fi

# Without --val: trains, keeps the last epoch, logs no validation.
check finetune_no_val sp-finetune --threads 1 --epochs 1 --batch 64 --augment none \
    --data train.spd --log nv.log r20.spk -o nv.spk
check finetune_no_val_log sh -c 'grep -q "\"train_loss\"" nv.log && ! grep -q "val_top1" nv.log'
check finetune_no_val_meta sh -c 'sp-inspect nv.spk | grep -q "train.epochs = 1" &&
    ! sp-inspect nv.spk | grep -q "train.best_top1"'
check finetune_no_val_evaluates sh -c 'sp-eval --data test.spd nv.spk | grep -q "^top-1"'
expect_error finetune_no_data 2 sp-finetune --val test.spd r20.spk
finish
