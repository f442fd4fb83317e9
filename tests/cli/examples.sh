#!/bin/sh
# Examples that finish: every example of README.md and of the man pages'
# EXAMPLES sections (extracted by tests/tools/examples.py) runs here, in
# document order, each document in a fresh copy of a small world
# (tests/tools/example_world.sh: small data under the examples' file names,
# and substitutes for sp-pack, sp-finetune, sp-train-mask and make that
# keep every example to seconds).  A shell example passes when it exits 0
# (bash -e -o pipefail), a Python one when it runs (skipped when a module it
# imports is not installed).  A block marked "example: not run (REASON)"
# in its document is reported as skipped with the reason.
. "$(dirname "$0")/lib.sh"
PY=$(find_python numpy PIL)
if [ -z "$PY" ]; then
    echo "ok examples: no python3 with numpy and PIL # SKIP"
    finish
fi
W=$T/world
export OMP_NUM_THREADS=1
if ! SP_BIN=$BIN ROOT=$ROOT SHARED=$SHARED PY=$PY sh "$ROOT/tests/tools/example_world.sh" "$W" \
        >"$T/world.log" 2>&1; then
    fail examples_world "$(tail -n 5 "$T/world.log")"
    finish
fi
"$PY" "$ROOT/tests/tools/examples.py" "$ROOT" "$T/ex"

for doc in "$T"/ex/*; do
    d=$(basename "$doc")
    run=$T/run/$d
    mkdir -p "$T/run" && cp -a "$W" "$run"
    for ex in "$doc"/*; do
        n=$(basename "$ex")
        name="example $d:${n%.*}"
        case "$ex" in
        *.skip) echo "ok $name # SKIP $(cat "$ex")"; continue ;;
        *.py) cmd="$PY $ex" ;;
        *) cmd="bash -e -o pipefail $ex" ;;
        esac
        if (cd "$run" && HOME=$run/home PATH=$run/bin:$BIN:/usr/bin:/bin timeout 120 $cmd) \
               >"$T/out" 2>&1; then
            ok "$name"
        elif missing=$(sed -n "s/^ModuleNotFoundError: No module named '\(.*\)'/\1/p" "$T/out") &&
             [ -n "$missing" ]; then
            echo "ok $name # SKIP needs the Python module $missing"
        else
            fail "$name" "$(head -n 2 "$ex" | tr '\n' ' ')-- $(tail -n 4 "$T/out")"
        fi
    done
    rm -rf "$run"
done

# Defaults that suit the job: a network fresh from sp-init is trained from
# scratch (learning rate 0.1, cosine), any other fine-tuned (0.001, step);
# --help says which applies.  The first step's learning rate is in the log.
first_lr() { sed -n 's/.*"step": 1, .*"lr": \([0-9.e-]*\),.*/\1/p' "$1"; }
cd "$W" || exit 1
sp-finetune --threads 1 --epochs 2 --batch 16 --data train.spd --log scratch.log r20.spk -o s.spk &&
    sp-finetune --threads 1 --epochs 2 --batch 16 --data train.spd --log tune.log s.spk -o t.spk ||
    fail defaults_run "sp-finetune failed"
lrs="$(first_lr scratch.log) $(first_lr tune.log)"
if [ "$lrs" = "0.1 0.001" ]; then ok defaults_scratch_then_finetune; else fail defaults_scratch_then_finetune "first learning rates $lrs"; fi
last=$(tail -n 2 scratch.log | sed -n 's/.*"step": 6, .*"lr": \([0-9.e-]*\),.*/\1/p')
check defaults_scratch_cosine "$PY" -c 'import sys; sys.exit(not 0 < float(sys.argv[1]) < 0.01)' "${last:-1}"
check defaults_given_wins sh -c 'sp-finetune --threads 1 --epochs 1 --batch 16 --lr 0.02 --data train.spd \
    --log given.log r20.spk -o g.spk && grep -q "\"step\": 1, .*\"lr\": 0.02," given.log'
check defaults_help sh -c 'sp-finetune --help | grep -q "default: 0.1 from scratch" &&
    sp-finetune --help | grep -q "a network fresh from sp-init"'
finish
