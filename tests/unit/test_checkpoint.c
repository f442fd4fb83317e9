/* test_checkpoint.c: checkpoint round trips (file, pipe, peeked prefix) and
 * every way a damaged input must be refused with its own sentence.
 *
 * Damaged inputs are made by editing the bytes of a good checkpoint: the
 * header is re-parsed with cJSON, changed and re-serialised, so each case
 * breaks exactly one rule.  The CRC oracle is zlib's crc32, not sp's. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include "sp/base.h"
#include "sp/checkpoint.h"
#include "sp/model.h"
#include "graphs.h"
#include "testlib.h"

typedef struct buf { unsigned char *p; size_t n; } buf;

static sp_graph *small_graph(void)
{
    sp_graph *g = sp_graph_new("test-net", 3, 8, 8);
    g->classes = 5;
    int x = t_conv(g, "features.0", 0, 3, 4, 3, 1, 1, 1, 1);
    x = t_chan(g, SP_OP_BN, "features.1", x, 4);
    int relu = t_add(g, SP_OP_RELU, "features.2", x, -1);
    x = t_chan(g, SP_OP_MASK, "features.2m", relu, 4);
    x = t_add(g, SP_OP_FLATTEN, "flatten", x, -1);
    t_linear(g, "classifier", x, 4 * 8 * 8, 5, 1);
    sp_block *b = sp_graph_add_block(g, 0);
    b->anchor[b->n++] = relu;
    if (sp_graph_infer(g) < 0) {
        printf("not ok graph - %s\n", sp_error());
        exit(1);
    }
    return g;
}

/* Random bytes; F32 values stay finite (the reader refuses a parameter
 * that is NaN or infinite), by clearing one exponent bit where all are set. */
static void fill_random(sp_tensor *t, unsigned *seed)
{
    unsigned char *p = t->data;
    for (size_t i = 0; i < sp_tensor_bytes(t); i++)
        p[i] = (unsigned char)(rand_r(seed) >> 7);
    for (size_t i = 0; t->dtype == SP_F32 && i + 4 <= sp_tensor_bytes(t); i += 4)
        if ((p[i + 3] & 0x7f) == 0x7f && (p[i + 2] & 0x80))
            p[i + 3] &= 0xbf;
}

static sp_model *sample_model(void)
{
    sp_model *m = sp_model_new(small_graph());
    unsigned seed = 42;
    for (int i = 0; i < m->n; i++)
        fill_random(&m->t[i], &seed);
    static const struct { const char *name; sp_dtype dt; int ndim; int64_t shape[4]; } extra[] = {
        {"state.f32", SP_F32, 4, {2, 3, 1, 2}}, {"state.f16", SP_F16, 1, {7}},
        {"state.bf16", SP_BF16, 2, {3, 3}}, {"state.f64", SP_F64, 0, {0}},
        {"state.i64", SP_I64, 0, {0}}, {"state.i32", SP_I32, 3, {2, 2, 2}},
        {"state.u8", SP_U8, 1, {5}}, {"state.empty", SP_F32, 2, {0, 3}},
    };
    for (size_t i = 0; i < SP_COUNT(extra); i++)
        fill_random(sp_model_add_tensor(m, extra[i].name, extra[i].dt, extra[i].ndim,
                                        extra[i].shape), &seed);
    sp_model_set_meta(m, "note", "hello \"world\"\n");
    sp_model_set_meta(m, "beta", "0.5");
    /* The original graph differs from the current one, as after pruning. */
    m->original->classes = 7;
    return m;
}

static buf to_bytes(const sp_model *m)
{
    buf b = {0};
    FILE *f = open_memstream((char **)&b.p, &b.n);
    if (sp_ckpt_write(f, m) < 0)
        printf("not ok write - %s\n", sp_error());
    fclose(f);
    return b;
}

static FILE *file_of(const void *p, size_t n)
{
    FILE *f = tmpfile();
    if (n)
        fwrite(p, 1, n, f);
    rewind(f);
    return f;
}

