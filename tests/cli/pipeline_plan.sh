#!/bin/sh
# pipeline_plan.sh: what the pipelines would do, and the demo's own file:
#   - make -n of every pipeline shows the plan with the original's defaults
#     for its configuration (blocks, rate, pruning epochs and batch, recipe,
#     fine-tuning epochs, batch, learning rate, weight decay, schedule) and
#     writes nothing;
#   - help lists the targets and variables; a missing DATA is one sentence;
#   - demo.mk on a slice of Fashion-MNIST runs to its report.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/pipeline_lib.sh"
need_pipeline_tools || finish

# plan NAME "BLOCKS" RATE EPOCHS BATCH RECIPE FT_EPOCHS FT_BATCH SCHEDULE
plan() {
    _n=$1 _blocks=$2
    make --no-print-directory -n -f "$PIPES/$_n.mk" SP_BIN="$BIN" OUT="$T/$_n" \
        DATA="$T/data" BASE="$T/base.pth" >"$T/$_n.out" 2>&1 ||
        { fail "${_n}_plan" "$(tail -n 3 "$T/$_n.out")"; return; }
    _got=$(sed -n 's/^sp-train-mask --block \([0-9]*\) .*/\1/p' "$T/$_n.out" | tr '\n' ' ')
    _bad=""
    [ "$_got" = "$_blocks " ] || _bad="blocks $_got"
    _m=$(grep -c -- "^sp-train-mask .* --rate $3 --epochs $4 --batch $5 --recipe $6 " "$T/$_n.out")
    [ "$_m" -eq "$(echo $_blocks | wc -w)" ] || _bad="$_bad; $_m stages with --rate $3 --epochs $4"
    grep -q -- "^sp-finetune .*--epochs $7 --batch $8 --lr 0.001 --weight-decay 0.0001 --schedule $9 " \
        "$T/$_n.out" || _bad="$_bad; fine-tuning: $(grep '^sp-finetune' "$T/$_n.out" | head -c 200)"
    grep -q "^sp-import --arch " "$T/$_n.out" && grep -q "^sp-report " "$T/$_n.out" ||
        _bad="$_bad; no import or report"
    [ ! -e "$T/$_n" ] || _bad="$_bad; make -n wrote $(ls -A "$T/$_n" | tr '\n' ' ')"
    if [ -z "$_bad" ]; then ok "${_n}_plan"; else fail "${_n}_plan" "$_bad"; fi
}
plan vgg16_cifar10 "0 1 2 3 4 5 6 7 8 9 10 11 12" 0.3 3 12 vgg-cifar10 200 8 step
plan vgg16_cifar100 "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14" 0.4 3 12 vgg-cifar100 200 64 step
plan vgg16_imagenet "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14" 0.2 1 64 vgg-imagenet 200 64 step
plan resnet56_cifar10 "0 1 2" 0.4 8 12 resnet-cifar10 200 64 step
plan resnet56_cifar100 "0 1 2" 0.6 8 12 resnet-cifar100 200 128 step
plan resnet50_imagenet "0 1 2 3" 0.4 4 64 resnet50-imagenet 200 64 step
plan mobilenetv2_imagenet "1 2 3 4 5 6 7" 0.5 4 64 mobilenetv2 300 64 cosine

# ImageNet as the official tars: the validation archive with its labels and
# the training set's classes; the real networks at their own input size.
if grep -q "^sp-pack $T/data/ILSVRC2012_img_val.tar --labels-file $T/data/val_labels.txt --classes-from $T/vgg16_imagenet/classes.txt " \
    "$T/vgg16_imagenet.out" && grep -q "^sp-import --arch vgg16 $T/base.pth" "$T/vgg16_imagenet.out"
then ok pipeline_plan_imagenet_tars
else fail pipeline_plan_imagenet_tars "$(grep '^sp-pack\|^sp-import' "$T/vgg16_imagenet.out")"; fi

make --no-print-directory -f "$PIPES/resnet56_cifar10.mk" help >"$T/help" 2>&1 &&
    grep -q "RATE = 0.4" "$T/help" && grep -q "mask_2.spk" "$T/help" && ok pipeline_help ||
    fail pipeline_help "$(head -c 300 "$T/help")"

