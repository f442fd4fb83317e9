#!/bin/sh
# device.sh: --device on a machine without a GPU (as CI's): cuda and cuda:N
# end with one sentence, auto falls back to the CPU with the CPU's result,
# and a CUDA plug-in whose libraries are missing at run time (simulated by
# one linked against a library that is then removed) is one sentence too.
. "$(dirname "$0")/lib.sh"

FM=/usr/share/datasets/fashion-mnist
if [ ! -d "$FM" ]; then
    echo "ok device: $FM missing, nothing to check # SKIP"
    finish
fi
sp-pack "$FM" --split test --size 8x8 -n 16 -o "$T/val.spd" 2>"$T/e" || fail pack "$(cat "$T/e")"
sp-init --arch resnet20 --input 1x8x8 --seed 4 -o "$T/net.spk" 2>"$T/e" || fail init "$(cat "$T/e")"
gpu=no
[ -e /dev/nvidiactl ] && sp-eval --data "$T/val.spd" --device cuda "$T/net.spk" >/dev/null 2>&1 &&
    gpu=yes

one_sentence() { # NAME PATTERN COMMAND...: exit 1, one stderr line matching
    name=$1 pat=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    if [ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "^sp-eval: .*$pat" "$T/err" &&
       [ ! -s "$T/out" ]; then ok "$name"
    else fail "$name" "exit $rc: $(head -c 300 "$T/err")"; fi
}

if [ $gpu = no ]; then
    one_sentence "device_cuda_without_gpu" "GPU\|CUDA" \
        sp-eval --data "$T/val.spd" --device cuda "$T/net.spk"
    one_sentence "device_cuda_n_without_gpu" "GPU\|CUDA" \
        sp-eval --data "$T/val.spd" --device cuda:1 "$T/net.spk"
else
    ok "device_cuda_without_gpu # SKIP a GPU is present"
    ok "device_cuda_n_without_gpu # SKIP a GPU is present"
fi
one_sentence "device_unknown" "unknown device 'gpu'" \
    sp-eval --data "$T/val.spd" --device gpu "$T/net.spk"
one_sentence "device_plugin_missing" "plug-in" \
    env SP_CUDA_PLUGIN="$T/none.so" sp-eval --data "$T/val.spd" --device cuda "$T/net.spk"

# A plug-in whose libraries are gone at run time.
printf 'int sp_fake_dep(void) { return 1; }\n' >"$T/dep.c"
printf 'int sp_fake_dep(void);\nint sp_fake_use(void) { return sp_fake_dep(); }\n' >"$T/plug.c"
if cc -shared -fPIC -o "$T/libspfakedep.so" "$T/dep.c" 2>/dev/null &&
   cc -shared -fPIC -o "$T/plug.so" "$T/plug.c" -L"$T" -lspfakedep 2>/dev/null; then
    rm -f "$T/libspfakedep.so"
    one_sentence "device_cuda_libraries_missing" "CUDA.*libraries.*libspfakedep" \
        env SP_CUDA_PLUGIN="$T/plug.so" sp-eval --data "$T/val.spd" --device cuda "$T/net.spk"
    # auto never needs them without a GPU
    if [ $gpu = no ] && SP_CUDA_PLUGIN="$T/plug.so" sp-eval --data "$T/val.spd" --device auto \
           --logits "$T/auto.npy" "$T/net.spk" >/dev/null 2>"$T/err" &&
       sp-eval --data "$T/val.spd" --device cpu --logits "$T/cpu.npy" "$T/net.spk" >/dev/null &&
       cmp -s "$T/auto.npy" "$T/cpu.npy"; then ok "device_auto_is_cpu_without_gpu"
    elif [ $gpu = yes ]; then ok "device_auto_is_cpu_without_gpu # SKIP a GPU is present"
    else fail "device_auto_is_cpu_without_gpu" "$(head -c 300 "$T/err")"; fi
else
    ok "device_cuda_libraries_missing # SKIP no C compiler"
fi
finish
