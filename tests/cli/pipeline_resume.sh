#!/bin/sh
# pipeline_resume.sh: resnet56_cifar10 from the published ResNet-56 on a
# tiny CIFAR-10 archive, run again and again:
#   - one stage by its file builds that stage and what it needs, nothing more;
#   - make killed with SIGKILL in the middle of block 1's stage, then run
#     again, continues that stage from its saved step (not the stages before
#     it) and ends with the same files, byte for byte, as an uninterrupted run;
#   - RATE changed reruns exactly the pruning stages, the fine-tuning and the
#     report (make -n says so first), not the packing nor the import; the same
#     RATE again runs nothing; FT_EPOCHS changed reruns only the fine-tuning
#     and the report;
#   - a stage that fails leaves no file behind and stops make.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/pipeline_lib.sh"
need_pipeline_tools || finish
PY=$(find_python numpy)
R56=$SHARED/data/pretrained/resnet56-cifar10-akamaster.th
if [ -z "$PY" ] || [ ! -f "$R56" ]; then
    echo "ok pipeline_resume: no python3 with numpy, or no $R56 # SKIP"
    finish
fi
if ! command -v setsid >/dev/null 2>&1; then
    echo "ok pipeline_resume: no setsid to kill make with its children # SKIP"
    finish
fi
$PY "$ROOT/tests/tools/make_pack_inputs.py" cifar10 "$T/c10.tar.gz" 8 || fail fixture cifar10
# 40 training images, 5 steps per stage, a resume state after every step
set -- DATA="$T/c10.tar.gz" BASE="$R56" EPOCHS=1 BATCH=8 WINDOW=2 BETA_RANGE=2 FT_EPOCHS=1 \
    FT_BATCH=8 SAVE_EVERY=1
NAME=resnet56_cifar10
X=$T/$NAME

# The uninterrupted run, kept as a.
if pipe $NAME "$@"; then ok pipeline_uninterrupted
else fail pipeline_uninterrupted "$(tail -n 5 "$T/$NAME.out")"; fi
mv "$X" "$T/a"

# One stage by its file.
pipe $NAME "$@" "$X/pruned_0.spk"
if [ -s "$X/pruned_0.spk" ] && [ -s "$X/mask_0.spk" ] && [ ! -e "$X/mask_1.spk" ] &&
    [ ! -e "$X/final.spk" ] && [ "$(commands $NAME | tr '\n' ' ')" = \
    "sp-import sp-pack sp-pack sp-train-mask sp-compress " ]
then ok pipeline_single_stage
else fail pipeline_single_stage "$(commands $NAME | tr '\n' ' ')"; fi

# The rest, killed as soon as block 1's stage has saved a state.
setsid make --no-print-directory -f "$PIPES/$NAME.mk" SP_BIN="$BIN" OUT="$X" JOBS=1 "$@" \
    >"$T/killed.out" 2>&1 &
pid=$!
i=0
while [ ! -e "$X/mask_1.spk.resume" ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i + 1)); done
kill -9 -$pid 2>/dev/null; killed=$?   # the process group: make and its stage
wait $pid 2>/dev/null
if [ $killed -ne 0 ] || [ -e "$X/mask_1.spk" ] || [ ! -e "$X/mask_1.spk.resume" ]; then
    fail pipeline_killed "the stage ended before it could be killed: $(tail -n 3 "$T/killed.out")"
