/* safetensors.c: the safetensors container (safetensors.h).  Everything in
 * the header is checked before it is trusted, so a damaged or foreign file
 * fails with one sentence instead of a wild allocation or a crash. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "sp/base.h"
#include "sp/names.h"
#include "core/safetensors_priv.h"

char *sp_st_subject(const char *what)
{
    if (!what || strcmp(what, SP_STDIN_NAME) == 0)
        return sp_xstrdup(SP_STDIN_NAME);
    return sp_xasprintf("'%s'", what);
}

void sp_st_open(sp_st_stream *s, FILE *f, const char *subj, const void *head, size_t nhead)
{
    struct stat st;
    memset(s, 0, sizeof *s);
    s->f = f;
    s->head = head;
    s->nhead = nhead;
    s->subj = subj;
    s->is_file = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
}

size_t sp_st_get(sp_st_stream *s, void *buf, size_t n)
{
    unsigned char *p = buf;
    size_t k = 0;
    while (k < n && s->hpos < s->nhead)
        p[k++] = s->head[s->hpos++];
    if (k < n)
        k += fread(p + k, 1, n - k, s->f);
    s->got += k;
    return k;
}

int64_t sp_st_remaining(const sp_st_stream *s)
{
    struct stat st;
    off_t pos;
    if (!s->is_file || fstat(fileno(s->f), &st) != 0 || (pos = ftello(s->f)) < 0)
        return -1;
    return (int64_t)st.st_size - (int64_t)pos + (int64_t)(s->nhead - s->hpos);
}

static int read_error(sp_st_stream *s)
{
    return sp_errorf("cannot read %s: %s", s->subj, strerror(errno));
}

/* A JSON number that is an exact non-negative integer up to max. */
static int get_uint(const cJSON *j, double max, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return -1;
    double v = j->valuedouble;
    if (!(v >= 0) || v > max || v != floor(v))
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int bad_entry(const sp_st_stream *s, const char *name, const char *why)
{
    return sp_errorf("%s is damaged: tensor '%s' %s", s->subj, name, why);
}

static int parse_entry(const sp_st_stream *s, const cJSON *j, sp_st_entry *e)
{
    e->name = j->string;
    if (!cJSON_IsObject(j))
        return bad_entry(s, e->name, "is not described by a JSON object");
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    if (!cJSON_IsString(dt))
        return bad_entry(s, e->name, "has no dtype");
    if (sp_dtype_parse(dt->valuestring, &e->dtype) < 0)
        return sp_errorf("%s has tensor '%s' of unknown dtype '%s'", s->subj, e->name,
                         dt->valuestring);
    if (!cJSON_IsArray(sh))
        return bad_entry(s, e->name, "has no shape");
    e->ndim = cJSON_GetArraySize(sh);
    if (e->ndim > SP_MAX_DIMS)
        return sp_errorf("%s has tensor '%s' with %d dimensions; sp handles at most %d",
                         s->subj, e->name, e->ndim, SP_MAX_DIMS);
    /* Bounding each dimension and the product keeps the size exact in a
     * double and in int64. */
    double numel = 1;
    for (int d = 0; d < e->ndim; d++) {
        uint64_t v;
        if (get_uint(cJSON_GetArrayItem(sh, d), 1e15, &v) < 0)
            return bad_entry(s, e->name, "has a shape that is not a list of non-negative integers");
        e->shape[d] = (int64_t)v;
        numel *= (double)v;
    }
    if (numel * (double)sp_dtype_size(e->dtype) > 1e15)
        return bad_entry(s, e->name, "is impossibly large");
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
        get_uint(cJSON_GetArrayItem(off, 0), 1e15, &e->begin) < 0 ||
        get_uint(cJSON_GetArrayItem(off, 1), 1e15, &e->end) < 0 || e->end < e->begin)
        return bad_entry(s, e->name, "has no valid data_offsets [begin, end]");
    uint64_t want = (uint64_t)numel * sp_dtype_size(e->dtype);
    if (e->end - e->begin != want) {
        char buf[64];
        return sp_errorf("%s is damaged: tensor '%s' (%s %s) needs %llu bytes but its "
                         "data_offsets span %llu", s->subj, e->name, dt->valuestring,
                         sp_shape_str(buf, sizeof buf, e->ndim, e->shape),
                         (unsigned long long)want, (unsigned long long)(e->end - e->begin));
    }
    return 0;
}

