/* checkpoint.c: the sp layer of the checkpoint (sp-checkpoint(5)) on top of
 * the safetensors container: the reserved metadata, the graphs, the CRC of
 * the data, and the program-level load and save.
 *
 * Reading is strictly sequential so that checkpoints stream through pipes;
 * the header and the graph are validated before any tensor memory is
 * allocated, and the data is read straight into the tensors. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/checkpoint.h"
#include "sp/model.h"
#include "core/safetensors_priv.h"

static const char *const reserved[] = {"format", "version", "graph", "original", "crc32"};

static int is_reserved(const char *key)
{
    for (size_t i = 0; i < SP_COUNT(reserved); i++)
        if (strcmp(key, reserved[i]) == 0)
            return 1;
    return 0;
}

static const char *meta_str(const cJSON *meta, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(meta, key);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

static int parse_crc(const char *s, uint32_t *crc)
{
    if (!s || strlen(s) != 8)
        return -1;
    *crc = 0;
    for (int i = 0; i < 8; i++) {
        int c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        *crc = *crc << 4 | (uint32_t)v;
    }
    return 0;
}

static int check_sp_meta(const sp_st_stream *s, const cJSON *meta, uint32_t *crc)
{
    if (!meta)
        return sp_errorf("%s is a safetensors file but not an sp checkpoint (it has no "
                         "__metadata__)", s->subj);
    const char *format = meta_str(meta, "format"), *version = meta_str(meta, "version");
    if (!format)
        return sp_errorf("%s is a safetensors file but not an sp checkpoint (its metadata has "
                         "no format)", s->subj);
    if (strcmp(format, SP_CKPT_FORMAT) != 0)
        return sp_errorf("%s is not an sp checkpoint (its format is '%s', not '%s')", s->subj,
                         format, SP_CKPT_FORMAT);
    if (!version)
        return sp_errorf("%s is damaged: its metadata has no version", s->subj);
    char want[16];
    snprintf(want, sizeof want, "%d", SP_CKPT_VERSION);
    if (strcmp(version, want) != 0)
        return sp_errorf("%s is an sp checkpoint of version '%s'; this sp reads version %s",
                         s->subj, version, want);
    if (parse_crc(meta_str(meta, "crc32"), crc) < 0)
        return sp_errorf("%s is damaged: its metadata has no crc32 of 8 lowercase hexadecimal "
                         "digits", s->subj);
    if (!meta_str(meta, "graph") || !meta_str(meta, "original"))
        return sp_errorf("%s is damaged: its metadata lacks the %s", s->subj,
                         meta_str(meta, "graph") ? "original graph" : "graph");
    return 0;
}

static sp_graph *parse_graph(const sp_st_stream *s, const cJSON *meta, const char *key)
{
    sp_graph *g = sp_graph_from_json(meta_str(meta, key));
    if (!g)
        sp_error_prefix("%s has an invalid %s graph", s->subj,
                        strcmp(key, "graph") == 0 ? "current" : "original");
    return g;
}

static void take_entry(sp_model *m, const sp_st_entry *e, int *src, int at)
{
    sp_tensor *t = &m->t[m->n];
    memset(t, 0, sizeof *t);
    t->name = sp_xstrdup(e->name);
    t->dtype = e->dtype;
    t->ndim = e->ndim;
    memcpy(t->shape, e->shape, sizeof t->shape);
    src[at] = m->n++;
}

/* The model without its data: the graph's parameters first, in graph
 * order (a foreign writer may order its header differently), then the
 * other tensors in header order.  tensor_of[entry] says where each went. */