static int same_model(const sp_model *a, const sp_model *b, char *why, size_t nwhy)
{
    char *ga = sp_graph_to_json(a->graph), *gb = sp_graph_to_json(b->graph);
    char *oa = sp_graph_to_json(a->original), *ob = sp_graph_to_json(b->original);
    int ok = strcmp(ga, gb) == 0 && strcmp(oa, ob) == 0;
    free(ga); free(gb); free(oa); free(ob);
    if (!ok)
        return snprintf(why, nwhy, "graphs differ"), 0;
    if (a->n != b->n)
        return snprintf(why, nwhy, "%d tensors, expected %d", b->n, a->n), 0;
    for (int i = 0; i < a->n; i++) {
        const sp_tensor *x = &a->t[i], *y = &b->t[i];
        if (strcmp(x->name, y->name) || x->dtype != y->dtype ||
            !sp_shape_equal(x->ndim, x->shape, y->ndim, y->shape) ||
            memcmp(x->data, y->data, sp_tensor_bytes(x)))
            return snprintf(why, nwhy, "tensor %d ('%s') differs", i, x->name), 0;
    }
    if (a->nmeta != b->nmeta)
        return snprintf(why, nwhy, "%d metadata keys, expected %d", b->nmeta, a->nmeta), 0;
    for (int i = 0; i < a->nmeta; i++)
        if (strcmp(a->meta[i].key, b->meta[i].key) || strcmp(a->meta[i].value, b->meta[i].value))
            return snprintf(why, nwhy, "metadata '%s' differs", a->meta[i].key), 0;
    return 1;
}

static void check_same(const sp_model *want, sp_model *got, const char *name)
{
    char why[256] = "";
    if (!got) {
        CHECKF(0, name, "read failed: %s", sp_error());
        return;
    }
    CHECKF(same_model(want, got, why, sizeof why), name, "%s", why);
    sp_model_free(got);
}

/* ---- byte-level editing of a good checkpoint ---- */

static uint64_t header_len(const buf *b)
{
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | b->p[i];
    return n;
}

static cJSON *header_of(const buf *b)
{
    return cJSON_ParseWithLength((const char *)b->p + 8, (size_t)header_len(b));
}

/* A checkpoint with header h and the data of b (optionally with the crc32
 * metadata recomputed over new data). */
static buf rebuild(const cJSON *h, const unsigned char *data, size_t ndata)
{
    char *text = cJSON_PrintUnformatted(h);
    size_t len = strlen(text), pad = (len + 7) & ~(size_t)7;
    buf r;
    r.n = 8 + pad + ndata;
    r.p = malloc(r.n);
    for (int i = 0; i < 8; i++)
        r.p[i] = (unsigned char)((uint64_t)pad >> (8 * i));
    memcpy(r.p + 8, text, len);
    memset(r.p + 8 + len, ' ', pad - len);
    memcpy(r.p + 8 + pad, data, ndata);
    free(text);
    return r;
}

static const unsigned char *data_of(const buf *b) { return b->p + 8 + header_len(b); }
static size_t data_len(const buf *b) { return b->n - 8 - (size_t)header_len(b); }

/* Read bytes as a file (or a pipe) named x.spk; it must fail with a
 * message containing every one of the given fragments. */
static void expect_fail_with(const void *p, size_t n, int as_pipe, const char *name,
                             const char *frag1, const char *frag2)
{
    sp_model *m;
    if (as_pipe) {
        int fd[2];
        if (pipe(fd) != 0)
            return (void)CHECKF(0, name, "pipe failed");
        pid_t pid = fork();
        if (pid == 0) {
            close(fd[0]);
            size_t off = 0;
            while (off < n) {
                ssize_t k = write(fd[1], (const char *)p + off, n - off);
                if (k <= 0)
                    _exit(1);
                off += (size_t)k;
            }
            _exit(0);
        }
        close(fd[1]);
        FILE *f = fdopen(fd[0], "rb");
        m = sp_ckpt_read(f, "x.spk");
        fclose(f);
        waitpid(pid, NULL, 0);
    } else {
        FILE *f = file_of(p, n);
        m = sp_ckpt_read(f, "x.spk");
        fclose(f);
    }
    const char *e = sp_error();
    int ok = !m && strncmp(e, "'x.spk' ", 8) == 0 && strstr(e, frag1) &&
             (!frag2 || strstr(e, frag2)) && !strchr(e, '\n');
    CHECKF(ok, name, "%s", m ? "read succeeded" : e);
    sp_model_free(m);
}

