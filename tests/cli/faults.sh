#!/bin/sh
# faults.sh: the fault matrix.  Long programs killed with SIGKILL at several
# points, a full disk (ulimit -f), a read-only output folder, a reader that
# goes away (EPIPE) and a NaN planted in a weight (sp-compress too, but for
# the kill: it finishes in a moment); each time nothing is lost, nothing
# partial appears under a final name, and a failure is one sentence.  A killed run's temporary is removed by the next run.
. "$(dirname "$0")/lib.sh"
FM=/usr/share/datasets/fashion-mnist
if [ ! -d "$FM" ]; then
    echo "ok faults: $FM missing, nothing to check # SKIP"
    finish
fi
export OMP_NUM_THREADS=1
cd "$T" || exit 1
sp-pack "$FM" --split train --size 8x8 -n 64 -o train.spd 2>e || fail pack "$(cat e)"
sp-pack "$FM" --split test --size 8x8 -n 32 -o val.spd 2>e || fail pack "$(cat e)"
sp-init --arch resnet20 --input 1x8x8 --seed 4 -o net.spk 2>e || fail init "$(cat e)"
net_sum=$(cksum <net.spk)
# a stage's output for sp-compress: block 1's channels chosen by L1
sp-select --by l1 --block 1 --rate 0.5 -o stage.spk net.spk 2>e || fail select "$(cat e)"

# the long programs as commands (so that another user can run them too);
# each writes -o FILE from $NET (default net.spk)
mkdir wrap
cat >wrap/finetune <<EOS
#!/bin/sh
exec sp-finetune --data train.spd --val val.spd --epochs 2 --batch 8 --threads 1 \\
    --save-every 2 "\$@" "\${NET:-net.spk}"
EOS
cat >wrap/train_mask <<EOS
#!/bin/sh
exec sp-train-mask --block 1 --data train.spd --val val.spd --epochs 2 --batch 8 --window 4 \\
    --beta-range 5 --rate 0.5 --lr 0.01 --seed 3 --save-every 3 "\$@" "\${NET:-net.spk}"
EOS
cat >wrap/pack <<EOS
#!/bin/sh
exec sp-pack "$FM" --split train --size 16x16 -n 20000 "\$@"
EOS
cat >wrap/compress <<EOS
#!/bin/sh
exec sp-compress "\$@" "\${STAGE:-stage.spk}"
EOS
cat >wrap/evaluate <<EOS
#!/bin/sh
[ "\$1" = -o ] && set -- --logits "\$2"
exec sp-eval --data val.spd "\$@" "\${NET:-net.spk}"
EOS
chmod 755 wrap wrap/*
PATH=$T/wrap:$PATH
valid() { sp-inspect "$1" >/dev/null 2>&1; }
# one_line NAME FILE PATTERN: FILE is one line that matches PATTERN
one_line() {
    if [ "$(wc -l <"$2")" -eq 1 ] && grep -q "$3" "$2"; then ok "$1"
    else fail "$1" "$(head -c 300 "$2")"; fi
}
# no_temporary NAME: no *.tmp-* file left in the folder
no_temporary() {
    left=$(ls | grep '\.tmp-' | head -n 3)
    if [ -z "$left" ]; then ok "$1"; else fail "$1" "left: $left"; fi
}

# 1. SIGKILL at several points: the final name holds a whole file or
# nothing; the next run (resuming where it can) finishes and leaves no
# temporary behind
for prog in finetune train_mask pack; do
    for at in 0.15 0.5; do
        rm -f out.*
        $prog -o out.x 2>/dev/null & pid=$!
        sleep $at; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
        if [ ! -e out.x ] || valid out.x; then ok "kill-$prog-$at-nothing-partial"
        else fail "kill-$prog-$at-nothing-partial" "out.x is damaged"; fi
        case $prog in pack) again="" ;; *) again=--resume ;; esac
        if $prog $again -o out.x 2>e && valid out.x; then ok "kill-$prog-$at-rerun-finishes"
        else fail "kill-$prog-$at-rerun-finishes" "$(head -c 300 e)"; fi
        no_temporary "kill-$prog-$at-no-temporary"
    done
done
check kill-input-kept test "$(cksum <net.spk)" = "$net_sum"
rm -f out.*

# 2. a full disk: one sentence saying why, nothing under the final name,
# no temporary
for prog in finetune train_mask pack compress; do
    (ulimit -f 64; $prog -o full.x 2>e) </dev/null
    check "full-$prog-fails" test $? -ne 0
    one_line "full-$prog-says-why" e "cannot write.*File too large"
    check "full-$prog-nothing-partial" test ! -e full.x
    no_temporary "full-$prog-no-temporary"
done

# 3. a read-only output folder (as root, the run drops to nobody): refused
# before any work, naming the output
mkdir ro && chmod 555 ro && chmod 755 "$T" && chmod 644 *.spd *.spk
as=""
[ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
    as="setpriv --reuid=65534 --regid=65534 --clear-groups"
for prog in finetune train_mask pack compress; do
    $as env PATH="$PATH" $prog -o ro/x 2>e
    check "readonly-$prog-fails" test $? -ne 0
    one_line "readonly-$prog-names-output" e "cannot .* 'ro/x': Permission denied"
done
chmod 700 "$T"

# 4. the reader goes away: a quiet failure, nothing on stderr
for cmd in "sp-export --format onnx net.spk" "sp-import $FIX/interop/resnet20.pth" \
           "sp-pack $FM --split test --size 8x8 -n 2000"; do
    name=epipe-$(echo "$cmd" | cut -d' ' -f1)
    rc=$( { $cmd 2>e; echo $? >rc; } | head -c 1 >/dev/null; cat rc)
    if [ "$rc" -ne 0 ] && [ ! -s e ]; then ok "$name"; else fail "$name" "exit $rc: $(head -c 200 e)"; fi
done

# 5. a NaN planted in a weight: every program that reads the network stops
# with one sentence naming the tensor
PY=$(find_python zlib)
if [ -n "$PY" ]; then
    $PY "$ROOT/tests/tools/poison.py" net.spk nan.spk layer1.0.conv2.weight
    for prog in evaluate finetune train_mask; do
        NET=nan.spk $prog -o nan.out >/dev/null 2>e
        check "nan-$prog-fails" test $? -eq 1
        one_line "nan-$prog-names-tensor" e "element 0 of tensor 'layer1.0.conv2.weight' is not a number"
        check "nan-$prog-nothing-written" test ! -e nan.out
    done
    $PY "$ROOT/tests/tools/poison.py" stage.spk nanstage.spk layer1.0.conv2.weight
    STAGE=nanstage.spk compress -o nan.out >/dev/null 2>e
    check nan-compress-fails test $? -eq 1
    one_line nan-compress-names-tensor e "element 0 of tensor 'layer1.0.conv2.weight' is not a number"
    check nan-compress-nothing-written test ! -e nan.out
fi
finish