make --no-print-directory -f "$PIPES/resnet56_cifar10.mk" SP_BIN="$BIN" OUT="$T/nodata" \
    >"$T/nodata.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "^resnet56_cifar10: no training data at ''; set DATA" "$T/nodata.out" &&
    [ ! -e "$T/nodata/train.spd" ]
then ok pipeline_no_data
else fail pipeline_no_data "exit $rc: $(head -c 300 "$T/nodata.out")"; fi

# sp-report on a log that a killed and resumed stage wrote: the killed run's
# half line is skipped with a warning, its steps after the saved state give
# way to the resumed run's.
cat >"$T/stage.log" <<'END'
{"step": 1, "epoch": 1, "loss": 2.5, "accuracy": 10.0, "lr": 0.001, "images_per_s": 50.0}
{"step": 2, "epoch": 1, "loss": 2.4, "accuracy": 20.0, "lr": 0.001, "images_per_s": 50.0}
{"window": 2, "epoch": 1, "masks": [{"mask": "layer1.0.relu1.m.mask", "channels": 16, "kept": 9, "beta": 1, "lambda": 0.1, "two_side": 0.5}]}
{"step": 3, "epoch": 1, "loss": 9.9, "accuracy": 99.0, "lr": 0.001, "images_per_s": 50.0}
{"step": 4, "epoch": 1, "lo{"step": 3, "epoch": 1, "loss": 2.2, "accuracy": 30.0, "lr": 0.001, "images_per_s": 50.0}
{"step": 4, "epoch": 1, "loss": 2.1, "accuracy": 40.0, "lr": 0.001, "images_per_s": 50.0}
{"window": 4, "epoch": 1, "masks": [{"mask": "layer1.0.relu1.m.mask", "channels": 16, "kept": 7, "beta": 2, "lambda": 0.2, "two_side": 0.9}]}
{"epoch": 1, "step": 4, "val_loss": 1.9, "val_top1": 42.5, "val_top5": 90.0, "best_epoch": 1, "best_top1": 42.5}
END
if sp-report --stage "block 0=$T/stage.log" -o "$T/rep" 2>"$T/rep.err" &&
    grep -q "^sp-report: .*stage.log: skipped 1 line that is not JSON" "$T/rep.err" &&
    grep -q '^| block 0 | 1 | 7 of 16 | 1 of 1 | 42.50 | 90.00 |$' "$T/rep/report.md" &&
    [ "$(grep -c '<polyline' "$T/rep/curves-1.svg")" -gt 4 ] &&
    ! grep -q '>100<' "$T/rep/curves-1.svg"     # the dropped 99 % would stretch the axis
then ok pipeline_report_resumed_log
else fail pipeline_report_resumed_log "$(cat "$T/rep.err") $(grep '^| block' "$T/rep/report.md")"; fi
expect_error pipeline_report_needs_output 2 sp-report --stage "block 0=$T/stage.log"
expect_error pipeline_report_missing_input 1 sp-report --flops "$T/none.json" -o "$T/rep2"

# The demo's file, on 256 Fashion-MNIST images.
FM=/usr/share/datasets/fashion-mnist
if [ ! -d "$FM" ]; then
    echo "ok pipeline_demo: $FM missing # SKIP"
elif pipe demo LIMIT=256 VAL_LIMIT=128 PRUNE_LIMIT=128 BASE_EPOCHS=1 BASE_BATCH=32 EPOCHS=1 \
    BATCH=16 WINDOW=2 BETA_RANGE=2 FT_EPOCHS=1 FT_BATCH=32; then
    if grep -q "^sp-init --arch resnet20 --data [^ ]*/train.spd --input 1x28x28 " "$T/demo.out" &&
        grep -q -- "--sort layer" "$T/demo.out" && grep -q "^| top-1 accuracy, % |" "$T/demo.out" &&
        grep -q "^demo: report in $T/demo/report/report.html" "$T/demo.out"
    then ok pipeline_demo; else fail pipeline_demo "$(tail -n 5 "$T/demo.out")"; fi
    check_report demo "$T/demo" LIMIT=256 VAL_LIMIT=128 PRUNE_LIMIT=128 BASE_EPOCHS=1 \
        BASE_BATCH=32 EPOCHS=1 BATCH=16 WINDOW=2 BETA_RANGE=2 FT_EPOCHS=1 FT_BATCH=32
else
    fail pipeline_demo "$(tail -n 5 "$T/demo.out")"
fi
finish