static sp_model *build_model(const sp_st_stream *s, const sp_st_header *h, sp_graph *g,
                             sp_graph *orig, int *tensor_of)
{
    sp_model *m = sp_xcalloc(1, sizeof *m);
    m->graph = g;
    m->original = orig;
    m->cap = h->n > 0 ? h->n : 1;
    m->t = sp_xcalloc((size_t)m->cap, sizeof *m->t);
    for (int i = 0; i < h->n; i++)
        tensor_of[i] = -1;
    sp_param_info *p;
    int np = sp_graph_params(g, &p);
    for (int i = 0; i < np; i++) {
        int k = sp_st_find(h, p[i].name);
        if (k < 0) {
            sp_errorf("%s does not match its graph: tensor '%s' is missing", s->subj, p[i].name);
            free(p);
            sp_model_free(m);
            return NULL;
        }
        take_entry(m, &h->e[k], tensor_of, k);
    }
    free(p);
    for (int k = 0; k < h->n; k++)
        if (tensor_of[k] < 0)
            take_entry(m, &h->e[k], tensor_of, k);
    /* The keys are distinct (the header's check): appended, not looked up. */
    m->capmeta = cJSON_GetArraySize(h->meta) + 1;
    m->meta = sp_xcalloc((size_t)m->capmeta, sizeof *m->meta);
    for (const cJSON *j = h->meta->child; j; j = j->next)
        if (!is_reserved(j->string)) {
            m->meta[m->nmeta].key = sp_xstrdup(j->string);
            m->meta[m->nmeta++].value = sp_xstrdup(j->valuestring);
        }
    if (sp_model_check(m) < 0) {
        sp_error_prefix("%s does not match its graph", s->subj);
        sp_model_free(m);
        return NULL;
    }
    return m;
}

static int truncated(const sp_st_stream *s, const sp_st_header *h, uint64_t held)
{
    return sp_errorf("%s is truncated: the header describes %llu bytes of tensor data but the "
                     "%s holds %llu", s->subj, (unsigned long long)h->data_len,
                     s->is_file ? "file" : "input", (unsigned long long)held);
}

static int read_data(sp_st_stream *s, const sp_st_header *h, sp_model *m,
                     const int *tensor_of, uint32_t want_crc)
{
    int64_t rem = sp_st_remaining(s);
    if (rem >= 0 && (uint64_t)rem < h->data_len)
        return truncated(s, h, (uint64_t)rem);
    if (rem >= 0 && (uint64_t)rem > h->data_len)
        return sp_errorf("%s is damaged: %llu unexpected byte%s follow%s its tensor data",
                         s->subj, (unsigned long long)((uint64_t)rem - h->data_len),
                         (uint64_t)rem - h->data_len == 1 ? "" : "s",
                         (uint64_t)rem - h->data_len == 1 ? "s" : "");
    uint64_t start = s->got;
    uint32_t crc = 0;
    for (int k = 0; k < h->n; k++) {
        sp_tensor *t = &m->t[tensor_of[h->order[k]]];
        size_t bytes = sp_tensor_bytes(t);
        t->data = malloc(bytes ? bytes : 1);
        if (!t->data)
            return sp_errorf("not enough memory to read tensor '%s' (%zu bytes) of %s",
                             t->name, bytes, s->subj);
        size_t got = sp_st_get(s, t->data, bytes);
        crc = sp_crc32(crc, t->data, got);
        if (got < bytes) {
            if (ferror(s->f))
                return sp_errorf("cannot read %s: %s", s->subj, strerror(errno));
            return truncated(s, h, s->got - start);
        }
    }
    if (crc != want_crc)
        return sp_errorf("%s is damaged: CRC-32 of the tensor data is %08x, the header says %08x",
                         s->subj, crc, want_crc);
    /* A pipe may carry more than one checkpoint; a file holds exactly one. */
    if (s->is_file && fgetc(s->f) != EOF)
        return sp_errorf("%s is damaged: unexpected bytes follow its tensor data", s->subj);
    return 0;
}

/* A parameter that is NaN or infinite spoils every output after it (or
 * hides behind a ReLU), so it is refused where it is read, by name. */
static int check_finite(const sp_st_stream *s, const sp_model *m)
{
    sp_param_info *p;
    int np = sp_graph_params(m->graph, &p);
    free(p);
    for (int i = 0; i < np && i < m->n; i++) {
        const sp_tensor *t = &m->t[i];
        if (t->dtype != SP_F32)
            continue;
        int64_t n = sp_tensor_numel(t);
        const float *x = t->data;
        for (int64_t k = 0; k < n; k++)
            if (!isfinite(x[k]))
                return sp_errorf("%s is damaged: element %lld of tensor '%s' is %s", s->subj,
                                 (long long)k, t->name, isnan(x[k]) ? "not a number" : "infinite");
    }
    return 0;
}

