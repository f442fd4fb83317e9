/* fuzz.c: helpers of the fuzz targets (fuzz.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sp/base.h"
#include "fuzz.h"

FILE *fuzz_file(const uint8_t *data, size_t size)
{
    /* fmemopen of zero bytes fails; an empty file is what is meant */
    FILE *f = size ? fmemopen((void *)data, size, "rb") : tmpfile();
    if (!f)
        sp_oom(size);
    return f;
}

static const char *folder(void)
{
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/sp-fuzz-%ld", (long)getpid());
        if (mkdir(dir, 0700) != 0 && access(dir, F_OK) != 0)
            sp_oom(0);
    }
    return dir;
}

char *fuzz_dir(const char *name)
{
    char *path = sp_xasprintf("%s/%s", folder(), name);
    if (mkdir(path, 0700) != 0 && access(path, F_OK) != 0)
        sp_oom(0);
    return path;
}

char *fuzz_path(const uint8_t *data, size_t size, const char *name)
{
    char *path = sp_xasprintf("%s/%s", folder(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        sp_oom(size);
    return path;
}

char *fuzz_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        sp_oom(1);
    return s;
}

void fuzz_free_tensors(sp_tensor *t, int n, sp_meta_entry *meta, int nmeta)
{
    for (int i = 0; i < n; i++)
        sp_tensor_free(&t[i]);
    free(t);
    for (int i = 0; i < nmeta; i++) {
        free(meta[i].key);
        free(meta[i].value);
    }
    free(meta);
}