static void expect_fail(const buf *b, const char *name, const char *frag1, const char *frag2)
{
    expect_fail_with(b->p, b->n, 0, name, frag1, frag2);
}

/* Edit the header of good with edit(), keep the data, expect failure. */
static void header_case(const buf *good, const char *name, void (*edit)(cJSON *),
                        const char *frag1, const char *frag2)
{
    cJSON *h = header_of(good);
    edit(h);
    buf b = rebuild(h, data_of(good), data_len(good));
    expect_fail(&b, name, frag1, frag2);
    cJSON_Delete(h);
    free(b.p);
}

static cJSON *meta_of(cJSON *h) { return cJSON_GetObjectItem(h, "__metadata__"); }
static cJSON *entry(cJSON *h, const char *t) { return cJSON_GetObjectItem(h, t); }

static void set_raw(cJSON *o, const char *key, const char *raw)
{
    cJSON_ReplaceItemInObject(o, key, cJSON_CreateRaw(raw));
}

static void e_dtype(cJSON *h) { cJSON_ReplaceItemInObject(entry(h, "state.f16"), "dtype", cJSON_CreateString("F17")); }
static void e_shape(cJSON *h) { set_raw(entry(h, "features.1.weight"), "shape", "[5]"); }
static void e_ndim(cJSON *h) { set_raw(entry(h, "state.f32"), "shape", "[2,3,1,2,1]"); }
static void e_negative(cJSON *h) { set_raw(entry(h, "state.u8"), "shape", "[-5]"); }
static void e_no_meta(cJSON *h) { cJSON_DeleteItemFromObject(h, "__metadata__"); }
static void e_no_format(cJSON *h) { cJSON_DeleteItemFromObject(meta_of(h), "format"); }
static void e_format(cJSON *h) { cJSON_ReplaceItemInObject(meta_of(h), "format", cJSON_CreateString("pt")); }
static void e_version(cJSON *h) { cJSON_ReplaceItemInObject(meta_of(h), "version", cJSON_CreateString("2")); }
static void e_crc_key(cJSON *h) { cJSON_DeleteItemFromObject(meta_of(h), "crc32"); }
static void e_crc_upper(cJSON *h)
{
    cJSON *c = cJSON_GetObjectItem(meta_of(h), "crc32");
    for (char *s = c->valuestring; *s; s++)
        if (*s >= 'a' && *s <= 'f')
            *s = (char)(*s - 'a' + 'A');
    if (!strpbrk(c->valuestring, "ABCDEF"))
        c->valuestring[0] = 'X';
}
static void e_no_graph(cJSON *h) { cJSON_DeleteItemFromObject(meta_of(h), "graph"); }
static void e_meta_num(cJSON *h) { cJSON_ReplaceItemInObject(meta_of(h), "beta", cJSON_CreateNumber(0.5)); }
static void e_bad_graph(cJSON *h) { cJSON_ReplaceItemInObject(meta_of(h), "graph", cJSON_CreateString("{\"arch\":1}")); }
static void e_rename(cJSON *h)
{
    cJSON *e = cJSON_DetachItemFromObject(h, "features.1.bias");
    cJSON_AddItemToObject(h, "features.1.bias2", e);
}
static void e_param_shape(cJSON *h) { set_raw(entry(h, "features.0.weight"), "shape", "[3,4,3,3]"); }
static void e_param_dtype(cJSON *h) { cJSON_ReplaceItemInObject(entry(h, "features.0.weight"), "dtype", cJSON_CreateString("I32")); }

/* Shift a tensor's range by delta bytes (and every later one by later). */
static void shift_from(cJSON *h, const char *first, long delta, long later)
{
    int on = 0;
    for (cJSON *j = h->child; j; j = j->next) {
        if (strcmp(j->string, "__metadata__") == 0)
            continue;
        if (strcmp(j->string, first) == 0)
            on = 1;
        else if (on == 1)
            on = 2;
        if (!on)
            continue;
        long d = on == 1 ? delta : later;
        cJSON *off = cJSON_GetObjectItem(j, "data_offsets");
        char raw[64];
        snprintf(raw, sizeof raw, "[%.0f,%.0f]", cJSON_GetArrayItem(off, 0)->valuedouble + d,
                 cJSON_GetArrayItem(off, 1)->valuedouble + d);
        set_raw(j, "data_offsets", raw);
    }
}
static void e_overlap(cJSON *h) { shift_from(h, "features.1.weight", -4, 0); }
static void e_gap(cJSON *h) { shift_from(h, "features.1.weight", 8, 8); }
static void e_dup(cJSON *h)
{
    cJSON_AddItemToObject(h, "state.u8", cJSON_Duplicate(entry(h, "state.u8"), 1));
}