sp_model *sp_ckpt_read_after(FILE *f, const char *what, const void *head, size_t nhead)
{
    char *subj = sp_st_subject(what);
    sp_st_stream s;
    sp_st_header h;
    sp_model *m = NULL;
    sp_graph *g = NULL, *orig = NULL;
    uint32_t crc = 0;
    sp_st_open(&s, f, subj, head, nhead);
    if (sp_st_read_header(&s, &h) < 0) {
        free(subj);
        return NULL;
    }
    int *tensor_of = sp_xcalloc((size_t)(h.n > 0 ? h.n : 1), sizeof *tensor_of);
    if (check_sp_meta(&s, h.meta, &crc) < 0 || !(g = parse_graph(&s, h.meta, "graph")) ||
        !(orig = parse_graph(&s, h.meta, "original")))
        goto fail;
    m = build_model(&s, &h, g, orig, tensor_of);
    g = orig = NULL;            /* owned by m, or freed with it */
    if (!m || read_data(&s, &h, m, tensor_of, crc) < 0 || check_finite(&s, m) < 0)
        goto fail;
    sp_st_header_free(&h);
    free(tensor_of);
    free(subj);
    return m;
fail:
    sp_graph_free(g);
    sp_graph_free(orig);
    sp_model_free(m);
    sp_st_header_free(&h);
    free(tensor_of);
    free(subj);
    return NULL;
}

sp_model *sp_ckpt_read(FILE *f, const char *what)
{
    return sp_ckpt_read_after(f, what, NULL, 0);
}

static cJSON *make_header(const sp_model *m, uint32_t crc)
{
    char crcs[16];
    char *graph = sp_graph_to_json(m->graph), *orig = sp_graph_to_json(m->original);
    if (!graph || !orig) {
        free(graph);
        free(orig);
        sp_errorf("cannot describe the graph in JSON");
        return NULL;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    cJSON_AddStringToObject(meta, "format", SP_CKPT_FORMAT);
    snprintf(crcs, sizeof crcs, "%d", SP_CKPT_VERSION);
    cJSON_AddStringToObject(meta, "version", crcs);
    cJSON_AddStringToObject(meta, "graph", graph);
    cJSON_AddStringToObject(meta, "original", orig);
    snprintf(crcs, sizeof crcs, "%08x", crc);
    cJSON_AddStringToObject(meta, "crc32", crcs);
    free(graph);
    free(orig);
    for (int i = 0; i < m->nmeta; i++)
        if (!is_reserved(m->meta[i].key))
            cJSON_AddStringToObject(meta, m->meta[i].key, m->meta[i].value);
    uint64_t at = 0;
    for (int i = 0; i < m->n; i++) {
        sp_st_add_entry(cJSON_AddObjectToObject(root, m->t[i].name), &m->t[i], at);
        at += sp_tensor_bytes(&m->t[i]);
    }
    return root;
}

int sp_ckpt_write(FILE *f, const sp_model *m)
{
    if (sp_model_check(m) < 0)
        return sp_error_prefix("refusing to write an inconsistent model");
    uint32_t crc = 0;
    for (int i = 0; i < m->n; i++)
        crc = sp_crc32(crc, m->t[i].data, sp_tensor_bytes(&m->t[i]));
    cJSON *root = make_header(m, crc);
    if (!root)
        return -1;
    int rc = sp_st_write_header(f, root);
    cJSON_Delete(root);
    for (int i = 0; i < m->n && rc == 0; i++) {
        size_t bytes = sp_tensor_bytes(&m->t[i]);
        if (fwrite(m->t[i].data, 1, bytes, f) != bytes)
            rc = sp_errorf("%s", strerror(errno));
    }
    return rc;
}