else
    ok pipeline_killed
    saved=$(head -c 65536 "$X/mask_1.spk.resume" | tr -c '[:print:]' '\n' |
        sed -n 's/.*"resume.position":"0 \([0-9]*\) .*/\1/p' | head -n 1)
    logged=$(wc -c <"$X/mask_1.log")
    if pipe $NAME "$@"; then ok pipeline_resumed
    else fail pipeline_resumed "$(tail -n 5 "$T/$NAME.out")"; fi
    # the rerun started at block 1, and block 1 at the step after its state
    first=$(commands $NAME | head -n 1)
    again=$(tail -c +$((logged + 1)) "$X/mask_1.log" | head -n 1 |
        sed 's/^{"time": "[^"]*", "elapsed_s": [0-9.]*, /{/')
    if [ "$first" = sp-train-mask ] && ! grep -q -- "--block 0\|sp-pack\|sp-import" "$T/$NAME.out" &&
        grep -q -- "--block 1 " "$T/$NAME.out" && [ -n "$saved" ] &&
        case "$again" in "{\"step\": $((saved + 1)),"* | "{\"window\": $((saved + 1)),"*) true ;;
        *) false ;; esac
    then ok pipeline_resumed_in_stage
    else fail pipeline_resumed_in_stage "saved $saved, first $first, then: $again"; fi
    diff=""
    for f in train.spd val.spd base.spk mask_0.spk pruned_0.spk mask_1.spk pruned_1.spk \
        mask_2.spk pruned_2.spk final.spk flops.json base.blocks.json final.blocks.json; do
        cmp -s "$T/a/$f" "$X/$f" || diff="$diff $f"
    done
    for f in base.eval.json final.eval.json; do   # all but the time it took
        [ "$(sed 's/, "seconds".*//' "$T/a/$f")" = "$(sed 's/, "seconds".*//' "$X/$f")" ] ||
            diff="$diff $f"
    done
    leftover=$(cd "$X" && ls | grep -E '\.resume|\.tmp' || true)
    if [ -z "$diff$leftover" ]; then ok pipeline_resumed_same_files
    else fail pipeline_resumed_same_files "differ:$diff; left behind: $leftover"; fi
fi

# RATE: the plan, the run, then nothing left to do.
make --no-print-directory -n -f "$PIPES/$NAME.mk" SP_BIN="$BIN" OUT="$X" JOBS=1 "$@" RATE=0.5 \
    >"$T/plan.out" 2>&1
plan=$(commands plan | sort | uniq -c | tr -s ' ' | tr '\n' ';')
want=" 3 sp-compress; 1 sp-eval; 1 sp-finetune; 1 sp-flops; 1 sp-inspect; 1 sp-report; 3 sp-train-mask;"
[ "$plan" = "$want" ] && ok pipeline_rate_plan || fail pipeline_rate_plan "$plan"
pipe $NAME "$@" RATE=0.5 || fail pipeline_rate_run "$(tail -n 5 "$T/$NAME.out")"
ran=$(commands $NAME | sort | uniq -c | tr -s ' ' | tr '\n' ';')
if [ "$ran" = "$want" ] && grep -q -- "--rate 0.5" "$T/$NAME.out" &&
    ! cmp -s "$T/a/pruned_2.spk" "$X/pruned_2.spk" && cmp -s "$T/a/base.spk" "$X/base.spk"
then ok pipeline_rate_reruns_its_stages
else fail pipeline_rate_reruns_its_stages "$ran"; fi
pipe $NAME "$@" RATE=0.5
[ -z "$(commands $NAME)" ] && ok pipeline_rate_nothing_left ||
    fail pipeline_rate_nothing_left "$(commands $NAME | tr '\n' ' ')"
make --no-print-directory -q -f "$PIPES/$NAME.mk" SP_BIN="$BIN" OUT="$X" JOBS=1 "$@" RATE=0.4 \
    "$X/final.spk" && fail pipeline_rate_back "the files of RATE=0.5 pass for RATE=0.4" ||
    ok pipeline_rate_back

pipe $NAME "$@" RATE=0.5 FT_EPOCHS=2
ran=$(commands $NAME | sort | tr '\n' ' ')
[ "$ran" = "sp-eval sp-finetune sp-flops sp-inspect sp-report " ] && ok pipeline_ft_epochs ||
    fail pipeline_ft_epochs "$ran"

# A failing stage: no file, make stops with the program's sentence.
pipe $NAME "$@" OUT="$T/f" BLOCKS=0 WINDOW=50
rc=$?
if [ $rc -ne 0 ] && [ ! -e "$T/f/mask_0.spk" ] && [ ! -e "$T/f/pruned_0.spk" ] &&
    grep -q "^sp-train-mask: .*window" "$T/$NAME.out"
then ok pipeline_failed_stage
else fail pipeline_failed_stage "exit $rc: $(tail -n 3 "$T/$NAME.out")"; fi
finish
