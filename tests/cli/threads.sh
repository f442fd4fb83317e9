#!/bin/sh
# threads.sh: a program that computes makes idle OpenMP threads sleep at
# once unless the user chose how they wait (cli_threads.c).  The OpenMP
# runtime's own report of its settings (OMP_DISPLAY_ENV) shows what it
# received; its arguments and standard input reach the restarted program.
# --verbose says the device, the threads and the wait policy chosen, and
# where they came from (cli_verbose.c); without it nothing more is said.
. "$(dirname "$0")/lib.sh"

for p in sp-eval sp-init sp-pack; do
    if [ ! -x "$BIN/$p" ]; then
        echo "ok threads: $p not built, nothing to check # SKIP"
        finish
    fi
done
FM=/usr/share/datasets/fashion-mnist
if [ ! -d "$FM" ]; then
    echo "ok threads: Fashion-MNIST missing, nothing to check # SKIP"
    finish
fi
sp-pack "$FM" --split test --size 8x8 -n 16 -o "$T/val.spd" 2>"$T/e" || fail pack "$(cat "$T/e")"
sp-init --arch resnet20 --input 1x8x8 --seed 2 -o "$T/net.spk" 2>"$T/e" || fail init "$(cat "$T/e")"

# policy NAME WANT ENV...: under ENV, sp-eval's idle threads spin WANT
# times before they sleep (0: they sleep at once; the runtime's own
# default is 300000)
policy() {
    name=$1 want=$2; shift 2
    env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$@" OMP_DISPLAY_ENV=verbose \
        "$BIN/sp-eval" --data "$T/val.spd" --threads 1 < "$T/net.spk" >"$T/out" 2>"$T/err"
    got=$(sed -n "s/^ *GOMP_SPINCOUNT = '\(.*\)'/\1/p" "$T/err")
    if [ -z "$got" ]; then
        echo "ok $name: the OpenMP runtime does not report its settings # SKIP"
    elif [ "$got" != "$want" ]; then fail "$name" "spin count $got, expected $want"
    elif ! grep -q "^top-1 .*(16 images)$" "$T/out"; then fail "$name" "$(cat "$T/out" "$T/err" | tail -n 3)"
    else ok "$name"; fi
}
policy threads_default_sleeps 0
policy threads_user_active 30000000000 OMP_WAIT_POLICY=active
policy threads_user_spincount 100000 GOMP_SPINCOUNT=100000

# said NAME OPTIONS LINE ENV...: sp-eval --verbose OPTIONS under ENV (and
# none of the variables that choose threads or their wait) prints its
# result and, on stderr, four lines, LINE among them
said() {
    name=$1 opts=$2 want=$3; shift 3
    env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u OMP_NUM_THREADS -u ONEDNN_MAX_CPU_ISA "$@" \
        "$BIN/sp-eval" --verbose $opts --data "$T/val.spd" "$T/net.spk" >"$T/out" 2>"$T/err"
    if ! grep -q "^top-1 .*(16 images)$" "$T/out"; then fail "$name" "$(cat "$T/out" "$T/err" | tail -n 3)"
    elif [ "$(wc -l <"$T/err")" -ne 4 ]; then fail "$name" "stderr: $(cat "$T/err")"
    elif ! grep -qxF "sp-eval: $want" "$T/err"; then fail "$name" "no '$want' in: $(cat "$T/err")"
    else ok "$name"; fi
}
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
said verbose_threads_default "" "compute threads: $cores (all the cores this process may use)"
said verbose_threads_env "" "compute threads: 1 (from OMP_NUM_THREADS)" OMP_NUM_THREADS=1
said verbose_threads_option "--threads 3" "compute threads: 3 (from --threads)" OMP_NUM_THREADS=1
said verbose_wait_own "" "idle threads: sleep at once (OMP_WAIT_POLICY=passive, set by sp)"
said verbose_wait_user "" "idle threads: OMP_WAIT_POLICY=active (from the environment)" \
    OMP_WAIT_POLICY=active
said verbose_wait_user_passive "" \
    "idle threads: OMP_WAIT_POLICY=passive (from the environment)" OMP_WAIT_POLICY=passive
said verbose_spincount "" "idle threads: GOMP_SPINCOUNT=100000 (from the environment)" \
    GOMP_SPINCOUNT=100000
said verbose_device_ref "--device ref" "device: ref (the reference, plain C)"
# the reference has no channels-last operations; resnet20 has 19 batch norms
said verbose_order_ref "--device ref" "activations: NCHW; 19 batch norms folded"
# on the CPU the order is oneDNN's choice on this machine: either, stated
# in full (every one of resnet20's 9 sums inside its convolution: the
# graph computes each shortcut before the branch it is added to)
"$BIN/sp-eval" --verbose --device cpu --data "$T/val.spd" "$T/net.spk" >"$T/out" 2>"$T/err"
nchw='NCHW; 19 batch norms folded'
nhwc='channels-last between convolutions; 19 batch norms folded, 9 of 9 residual sums inside convolutions'
if grep -qxE "sp-eval: activations: ($nchw|$nhwc)" "$T/err"; then ok verbose_order_cpu
else fail verbose_order_cpu "$(grep activations "$T/err")"; fi
if [ "$(uname -m)" = x86_64 ]; then
    said verbose_isa "--device cpu" "device: cpu (oneDNN, instruction set SSE4.1)" \
        ONEDNN_MAX_CPU_ISA=SSE41
else
    echo "ok verbose_isa: not an x86-64 machine # SKIP"
fi

# Without --verbose: the result and nothing on stderr.
env -u OMP_WAIT_POLICY "$BIN/sp-eval" --data "$T/val.spd" "$T/net.spk" >"$T/out" 2>"$T/err"
if grep -q "^top-1 " "$T/out" && [ ! -s "$T/err" ]; then ok verbose_off
else fail verbose_off "$(cat "$T/out" "$T/err" | head -n 4)"; fi

# The training programs say it too, once, before their first epoch.
env -u OMP_WAIT_POLICY OMP_NUM_THREADS=1 "$BIN/sp-finetune" --verbose --data "$T/val.spd" \
    --epochs 1 --batch 8 "$T/net.spk" -o "$T/ft.spk" 2>"$T/err"
if [ "$(grep -c "^sp-finetune: device: " "$T/err")" = 1 ] &&
   grep -qxF "sp-finetune: compute threads: 1 (from OMP_NUM_THREADS)" "$T/err" &&
   [ "$(grep -c "^sp-finetune: idle threads: " "$T/err")" = 1 ] &&
   grep -qxE "sp-finetune: activations: (NCHW|channels-last between convolutions); 10 of 19 batch norm outputs recomputed in the backward pass; 19 of 19 batch norms also run the sum or activation after them" \
       "$T/err"; then ok verbose_finetune
else fail verbose_finetune "$(head -n 4 "$T/err")"; fi
finish
