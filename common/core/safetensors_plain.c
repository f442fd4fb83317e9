/* safetensors_plain.c: safetensors files from any writer (model.h's
 * sp_safetensors_read / sp_safetensors_write), on the same container code
 * as the checkpoint but without sp's own metadata. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/model.h"
#include "sp/safetensors.h"
#include "core/safetensors_priv.h"

static void free_tensors(sp_tensor *t, int n)
{
    for (int i = 0; i < n; i++)
        sp_tensor_free(&t[i]);
    free(t);
}

static int read_tensors(sp_st_stream *s, const sp_st_header *h, sp_tensor *t)
{
    uint64_t start = s->got;
    int64_t left = sp_st_remaining(s);
    if (left >= 0 && (uint64_t)left < h->data_len)   /* before allocating for it */
        return sp_errorf("%s is truncated: the header describes %llu bytes of tensor data "
                         "but the input holds %lld", s->subj, (unsigned long long)h->data_len,
                         (long long)left);
    for (int k = 0; k < h->n; k++) {
        const sp_st_entry *e = &h->e[h->order[k]];
        sp_tensor *x = &t[h->order[k]];
        x->name = sp_xstrdup(e->name);
        x->dtype = e->dtype;
        x->ndim = e->ndim;
        memcpy(x->shape, e->shape, sizeof x->shape);
        size_t bytes = sp_tensor_bytes(x);
        x->data = malloc(bytes ? bytes : 1);
        if (!x->data)
            return sp_errorf("not enough memory to read tensor '%s' (%zu bytes) of %s",
                             x->name, bytes, s->subj);
        if (sp_st_get(s, x->data, bytes) < bytes) {
            if (ferror(s->f))
                return sp_errorf("cannot read %s: %s", s->subj, strerror(errno));
            return sp_errorf("%s is truncated: the header describes %llu bytes of tensor data "
                             "but the input holds %llu", s->subj,
                             (unsigned long long)h->data_len,
                             (unsigned long long)(s->got - start));
        }
    }
    return 0;
}

int sp_safetensors_read(FILE *f, const char *what, sp_tensor **t, int *n,
                        sp_meta_entry **meta, int *nmeta)
{
    char *subj = sp_st_subject(what);
    sp_st_stream s;
    sp_st_header h;
    sp_st_open(&s, f, subj, NULL, 0);
    *t = NULL;
    *n = 0;
    if (meta) {
        *meta = NULL;
        *nmeta = 0;
    }
    if (sp_st_read_header(&s, &h) < 0) {
        free(subj);
        return -1;
    }
    sp_tensor *tensors = sp_xcalloc((size_t)(h.n > 0 ? h.n : 1), sizeof *tensors);
    if (read_tensors(&s, &h, tensors) < 0) {
        free_tensors(tensors, h.n);
        sp_st_header_free(&h);
        free(subj);
        return -1;
    }
    if (meta && h.meta) {
        int count = cJSON_GetArraySize(h.meta), i = 0;
        *meta = sp_xcalloc((size_t)(count > 0 ? count : 1), sizeof **meta);
        for (const cJSON *j = h.meta->child; j; j = j->next, i++) {
            (*meta)[i].key = sp_xstrdup(j->string);
            (*meta)[i].value = sp_xstrdup(j->valuestring);
        }
        *nmeta = count;
    }
    *t = tensors;
    *n = h.n;
    sp_st_header_free(&h);
    free(subj);
    return 0;
}

int sp_safetensors_write(FILE *f, const sp_tensor *t, int n,
                         const sp_meta_entry *meta, int nmeta)
{
    cJSON *root = cJSON_CreateObject();
    if (nmeta > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        for (int i = 0; i < nmeta; i++)
            cJSON_AddStringToObject(m, meta[i].key, meta[i].value);
    }
    uint64_t at = 0;
    for (int i = 0; i < n; i++) {
        sp_st_add_entry(cJSON_AddObjectToObject(root, t[i].name), &t[i], at);
        at += sp_tensor_bytes(&t[i]);
    }
    int rc = sp_st_write_header(f, root);
    cJSON_Delete(root);
    for (int i = 0; i < n && rc == 0; i++) {
        size_t bytes = sp_tensor_bytes(&t[i]);
        if (fwrite(t[i].data, 1, bytes, f) != bytes)
            rc = sp_errorf("%s", strerror(errno));
    }
    return rc;
}
