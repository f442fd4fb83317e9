#!/bin/sh
# threads.sh: a program that computes makes idle OpenMP threads sleep at
# once unless the user chose how they wait (cli_threads.c).  The OpenMP
# runtime's own report of its settings (OMP_DISPLAY_ENV) shows what it
# received; its arguments and standard input reach the restarted program.
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
finish
