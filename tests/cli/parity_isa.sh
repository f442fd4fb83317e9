#!/bin/sh
# parity_isa.sh: the CPU backend's parity suite again with oneDNN limited
# to AVX2 and to AVX-512, so that more than one of its code paths (layouts,
# kernels) is checked against the reference on any x86-64 machine, and with
# one thread, which changes how the work is split.
. "$(dirname "$0")/lib.sh"
build=${SP_BUILD:-$ROOT/build}
for isa in AVX2 AVX512_CORE; do
    if ONEDNN_MAX_CPU_ISA=$isa "$build/tests/test_cpu_parity" >"$T/out" 2>&1; then
        ok "cpu parity with ONEDNN_MAX_CPU_ISA=$isa ($(grep -c '^ok ' "$T/out") checks)"
    else
        fail "cpu parity with ONEDNN_MAX_CPU_ISA=$isa" "$(grep '^not ok' "$T/out" | head -n 3)"
    fi
done
if OMP_NUM_THREADS=1 "$build/tests/test_cpu_parity" >"$T/out" 2>&1; then
    ok "cpu parity with OMP_NUM_THREADS=1"
else
    fail "cpu parity with OMP_NUM_THREADS=1" "$(grep '^not ok' "$T/out" | head -n 3)"
fi
finish
