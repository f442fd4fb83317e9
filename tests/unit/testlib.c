/* testlib.c: see testlib.h. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
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