static _Thread_local const sp_st_entry *sort_base;   /* qsort has no context argument */

static int by_begin(const void *a, const void *b)
{
    const sp_st_entry *x = &sort_base[*(const int *)a], *y = &sort_base[*(const int *)b];
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return *(const int *)a - *(const int *)b;
}

/* The ranges, in order of their start, must tile [0, data_len). */
static int check_tiling(const sp_st_stream *s, sp_st_header *h)
{
    h->order = sp_xmalloc((size_t)(h->n > 0 ? h->n : 1) * sizeof *h->order);
    for (int i = 0; i < h->n; i++)
        h->order[i] = i;
    sort_base = h->e;
    qsort(h->order, (size_t)h->n, sizeof *h->order, by_begin);
    uint64_t at = 0;
    const sp_st_entry *prev = NULL;
    for (int k = 0; k < h->n; k++) {
        const sp_st_entry *e = &h->e[h->order[k]];
        if (e->begin > at)
            return sp_errorf("%s is damaged: %llu bytes of the data section before tensor '%s' "
                             "belong to no tensor", s->subj,
                             (unsigned long long)(e->begin - at), e->name);
        if (e->begin < at)
            return sp_errorf("%s is damaged: tensors '%s' and '%s' overlap (bytes %llu..%llu "
                             "and %llu..%llu)", s->subj, prev->name, e->name,
                             (unsigned long long)prev->begin, (unsigned long long)prev->end,
                             (unsigned long long)e->begin, (unsigned long long)e->end);
        at = e->end;
        prev = e;
    }
    h->data_len = at;
    return 0;
}

static _Thread_local const sp_st_entry *name_base;   /* as sort_base */

static int by_name(const void *a, const void *b)
{
    return strcmp(name_base[*(const int *)a].name, name_base[*(const int *)b].name);
}

/* No name twice: sorted, so that a header of many tensors costs n log n;
 * the order serves sp_st_find. */
static int check_unique(const sp_st_stream *s, sp_st_header *h)
{
    h->by_name = sp_xmalloc((size_t)(h->n > 0 ? h->n : 1) * sizeof *h->by_name);
    for (int i = 0; i < h->n; i++)
        h->by_name[i] = i;
    name_base = h->e;
    qsort(h->by_name, (size_t)h->n, sizeof *h->by_name, by_name);
    for (int i = 1; i < h->n; i++)
        if (strcmp(h->e[h->by_name[i - 1]].name, h->e[h->by_name[i]].name) == 0)
            return sp_errorf("%s is damaged: tensor '%s' is described twice", s->subj,
                             h->e[h->by_name[i]].name);
    return 0;
}

int sp_st_find(const sp_st_header *h, const char *name)
{
    int lo = 0, hi = h->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(h->e[h->by_name[mid]].name, name);
        if (c == 0)
            return h->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static const char *key_of(const void *keys, int i)
{
    return ((const char *const *)keys)[i];
}

/* No metadata key twice (JSON allows it, a reader could take either). */
static int check_meta_keys(const sp_st_stream *s, const cJSON *meta)
{
    int n = cJSON_GetArraySize(meta), k = 0;
    const char **key = sp_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *key);
    for (const cJSON *j = meta->child; j; j = j->next)
        key[k++] = j->string;
    sp_names ix;
    sp_names_init(&ix, key, k, key_of);
    int d = sp_names_dup(&ix), rc = 0;
    if (d >= 0)
        rc = sp_errorf("%s is damaged: metadata '%s' appears twice", s->subj, key[d]);
    sp_names_free(&ix);
    free(key);
    return rc;
}

