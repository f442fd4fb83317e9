/* test_safetensors.c: plain safetensors files (sp_safetensors_read/write):
 * a file laid out by hand here is read correctly, a round trip keeps names,
 * order, dtypes, shapes, bytes and metadata, and damaged input fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sp/base.h"
#include "sp/model.h"
#include "sp/safetensors.h"
#include "testlib.h"

/* Bytes exactly as the safetensors specification lays them out. */
static FILE *hand_made(size_t cut)
{
    static const char json[] =
        "{\"__metadata__\":{\"who\":\"test\"},"
        "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    float a[2] = {1.5f, -2.0f};
    int64_t b = 42;
    uint64_t len = sizeof json - 1;
    FILE *f = tmpfile();
    unsigned char hdr[8];
    for (int i = 0; i < 8; i++)
        hdr[i] = (unsigned char)(len >> (8 * i));
    unsigned char buf[512];
    size_t n = 0;
    memcpy(buf + n, hdr, 8), n += 8;
    memcpy(buf + n, json, len), n += len;
    memcpy(buf + n, a, sizeof a), n += sizeof a;
    memcpy(buf + n, &b, sizeof b), n += sizeof b;
    fwrite(buf, 1, n - cut, f);
    rewind(f);
    return f;
}

static void free_all(sp_tensor *t, int n, sp_meta_entry *m, int nm)
{
    for (int i = 0; i < n; i++)
        sp_tensor_free(&t[i]);
    for (int i = 0; i < nm; i++) {
        free(m[i].key);
        free(m[i].value);
    }
    free(t);
    free(m);
}

/* n one-byte tensors "t0".."t<n-1>" in one header; dup > 0 names the last
 * one as tensor dup - 1 instead. */
static FILE *many(int n, int dup)
{
    FILE *f = tmpfile();
    char *json = NULL;
    size_t len = 0;
    FILE *j = open_memstream(&json, &len);
    fputc('{', j);
    for (int i = 0; i < n; i++)
        fprintf(j, "%s\"t%d\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%d,%d]}",
                i ? "," : "", dup && i == n - 1 ? dup - 1 : i, i, i + 1);
    fputc('}', j);
    fclose(j);
    for (int i = 0; i < 8; i++)
        fputc((int)((uint64_t)len >> (8 * i)) & 0xff, f);
    fwrite(json, 1, len, f);
    for (int i = 0; i < n; i++)
        fputc(i & 0xff, f);
    free(json);
    rewind(f);
    return f;
}

/* CPU seconds to read a header of n tensors (-1 if it fails). */
static double read_many(int n)
{
    sp_tensor *t;
    int got;
    FILE *f = many(n, 0);
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    int rc = sp_safetensors_read(f, "many", &t, &got, NULL, NULL);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    fclose(f);
    if (rc < 0 || got != n || ((unsigned char *)t[n - 1].data)[0] != (n - 1) % 256)
        return -1;
    free_all(t, got, NULL, 0);
    return (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
}

/* Checking names for duplicates costs n log n, not n^2: four times the
 * tensors cost about four times the CPU time (sixteen, were it pairwise),
 * whatever the machine's speed or load. */
static void test_many_tensors(void)
{
    enum { N = 40000 };
    double small = read_many(N), large = read_many(4 * N);
    CHECKF(small >= 0 && large >= 0, "many-tensors-read", "%s", sp_error());
    CHECKF(large < 8 * small + 0.05, "many-tensors-n-log-n", "%.3f s for %d tensors, %.3f s for %d",
           small, N, large, 4 * N);
    sp_tensor *t;
    int n;
    FILE *f = many(4 * N, 17);
    CHECKF(sp_safetensors_read(f, "many", &t, &n, NULL, NULL) < 0 &&
           strstr(sp_error(), "tensor 't16' is described twice"), "many-tensors-duplicate",
           "%s", sp_error());
    fclose(f);
}

int main(void)
{
    test_many_tensors();
    sp_tensor *t;
    sp_meta_entry *m;
    int n, nm;
    FILE *f = hand_made(0);
    int rc = sp_safetensors_read(f, "hand.safetensors", &t, &n, &m, &nm);
    fclose(f);
    CHECKF(rc == 0, "read a hand-made file", "%s", sp_error());
    if (rc == 0) {
        CHECK(n == 2 && strcmp(t[0].name, "b") == 0 && strcmp(t[1].name, "a") == 0,
              "tensors in header order");
        CHECK(t[0].dtype == SP_I64 && t[0].ndim == 0 && *(int64_t *)t[0].data == 42, "scalar I64");
        CHECK(t[1].dtype == SP_F32 && t[1].shape[0] == 2 && ((float *)t[1].data)[1] == -2.0f,
              "F32 vector");
        CHECK(nm == 1 && strcmp(m[0].key, "who") == 0 && strcmp(m[0].value, "test") == 0,
              "metadata");

        FILE *g = tmpfile();
        CHECKF(sp_safetensors_write(g, t, n, m, nm) == 0, "write", "%s", sp_error());
        rewind(g);
        sp_tensor *t2;
        sp_meta_entry *m2;
        int n2, nm2;
        rc = sp_safetensors_read(g, "copy", &t2, &n2, &m2, &nm2);
        fclose(g);
        CHECKF(rc == 0 && n2 == n && nm2 == nm, "round trip reads", "%s", sp_error());
        int same = rc == 0;
        for (int i = 0; same && i < n; i++)
            same = strcmp(t[i].name, t2[i].name) == 0 && t[i].dtype == t2[i].dtype &&
                   sp_shape_equal(t[i].ndim, t[i].shape, t2[i].ndim, t2[i].shape) &&
                   memcmp(t[i].data, t2[i].data, sp_tensor_bytes(&t[i])) == 0;
        CHECK(same, "round trip keeps names, dtypes, shapes and bytes");
        if (rc == 0)
            free_all(t2, n2, m2, nm2);
        free_all(t, n, m, nm);
    }
    f = hand_made(3);
    rc = sp_safetensors_read(f, "cut.safetensors", &t, &n, &m, &nm);
    fclose(f);
    CHECKF(rc < 0 && strstr(sp_error(), "'cut.safetensors' is truncated"), "truncated refused",
           "rc %d: %s", rc, sp_error());
    return t_done();
}
