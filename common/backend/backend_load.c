/* backend_load.c: the CUDA backend as a plug-in.
 *
 * libsp-cuda.so is the only object that links the CUDA libraries; the
 * programs open it with dlopen the first time a GPU is asked for, so they
 * run on machines without those libraries, and asking for a GPU there is
 * one sentence.  It is looked for at $SP_CUDA_PLUGIN when that is set,
 * else beside the build (SP_PLUGIN_DIRS, from the Makefile), else in
 * ../lib/sp next to the running program (an installed copy). */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sp/base.h"
#include "backend_load_priv.h"
#include "rules_priv.h"
#include "cuda/cuda_plugin_priv.h"

static void dropout_draw(float *keep, size_t n, float p, uint64_t seed, uint64_t counter,
                         size_t first)
{
    sp_dropout_draw(keep, n, p, seed, counter, first);
}

static const sp_cuda_host host = {SP_CUDA_PLUGIN_VERSION, sp_errorf, sp_oom, dropout_draw};

#ifdef SP_PLUGIN_DIRS
/* Try one candidate path; 1 when it exists (opened or not). */
static int try_open(const char *path, void **handle, char *why, size_t len)
{
    if (access(path, F_OK) != 0)
        return 0;
    *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*handle) {
        const char *e = dlerror();
        snprintf(why, len, "the CUDA backend needs the CUDA, cuDNN and cuBLAS libraries, "
                 "which cannot be loaded here (%s)", e ? e : path);
    }
    return 1;
}

static void *open_plugin(char *why, size_t len)
{
    void *h = NULL;
    const char *env = getenv("SP_CUDA_PLUGIN");
    if (env && *env) {
        if (!try_open(env, &h, why, len))
            snprintf(why, len, "the CUDA backend's plug-in '%s' (SP_CUDA_PLUGIN) does not exist",
                     env);
        return h;
    }
    char dirs[] = SP_PLUGIN_DIRS, path[PATH_MAX + 64], exe[PATH_MAX];
    for (char *d = strtok(dirs, ":"); d; d = strtok(NULL, ":")) {
        snprintf(path, sizeof path, "%s/%s", d, SP_CUDA_PLUGIN_NAME);
        if (try_open(path, &h, why, len))
            return h;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(path, sizeof path, "%s/../lib/sp/%s", exe, SP_CUDA_PLUGIN_NAME);
        if (try_open(path, &h, why, len))
            return h;
    }
    snprintf(why, len, "the CUDA backend's plug-in %s is not installed", SP_CUDA_PLUGIN_NAME);
    return NULL;
}
#endif

/* The plug-in's table, opened once per process; NULL with an error. */
static const sp_cuda_plugin *plugin(void)
{
#ifdef SP_PLUGIN_DIRS
    static const sp_cuda_plugin *p;
    static int tried;
    static char why[1024];
    if (!tried) {
        tried = 1;
        void *h = open_plugin(why, sizeof why);
        if (h) {
            p = (const sp_cuda_plugin *)dlsym(h, SP_CUDA_PLUGIN_SYMBOL);
            if (!p || p->version != SP_CUDA_PLUGIN_VERSION) {
                snprintf(why, sizeof why, "the CUDA backend's plug-in does not match this "
                         "build of sp; rebuild both");
                p = NULL;
            }
        }
    }
    if (!p)
        sp_errorf("%s", why);
    return p;
#else
    sp_errorf("sp was built without CUDA support (nvcc and cuDNN were not found when it was "
              "built)");
    return NULL;
#endif
}

sp_backend *sp_cuda_load(int device)
{
    const sp_cuda_plugin *p = plugin();
    return p ? p->create(&host, device) : NULL;
}

int sp_cuda_load_count(void)
{
    const sp_cuda_plugin *p = plugin();
    return p ? p->count(&host) : 0;
}

const sp_cuda_plugin *sp_cuda_load_plugin(void)
{
    return plugin();
}
