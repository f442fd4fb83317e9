/* testlib.h: the few checks unit tests share.  A test binary prints one
 * "ok NAME" / "not ok NAME - why" line per check and exits non-zero when
 * any check failed, so tests/run can count them. */
#ifndef SP_TESTLIB_H
#define SP_TESTLIB_H

#include <stdint.h>
#include <stddef.h>

int t_check(int cond, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define CHECK(cond, name) t_check((cond), (name), "%s", #cond)
#define CHECKF(cond, name, ...) t_check((cond), (name), __VA_ARGS__)

/* Normalised error: max|a-b| / max(max|b|, tiny). */
double t_rel_err(const float *a, const float *b, size_t n);
double t_rel_err_d(const double *a, const double *b, size_t n);

/* Exit status for main(): 1 if any check failed. */
int t_done(void);

#endif
