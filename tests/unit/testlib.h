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

/* n floats drawn uniformly from [lo, hi) by rng, malloc'd (never NULL,
 * even for n = 0). */
struct sp_rng;
float *t_uniform(struct sp_rng *rng, size_t n, float lo, float hi);

/* A fixture file (safetensors) under tests/fixtures/, found from $SP_ROOT
 * or the current folder: its tensors and metadata.  get and meta exit the
 * test when the name is missing (a broken fixture); find returns NULL. */
#include "sp/tensor.h"
#include "sp/model.h"
typedef struct t_fixture {
    char *path;
    sp_tensor *t;
    int n;
    sp_meta_entry *meta;
    int nmeta;
} t_fixture;
int t_fixture_read(t_fixture *f, const char *relpath);   /* prints "not ok" on failure */
void t_fixture_free(t_fixture *f);
const sp_tensor *t_fixture_find(const t_fixture *f, const char *name);
const sp_tensor *t_fixture_get(const t_fixture *f, const char *name);
const char *t_fixture_meta(const t_fixture *f, const char *key);

/* Unfused evaluation-mode logits of n samples of x (malloc'd; *classes
 * set), NULL on failure. */
struct sp_backend;
float *t_logits_of(struct sp_backend *b, const sp_model *m, const float *x, int n, int *classes);
/* Whether a and b hold the same tensors: names, types, shapes and bytes,
 * in the same order. */
int t_same_tensors(const sp_model *a, const sp_model *b);

/* Exit status for main(): 1 if any check failed. */
int t_done(void);

#endif
