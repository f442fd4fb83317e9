#!/bin/sh
# parity_isa.sh: the CPU backend's parity suite, its channels-last
# operations, the fused inference executor and channels-last training again with oneDNN limited to
# AVX2 and to AVX-512, so that more than one of its code paths (layouts,
# kernels, the executor's choice of activation order) is checked against
# the reference on any x86-64 machine, and the parity suite with one
# thread, which changes how the work is split.
. "$(dirname "$0")/lib.sh"
build=${SP_BUILD:-$ROOT/build}
# check ISA TEST [ARGS...]
check() {
    isa=$1
    shift
    if ONEDNN_MAX_CPU_ISA=$isa "$build/tests/$@" >"$T/out" 2>&1; then
        ok "$* with ONEDNN_MAX_CPU_ISA=$isa ($(grep -c '^ok ' "$T/out") checks)"
    else
        fail "$* with ONEDNN_MAX_CPU_ISA=$isa" "$(grep '^not ok' "$T/out" | head -n 3)"
    fi
}
for isa in AVX2 AVX512_CORE; do
    check "$isa" test_cpu_parity
    check "$isa" test_cpu_nhwc
done
# the executor's choice of order; on AVX-512 the plain run checks it
check AVX2 test_exec_fold cpu
# channels-last training on AVX2's kernels (the test forces the order)
check AVX2 test_exec_train_order
if OMP_NUM_THREADS=1 "$build/tests/test_cpu_parity" >"$T/out" 2>&1; then
    ok "cpu parity with OMP_NUM_THREADS=1"
else
    fail "cpu parity with OMP_NUM_THREADS=1" "$(grep '^not ok' "$T/out" | head -n 3)"
fi
finish
