/* model.c: a network with its tensors and free metadata (model.h).  The
 * file form is in checkpoint.c. */
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/model.h"
#include "sp/names.h"

static void fill_param(sp_tensor *t, const sp_param_info *p)
{
    sp_tensor_init(t, p->name, p->dtype, p->ndim, p->shape);
    if (p->kind == SP_P_RUNNING_VAR || p->kind == SP_P_MASK) {
        float *v = t->data;
        for (int64_t i = 0; i < sp_tensor_numel(t); i++)
            v[i] = 1.0f;
    }
}

sp_model *sp_model_new(sp_graph *g)
{
    sp_model *m = sp_xcalloc(1, sizeof *m);
    m->graph = g;
    m->original = sp_graph_clone(g);
    sp_param_info *p;
    int np = sp_graph_params(g, &p);
    m->cap = np > 0 ? np : 1;
    m->t = sp_xcalloc((size_t)m->cap, sizeof *m->t);
    for (int i = 0; i < np; i++)
        fill_param(&m->t[i], &p[i]);
    m->n = np;
    free(p);
    return m;
}

void sp_model_free(sp_model *m)
{
    if (!m)
        return;
    sp_graph_free(m->graph);
    sp_graph_free(m->original);
    for (int i = 0; i < m->n; i++)
        sp_tensor_free(&m->t[i]);
    free(m->t);
    for (int i = 0; i < m->nmeta; i++) {
        free(m->meta[i].key);
        free(m->meta[i].value);
    }
    free(m->meta);
    free(m);
}

sp_model *sp_model_clone(const sp_model *m)
{
    sp_model *r = sp_xcalloc(1, sizeof *r);
    r->graph = m->graph ? sp_graph_clone(m->graph) : NULL;
    r->original = m->original ? sp_graph_clone(m->original) : NULL;
    r->cap = m->n > 0 ? m->n : 1;
    r->t = sp_xcalloc((size_t)r->cap, sizeof *r->t);
    for (int i = 0; i < m->n; i++)
        sp_tensor_copy(&r->t[i], &m->t[i]);
    r->n = m->n;
    r->capmeta = m->nmeta > 0 ? m->nmeta : 1;
    r->meta = sp_xcalloc((size_t)r->capmeta, sizeof *r->meta);
    for (int i = 0; i < m->nmeta; i++) {
        r->meta[i].key = sp_xstrdup(m->meta[i].key);
        r->meta[i].value = sp_xstrdup(m->meta[i].value);
    }
    r->nmeta = m->nmeta;
    return r;
}

static int tensor_index(const sp_model *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->t[i].name, name) == 0)
            return i;
    return -1;
}

sp_tensor *sp_model_tensor(const sp_model *m, const char *name)
{
    int i = tensor_index(m, name);
    return i < 0 ? NULL : &m->t[i];
}

sp_tensor *sp_model_add_tensor(sp_model *m, const char *name, sp_dtype dtype,
                               int ndim, const int64_t *shape)
{
    int i = tensor_index(m, name);
    if (i >= 0) {
        sp_tensor_free(&m->t[i]);
    } else {
        if (m->n == m->cap) {
            m->cap = m->cap ? 2 * m->cap : 16;
            m->t = sp_xrealloc(m->t, (size_t)m->cap * sizeof *m->t);
        }
        i = m->n++;
    }
    sp_tensor_init(&m->t[i], name, dtype, ndim, shape);
    return &m->t[i];
}

void sp_model_remove_tensor(sp_model *m, const char *name)
{
    int i = tensor_index(m, name);
    if (i < 0)
        return;
    sp_tensor_free(&m->t[i]);
    memmove(&m->t[i], &m->t[i + 1], (size_t)(m->n - i - 1) * sizeof *m->t);
    m->n--;
}

static int meta_index(const sp_model *m, const char *key)
{
    for (int i = 0; i < m->nmeta; i++)
        if (strcmp(m->meta[i].key, key) == 0)
            return i;
    return -1;
}

const char *sp_model_meta(const sp_model *m, const char *key)
{
    int i = meta_index(m, key);
    return i < 0 ? NULL : m->meta[i].value;
}