static void e_meta_dup(cJSON *h)
{
    cJSON_AddItemToObject(meta_of(h), "beta", cJSON_CreateString("again"));
}

static void test_round_trips(const sp_model *m, const buf *good)
{
    FILE *f = file_of(good->p, good->n);
    check_same(m, sp_ckpt_read(f, "x.spk"), "round trip through a file");
    fclose(f);

    /* Two checkpoints back to back in one pipe: the reader stops exactly
     * at the end of the first. */
    int fd[2];
    if (pipe(fd) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        FILE *w = fdopen(fd[1], "wb");
        int rc = sp_ckpt_write(w, m) | sp_ckpt_write(w, m);
        _exit(rc || fclose(w) ? 1 : 0);
    }
    close(fd[1]);
    FILE *r = fdopen(fd[0], "rb");
    check_same(m, sp_ckpt_read(r, "pipe"), "round trip through a pipe");
    check_same(m, sp_ckpt_read(r, "pipe"), "second checkpoint in the same pipe");
    CHECK(fgetc(r) == EOF, "pipe ends after the second checkpoint");
    fclose(r);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pipe writer succeeded");

    unsigned char head[8];
    f = file_of(good->p, good->n);
    CHECK(fread(head, 1, 8, f) == 8, "read 8 bytes ahead");
    check_same(m, sp_ckpt_read_after(f, "x.spk", head, 8), "round trip after a peeked prefix");
    fclose(f);
    f = file_of(good->p, good->n);
    CHECK(fread(head, 1, 3, f) == 3, "read 3 bytes ahead");
    check_same(m, sp_ckpt_read_after(f, "x.spk", head, 3), "round trip after a short prefix");
    fclose(f);

    sp_model *c = sp_model_clone(m);
    buf b2 = to_bytes(c);
    CHECK(b2.n == good->n && memcmp(b2.p, good->p, b2.n) == 0, "a clone writes the same bytes");
    free(b2.p);
    sp_model_free(c);
}

/* The bytes on disk follow sp-checkpoint(5), checked without sp's reader. */
static void test_layout(const sp_model *m, const buf *good)
{
    uint64_t n = header_len(good);
    CHECKF(n % 8 == 0 && 8 + n <= good->n, "header length padded to 8", "%llu", (unsigned long long)n);
    cJSON *h = header_of(good);
    CHECK(h && strcmp(h->child->string, "__metadata__") == 0, "metadata comes first");
    const cJSON *meta = meta_of(h);
    CHECK(strcmp(cJSON_GetObjectItem(meta, "format")->valuestring, "sp-checkpoint") == 0, "format key");
    CHECK(strcmp(cJSON_GetObjectItem(meta, "version")->valuestring, "1") == 0, "version key");
    char crc[16];
    snprintf(crc, sizeof crc, "%08lx", crc32(0, data_of(good), (uInt)data_len(good)));
    CHECKF(strcmp(cJSON_GetObjectItem(meta, "crc32")->valuestring, crc) == 0, "crc32 key is zlib's CRC",
           "%s vs %s", cJSON_GetObjectItem(meta, "crc32")->valuestring, crc);
    CHECK(strcmp(cJSON_GetObjectItem(meta, "note")->valuestring, "hello \"world\"\n") == 0, "free metadata kept");
    int i = 0, ok = 1;
    double at = 0;
    for (const cJSON *j = meta->next; j; j = j->next, i++) {
        const cJSON *off = cJSON_GetObjectItem(j, "data_offsets");
        ok &= i < m->n && strcmp(j->string, m->t[i].name) == 0 &&
              cJSON_GetArrayItem(off, 0)->valuedouble == at &&
              cJSON_GetArrayItem(off, 1)->valuedouble == at + (double)sp_tensor_bytes(&m->t[i]) &&
              memcmp(data_of(good) + (size_t)at, m->t[i].data, sp_tensor_bytes(&m->t[i])) == 0;
        at += (double)sp_tensor_bytes(&m->t[i]);
    }
    CHECKF(ok && i == m->n && at == (double)data_len(good), "tensors contiguous in model order",
           "%d of %d", i, m->n);
    size_t end = 8 + n;
    while (end > 8 && good->p[end - 1] == ' ')
        end--;
    CHECK(end > 8 && good->p[end - 1] == '}' && end + 8 > 8 + n, "header padded with spaces");
    cJSON_Delete(h);
}

