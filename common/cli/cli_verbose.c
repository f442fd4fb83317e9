/* cli_verbose.c: --verbose, what a program that runs a network chose to
 * compute with (see cli.h).  The choices are made elsewhere (the device in
 * common/backend, the threads and their idle policy in cli_threads.c);
 * this file only says them, and for the CPU asks oneDNN which
 * instruction set it uses on this machine (ONEDNN_MAX_CPU_ISA may cap it). */
#include <dnnl.h>
#include <omp.h>
#include <string.h>
#include "sp/backend.h"
#include "sp/cli.h"
#include "sp/exec.h"
#include "cli_priv.h"

static const char *isa_name(dnnl_cpu_isa_t isa)
{
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "SSE4.1";
    case dnnl_cpu_isa_avx: return "AVX";
    case dnnl_cpu_isa_avx2: return "AVX2";
    case dnnl_cpu_isa_avx2_vnni: return "AVX2 with VNNI";
    case dnnl_cpu_isa_avx512_mic: return "AVX-512 (Xeon Phi)";
    case dnnl_cpu_isa_avx512_mic_4ops: return "AVX-512 (Xeon Phi, 4FMAPS)";
    case dnnl_cpu_isa_avx512_core: return "AVX-512";
    case dnnl_cpu_isa_avx512_core_vnni: return "AVX-512 with VNNI";
    case dnnl_cpu_isa_avx512_core_bf16: return "AVX-512 with VNNI and BF16";
    case dnnl_cpu_isa_avx512_core_amx: return "AVX-512 with AMX";
    default: return "no vector extension it knows";
    }
}

void sp_cli_verbose(const char *device)
{
    char dev[32], from[128], wait[160];
    const char *d = sp_backend_device(device, dev, sizeof dev);
    if (d && strcmp(d, "cpu") == 0)
        sp_info("device: cpu (oneDNN, instruction set %s)",
                isa_name(dnnl_get_effective_cpu_isa()));
    else if (d && strcmp(d, "ref") == 0)
        sp_info("device: ref (the reference, plain C)");
    else
        sp_info("device: %s", d ? d : device);
    sp_cli_threads_origin(from, sizeof from);
    int n = omp_get_max_threads();
    sp_info("compute threads: %d (%s)", n, from);
    sp_cli_wait_policy(wait, sizeof wait);
    sp_info("idle threads: %s", wait);
}

void sp_cli_verbose_exec(void *ctx, const sp_exec *e)
{
    (void)ctx;
    sp_info("activations: %s", sp_exec_describe(e));
}