void sp_model_set_meta(sp_model *m, const char *key, const char *value)
{
    int i = meta_index(m, key);
    if (!value) {
        if (i < 0)
            return;
        free(m->meta[i].key);
        free(m->meta[i].value);
        memmove(&m->meta[i], &m->meta[i + 1], (size_t)(m->nmeta - i - 1) * sizeof *m->meta);
        m->nmeta--;
        return;
    }
    /* Copy first: value may point into the entry it replaces. */
    char *v = sp_xstrdup(value);
    if (i >= 0) {
        free(m->meta[i].value);
        m->meta[i].value = v;
        return;
    }
    if (m->nmeta == m->capmeta) {
        m->capmeta = m->capmeta ? 2 * m->capmeta : 16;
        m->meta = sp_xrealloc(m->meta, (size_t)m->capmeta * sizeof *m->meta);
    }
    m->meta[m->nmeta].key = sp_xstrdup(key);
    m->meta[m->nmeta].value = v;
    m->nmeta++;
}

static int check_param(const sp_model *m, const sp_names *ix, int i, const sp_param_info *p)
{
    char want[64], have[64];
    int at = sp_names_find(ix, p->name);
    if (at < 0)
        return sp_errorf("tensor '%s' is missing", p->name);
    if (at != i)
        return sp_errorf("tensor '%s' is at position %d, the graph's parameter order puts it at %d",
                         p->name, at, i);
    const sp_tensor *t = &m->t[i];
    if (t->dtype != p->dtype)
        return sp_errorf("tensor '%s' is %s, the graph says %s", p->name,
                         sp_dtype_name(t->dtype), sp_dtype_name(p->dtype));
    if (!sp_shape_equal(t->ndim, t->shape, p->ndim, p->shape))
        return sp_errorf("tensor '%s' has shape %s, the graph says %s", p->name,
                         sp_shape_str(have, sizeof have, t->ndim, t->shape),
                         sp_shape_str(want, sizeof want, p->ndim, p->shape));
    return 0;
}

/* What any tensor must satisfy to be written and read back. */
static int check_tensor(const sp_model *m, int i)
{
    const sp_tensor *t = &m->t[i];
    if (!t->name || !t->name[0])
        return sp_errorf("tensor %d has no name", i);
    if (strcmp(t->name, "__metadata__") == 0)
        return sp_errorf("a tensor cannot be named '__metadata__'");
    if ((unsigned)t->dtype >= SP_DTYPE_COUNT)
        return sp_errorf("tensor '%s' has an unknown dtype", t->name);
    if (t->ndim < 0 || t->ndim > SP_MAX_DIMS)
        return sp_errorf("tensor '%s' has %d dimensions; at most %d are allowed",
                         t->name, t->ndim, SP_MAX_DIMS);
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] < 0)
            return sp_errorf("tensor '%s' has a negative dimension", t->name);
    return 0;
}

static const char *tensor_name(const void *t, int i)
{
    return ((const sp_tensor *)t)[i].name;
}

int sp_model_check(const sp_model *m)
{
    if (!m->graph || !m->original)
        return sp_errorf("the model has no graph");
    for (int i = 0; i < m->n; i++)
        if (check_tensor(m, i) < 0)
            return -1;
    /* by an index of the names: n log n, however many tensors */
    sp_names ix;
    sp_names_init(&ix, m->t, m->n, tensor_name);
    int d = sp_names_dup(&ix), rc = 0;
    if (d >= 0)
        rc = sp_errorf("tensor name '%s' is used twice", m->t[d].name);
    sp_param_info *p;
    int np = sp_graph_params(m->graph, &p);
    for (int i = 0; i < np && rc == 0; i++)
        rc = check_param(m, &ix, i, &p[i]);
    free(p);
    sp_names_free(&ix);
    return rc;
}

uint32_t sp_model_crc32(const sp_model *m)
{
    uint32_t crc = 0;
    for (int i = 0; i < m->n; i++)
        crc = sp_crc32(crc, m->t[i].data, sp_tensor_bytes(&m->t[i]));
    return crc;
}