static void test_truncation(const buf *good)
{
    size_t hl = (size_t)header_len(good);
    char frag[128];
    expect_fail_with(good->p, 0, 0, "empty file", "is empty", NULL);
    expect_fail_with(good->p, 5, 0, "cut inside the length", "too short", NULL);
    expect_fail_with(good->p, 8 + hl / 2, 0, "cut inside the header", "is truncated", "header is");
    snprintf(frag, sizeof frag, "describes %zu bytes of tensor data but the file holds 100", data_len(good));
    expect_fail_with(good->p, 8 + hl + 100, 0, "cut inside the data", frag, NULL);
    snprintf(frag, sizeof frag, "describes %zu bytes of tensor data but the input holds 100", data_len(good));
    expect_fail_with(good->p, 8 + hl + 100, 1, "cut inside the data, through a pipe", frag, NULL);
    snprintf(frag, sizeof frag, "but the file holds %zu", data_len(good) - 1);
    expect_fail_with(good->p, good->n - 1, 0, "last byte missing", frag, NULL);
    expect_fail_with(good->p, 8 + hl / 2, 1, "cut inside the header, through a pipe", "is truncated", NULL);
    expect_fail_with(good->p, 8 + hl, 1, "no data at all, through a pipe", "the input holds 0", NULL);

    buf b = {malloc(good->n + 3), good->n + 3};
    memcpy(b.p, good->p, good->n);
    memcpy(b.p + good->n, "abc", 3);
    expect_fail(&b, "trailing garbage", "is damaged: 3 unexpected bytes follow its tensor data", NULL);
    free(b.p);
}

static void test_damage(const buf *good)
{
    buf b = {malloc(good->n), good->n};
    size_t hl = (size_t)header_len(good), flip = 8 + hl + data_len(good) / 2;
    memcpy(b.p, good->p, good->n);
    b.p[flip] ^= 0x10;
    char frag[128];
    snprintf(frag, sizeof frag, "is damaged: CRC-32 of the tensor data is %08lx, the header says %08lx",
             crc32(0, data_of(&b), (uInt)data_len(&b)), crc32(0, data_of(good), (uInt)data_len(good)));
    expect_fail(&b, "bit flip in the data", frag, NULL);
    expect_fail_with(b.p, b.n, 1, "bit flip in the data, through a pipe", frag, NULL);

    memcpy(b.p, good->p, good->n);
    b.p[8] ^= 0x04;                         /* '{' becomes '\x7f' */
    expect_fail(&b, "bit flip in the first header byte", "not an sp checkpoint (no safetensors header)", NULL);
    memcpy(b.p, good->p, good->n);
    b.p[8 + 1] ^= 0x01;                     /* the opening quote of "__metadata__" */
    expect_fail(&b, "bit flip in the header JSON", "JSON header is invalid", NULL);
    memcpy(b.p, good->p, good->n);
    b.p[8 + hl - 1] = 'x';                  /* text after the closing brace */
    expect_fail(&b, "text in the header padding", "after the closing brace", NULL);
    memcpy(b.p, good->p, good->n);
    b.p[7] = 0x40;                          /* length far beyond the limit */
    expect_fail(&b, "huge header length", "not an sp checkpoint (no safetensors header)", NULL);
    free(b.p);

    unsigned char noise[4096];
    unsigned seed = 7;
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (unsigned char)(rand_r(&seed) >> 5);
    expect_fail_with(noise, sizeof noise, 0, "random bytes", "not an sp checkpoint", NULL);
    const char *text = "this is a text file, not a checkpoint\n";
    expect_fail_with(text, strlen(text), 0, "text file", "not an sp checkpoint (no safetensors header)", NULL);
    expect_fail_with(text, strlen(text), 1, "text through a pipe", "not an sp checkpoint", NULL);
}

