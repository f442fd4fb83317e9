/* testlib.c: see testlib.h. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/exec.h"
#include "sp/rng.h"
#include "sp/safetensors.h"
#include "testlib.h"

static int n_failed, n_passed;

int t_check(int cond, const char *name, const char *fmt, ...)
{
    if (cond) {
        n_passed++;
        printf("ok %s\n", name);
    } else {
        va_list ap;
        n_failed++;
        printf("not ok %s - ", name);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
    }
    fflush(stdout);
    return cond;
}

float *t_uniform(sp_rng *rng, size_t n, float lo, float hi)
{
    float *x = sp_xmalloc((n ? n : 1) * sizeof *x);
    sp_rng_fill_uniform(rng, x, (int64_t)n, lo, hi);
    return x;
}

double t_rel_err(const float *a, const float *b, size_t n)
{
    double diff = 0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > diff || d != d)
            diff = d;
        if (fabs(b[i]) > scale)
            scale = fabs(b[i]);
    }
    return diff / scale;
}

double t_rel_err_d(const double *a, const double *b, size_t n)
{
    double diff = 0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (d > diff || d != d)
            diff = d;
        if (fabs(b[i]) > scale)
            scale = fabs(b[i]);
    }
    return diff / scale;
}

int t_done(void)
{
    printf("# %d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}

int t_fixture_read(t_fixture *f, const char *relpath)
{
    const char *root = getenv("SP_ROOT");
    memset(f, 0, sizeof *f);
    f->path = sp_xasprintf("%s/tests/fixtures/%s", root ? root : ".", relpath);
    FILE *fp = fopen(f->path, "rb");
    int rc = -1;
    if (!fp)
        printf("not ok fixture %s - cannot open %s\n", relpath, f->path);
    else if (sp_safetensors_read(fp, f->path, &f->t, &f->n, &f->meta, &f->nmeta) < 0)
        printf("not ok fixture %s - %s\n", relpath, sp_error());
    else
        rc = 0;
    if (fp)
        fclose(fp);
    return rc;
}

void t_fixture_free(t_fixture *f)
{
    for (int i = 0; i < f->n; i++)
        sp_tensor_free(&f->t[i]);
    for (int i = 0; i < f->nmeta; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->t);
    free(f->meta);
    free(f->path);
}

const sp_tensor *t_fixture_find(const t_fixture *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0)
            return &f->t[i];
    return NULL;
}

const sp_tensor *t_fixture_get(const t_fixture *f, const char *name)
{
    const sp_tensor *t = t_fixture_find(f, name);
    if (!t) {
        fprintf(stderr, "the fixture %s lacks '%s'\n", f->path, name);
        exit(1);
    }
    return t;
}

const char *t_fixture_meta(const t_fixture *f, const char *key)
{
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta[i].key, key) == 0)
            return f->meta[i].value;
    fprintf(stderr, "the fixture %s lacks metadata '%s'\n", f->path, key);
    exit(1);
}

float *t_logits_of(sp_backend *b, const sp_model *m, const float *x, int n, int *classes)
{
    sp_exec *e = sp_exec_new_flags(b, m, n, 0, 0, SP_EXEC_UNFUSED);
    if (!e)
        return NULL;
    float *out = NULL;
    if (sp_exec_set_input(e, x, NULL, n) == 0 && sp_exec_forward(e, 0) == 0) {
        *classes = sp_exec_classes(e);
        out = sp_xmalloc((size_t)n * (size_t)*classes * sizeof *out);
        sp_exec_logits(e, out);
    }
    sp_exec_free(e);
    return out;
}

int t_same_tensors(const sp_model *a, const sp_model *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->t[i].name, b->t[i].name) != 0 || a->t[i].dtype != b->t[i].dtype ||
            !sp_shape_equal(a->t[i].ndim, a->t[i].shape, b->t[i].ndim, b->t[i].shape) ||
            memcmp(a->t[i].data, b->t[i].data, sp_tensor_bytes(&a->t[i])) != 0)
            return 0;
    return 1;
}