static int parse_header(const sp_st_stream *s, sp_st_header *h, const char *text, size_t len)
{
    const char *end = NULL;
    h->root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!h->root)
        return sp_errorf("%s is damaged: its JSON header is invalid near byte %zu", s->subj,
                         (size_t)(8 + (end ? end - text : 0)));
    for (; end < text + len; end++)
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')
            return sp_errorf("%s is damaged: its JSON header has text after the closing brace "
                             "(byte %zu)", s->subj, (size_t)(8 + (end - text)));
    if (!cJSON_IsObject(h->root))
        return sp_errorf("%s is damaged: its header is not a JSON object", s->subj);
    int count = cJSON_GetArraySize(h->root);
    h->e = sp_xcalloc((size_t)(count > 0 ? count : 1), sizeof *h->e);
    for (const cJSON *j = h->root->child; j; j = j->next) {
        if (strcmp(j->string, "__metadata__") == 0) {
            if (h->meta)
                return sp_errorf("%s is damaged: its header has two __metadata__ maps", s->subj);
            h->meta = j;
            continue;
        }
        if (parse_entry(s, j, &h->e[h->n]) < 0)
            return -1;
        h->n++;
    }
    if (check_unique(s, h) < 0)
        return -1;
    if (h->meta) {
        if (!cJSON_IsObject(h->meta))
            return sp_errorf("%s is damaged: its __metadata__ is not a JSON object", s->subj);
        for (const cJSON *j = h->meta->child; j; j = j->next)
            if (!cJSON_IsString(j))
                return sp_errorf("%s is damaged: metadata '%s' is not a string", s->subj,
                                 j->string);
        if (check_meta_keys(s, h->meta) < 0)
            return -1;
    }
    return check_tiling(s, h);
}

int sp_st_read_header(sp_st_stream *s, sp_st_header *h)
{
    unsigned char lenb[8];
    memset(h, 0, sizeof *h);
    size_t k = sp_st_get(s, lenb, 8);
    if (k < 8) {
        if (ferror(s->f))
            return read_error(s);
        if (k == 0)
            return sp_errorf("%s is empty, not an sp checkpoint", s->subj);
        return sp_errorf("%s is not an sp checkpoint (%zu bytes is too short for a "
                         "safetensors header)", s->subj, k);
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | lenb[i];
    if (n < 2 || n > SP_ST_HEADER_MAX)
        return sp_errorf("%s is not an sp checkpoint (no safetensors header)", s->subj);
    char *text = sp_xmalloc((size_t)n + 1);
    k = sp_st_get(s, text, (size_t)n);
    text[k] = 0;
    int rc = 0;
    if (k == 0 && ferror(s->f))
        rc = read_error(s);
    else if (k == 0 || text[0] != '{')
        rc = sp_errorf("%s is not an sp checkpoint (no safetensors header)", s->subj);
    else if (k < n)
        rc = ferror(s->f) ? read_error(s)
             : sp_errorf("%s is truncated: its header is %llu bytes long but the %s ends after %zu",
                         s->subj, (unsigned long long)n, s->is_file ? "file" : "input", k);
    else if (memchr(text, 0, (size_t)n))
        rc = sp_errorf("%s is damaged: its JSON header contains a NUL byte", s->subj);
    else
        rc = parse_header(s, h, text, (size_t)n);
    free(text);

    if (rc < 0)
        sp_st_header_free(h);
    return rc;
}

void sp_st_header_free(sp_st_header *h)
{
    cJSON_Delete(h->root);
    free(h->e);
    free(h->order);
    free(h->by_name);
    memset(h, 0, sizeof *h);
}

int sp_st_write_header(FILE *f, const cJSON *root)
{
    char *text = cJSON_PrintUnformatted(root);
    if (!text)
        return sp_errorf("cannot format the checkpoint header: out of memory");
    size_t len = strlen(text), padded = (len + 7) & ~(size_t)7;
    unsigned char lenb[8];
    for (int i = 0; i < 8; i++)
        lenb[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    static const char spaces[8] = "        ";
    int ok = fwrite(lenb, 1, 8, f) == 8 && fwrite(text, 1, len, f) == len &&
             fwrite(spaces, 1, padded - len, f) == padded - len;
    free(text);
    if (!ok)
        return sp_errorf("%s", strerror(errno));
    return 0;
}

void sp_st_add_entry(cJSON *obj, const sp_tensor *t, uint64_t begin)
{
    /* Raw numbers: cJSON would print large integers through a double. */
    char buf[160];
    size_t used = (size_t)snprintf(buf, sizeof buf, "[");
    for (int d = 0; d < t->ndim; d++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, d ? ",%lld" : "%lld",
                                 (long long)t->shape[d]);
    snprintf(buf + used, sizeof buf - used, "]");
    cJSON_AddStringToObject(obj, "dtype", sp_dtype_name(t->dtype));
    cJSON_AddRawToObject(obj, "shape", buf);
    snprintf(buf, sizeof buf, "[%llu,%llu]", (unsigned long long)begin,
             (unsigned long long)(begin + sp_tensor_bytes(t)));
    cJSON_AddRawToObject(obj, "data_offsets", buf);
}