static void test_header_rules(const buf *good)
{
    header_case(good, "unknown dtype", e_dtype, "tensor 'state.f16' of unknown dtype 'F17'", NULL);
    header_case(good, "shape and range disagree", e_shape, "tensor 'features.1.weight' (F32 5) needs 20 bytes",
                "span 16");
    header_case(good, "more than 4 dimensions", e_ndim, "'state.f32' with 5 dimensions", NULL);
    header_case(good, "negative dimension", e_negative, "'state.u8' has a shape that is not", NULL);
    header_case(good, "overlapping ranges", e_overlap, "tensors 'features.0.bias' and 'features.1.weight' overlap",
                NULL);
    header_case(good, "gap between ranges", e_gap, "8 bytes of the data section before tensor 'features.1.weight'",
                "belong to no tensor");
    header_case(good, "tensor described twice", e_dup, "tensor 'state.u8' is described twice", NULL);
    header_case(good, "no metadata", e_no_meta, "not an sp checkpoint (it has no __metadata__)", NULL);
    header_case(good, "no format", e_no_format, "not an sp checkpoint (its metadata has no format)", NULL);
    header_case(good, "foreign format", e_format, "its format is 'pt', not 'sp-checkpoint'", NULL);
    header_case(good, "newer version", e_version, "version '2'; this sp reads version 1", NULL);
    header_case(good, "no crc32", e_crc_key, "no crc32", NULL);
    header_case(good, "malformed crc32", e_crc_upper, "no crc32 of 8 lowercase hexadecimal digits", NULL);
    header_case(good, "no graph", e_no_graph, "lacks the graph", NULL);
    header_case(good, "metadata not a string", e_meta_num, "metadata 'beta' is not a string", NULL);
    header_case(good, "metadata key twice", e_meta_dup, "metadata 'beta' appears twice", NULL);
    header_case(good, "invalid graph", e_bad_graph, "has an invalid current graph: ", NULL);
    header_case(good, "graph parameter missing", e_rename,
                "does not match its graph: tensor 'features.1.bias' is missing", NULL);
    header_case(good, "graph parameter shape", e_param_shape,
                "does not match its graph: tensor 'features.0.weight' has shape 3x4x3x3, the graph says 4x3x3x3",
                NULL);
    header_case(good, "graph parameter dtype", e_param_dtype,
                "does not match its graph: tensor 'features.0.weight' is I32, the graph says F32", NULL);
}

/* A header in another order (as other safetensors writers make) still
 * reads, with the graph's parameters put first. */
static void test_foreign_order(const sp_model *m, const buf *good)
{
    cJSON *h = header_of(good);
    cJSON *meta = cJSON_DetachItemFromObject(h, "__metadata__");
    cJSON *rev = cJSON_CreateObject();
    while (h->child) {
        cJSON *last = h->child;
        while (last->next)
            last = last->next;
        cJSON_AddItemToObject(rev, last->string, cJSON_DetachItemViaPointer(h, last));
    }
    cJSON_AddItemToObject(rev, "__metadata__", meta);
    buf b = rebuild(rev, data_of(good), data_len(good));
    /* The extra tensors keep the header's (reversed) order. */
    sp_model *want = sp_model_clone(m);
    sp_param_info *p;
    int np = sp_graph_params(want->graph, &p);
    free(p);
    for (int i = np, j = want->n - 1; i < j; i++, j--) {
        sp_tensor t = want->t[i];
        want->t[i] = want->t[j];
        want->t[j] = t;
    }
    FILE *f = file_of(b.p, b.n);
    check_same(want, sp_ckpt_read(f, "x.spk"), "header in reverse order reads back in graph order");
    sp_model_free(want);
    fclose(f);
    free(b.p);
    cJSON_Delete(h);
    cJSON_Delete(rev);
}

static void test_write_errors(const sp_model *m)
{
    FILE *f = fopen("/dev/full", "wb");
    if (f) {
        setvbuf(f, NULL, _IONBF, 0);
        CHECKF(sp_ckpt_write(f, m) < 0 && strstr(sp_error(), "No space left"), "write error reported",
               "%s", sp_error());
        fclose(f);
    }
    sp_model *c = sp_model_clone(m);
    sp_model_remove_tensor(c, "features.1.running_var");
    f = tmpfile();
    CHECKF(sp_ckpt_write(f, c) < 0 && strstr(sp_error(), "'features.1.running_var' is missing"),
           "inconsistent model refused", "%s", sp_error());
    CHECK(ftell(f) == 0, "nothing written for a refused model");
    fclose(f);
    sp_model_free(c);
}

static void test_model_api(void)
{
    sp_model *m = sp_model_new(small_graph());
    CHECK(sp_model_check(m) == 0, "a new model is consistent");
    const sp_tensor *v = sp_model_tensor(m, "features.1.running_var");
    const sp_tensor *mk = sp_model_tensor(m, "features.2m.mask");
    const sp_tensor *w = sp_model_tensor(m, "features.0.weight");
    CHECK(v && ((float *)v->data)[3] == 1.0f, "running_var starts at 1");
    CHECK(mk && ((float *)mk->data)[0] == 1.0f, "mask starts at 1");
    CHECK(w && ((float *)w->data)[5] == 0.0f && w->ndim == 4 && w->shape[1] == 3, "conv weight zeroed, 4x3x3x3");
    CHECK(sp_model_tensor(m, "nothing") == NULL, "absent tensor is NULL");
    sp_model_set_meta(m, "a", "1");
    sp_model_set_meta(m, "b", "2");
    sp_model_set_meta(m, "a", sp_model_meta(m, "a"));
    sp_model_set_meta(m, "b", NULL);
    CHECK(m->nmeta == 1 && strcmp(sp_model_meta(m, "a"), "1") == 0 && !sp_model_meta(m, "b"), "metadata set/remove");
    int64_t s[1] = {3};
    sp_model_add_tensor(m, "x", SP_I64, 1, s);
    s[0] = 4;
    sp_model_add_tensor(m, "x", SP_U8, 1, s);
    CHECK(sp_model_tensor(m, "x")->dtype == SP_U8 && sp_model_tensor(m, "x") == &m->t[m->n - 1], "replace keeps place");
    sp_model_add_tensor(m, "y", SP_U8, 1, s);
    free(m->t[m->n - 1].name);
    m->t[m->n - 1].name = sp_xstrdup("features.1.running_var");
    CHECKF(sp_model_check(m) < 0 && strstr(sp_error(), "'features.1.running_var' is used twice"),
           "check finds a name used twice", "%s", sp_error());
    free(m->t[m->n - 1].name);
    m->t[m->n - 1].name = sp_xstrdup("y");
    sp_model_remove_tensor(m, "y");
    sp_model_remove_tensor(m, "features.0.bias");
    CHECKF(sp_model_check(m) < 0 && strstr(sp_error(), "'features.0.bias' is missing"), "check finds a missing one",
           "%s", sp_error());
    sp_model_free(m);
}

/* A parameter that is NaN or infinite is refused where it is read, named;
 * the same value in a state tensor is data like any other. */
static void test_non_finite(const sp_model *m)
{
    sp_model *c = sp_model_clone(m);
    ((float *)sp_model_tensor(c, "state.f32")->data)[1] = NAN;
    buf b = to_bytes(c);
    FILE *f = file_of(b.p, b.n);
    sp_model *r = sp_ckpt_read(f, "x.spk");
    CHECKF(r != NULL, "non-finite state kept", "%s", sp_error());
    sp_model_free(r);
    fclose(f);
    free(b.p);
    ((float *)c->t[0].data)[2] = -INFINITY;
    b = to_bytes(c);
    char want[128];
    snprintf(want, sizeof want, "element 2 of tensor '%s' is infinite", c->t[0].name);
    expect_fail_with(b.p, b.n, 0, "non-finite parameter refused", "is damaged", want);
    free(b.p);
    sp_model_free(c);
}

int main(void)
{
    test_model_api();
    sp_model *m = sample_model();
    buf good = to_bytes(m);
    test_layout(m, &good);
    test_round_trips(m, &good);
    test_foreign_order(m, &good);
    test_truncation(&good);
    test_damage(&good);
    test_header_rules(&good);
    test_write_errors(m);
    test_non_finite(m);
    free(good.p);
    sp_model_free(m);
    return t_done();
}
