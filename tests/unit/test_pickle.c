/* test_pickle.c: the restricted pickle machine, the .pth writer and reader.
 *
 * The pickles below are written by hand from the opcode table of Python's
 * pickletools (each byte commented), so the expected values are independent
 * of the code under test.  Hostile pickles must be refused with a sentence
 * naming what they reach for; random corruptions of a valid pickle must be
 * refused or accepted, never crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sp/prune.h"
#include "interop/protobuf_priv.h"
#include "sp/export.h"
#include "sp/torch.h"
#include "testlib.h"

#define PK(s) (const unsigned char *)(s), sizeof(s) - 1

static sp_pickle *load(const unsigned char *p, size_t n)
{
    return sp_pickle_load(p, n, "test.pth", NULL);
}

static int refused_with(const unsigned char *p, size_t n, const char *needle)
{
    sp_pickle *pk = load(p, n);
    if (pk) {
        sp_pickle_free(pk);
        return 0;
    }
    return strstr(sp_error(), needle) != NULL;
}

static void test_data_opcodes(void)
{
    /* {'a': 1, 'b': -2, 'c': 300, 'd': 70000, 'e': -5 (LONG1), 'f': 1.5,
     *  'g': (True, None, 'x'), 'h': [7, 7 (memo)], 'i': b'zz'} */
    static const char p[] =
        "\x80\x02" "}" "q\x00" "("
        "X\x01\x00\x00\x00" "a" "K\x01"
        "X\x01\x00\x00\x00" "b" "J\xfe\xff\xff\xff"
        "\x8c\x01" "c" "M\x2c\x01"
        "\x8c\x01" "d" "J\x70\x11\x01\x00"
        "\x8c\x01" "e" "\x8a\x01\xfb"
        "\x8c\x01" "f" "G\x3f\xf8\x00\x00\x00\x00\x00\x00"
        "\x8c\x01" "g" "\x88" "N" "\x8c\x01" "x" "\x87"
        "\x8c\x01" "h" "]" "K\x07" "\x94" "a" "h\x01" "a"
        "\x8c\x01" "i" "C\x02" "zz"
        "u" ".";
    sp_pickle *pk = load(PK(p));
    CHECKF(pk != NULL, "pickle_data_loads", "%s", sp_error());
    if (!pk)
        return;
    const sp_pk_value *d = sp_pickle_root(pk), *v;
    CHECK(d->kind == SP_PK_DICT && d->n == 18, "pickle_dict_size");
    CHECK((v = sp_pk_dict_get(d, "a")) && v->kind == SP_PK_INT && v->i == 1, "pickle_binint1");
    CHECK((v = sp_pk_dict_get(d, "b")) && v->i == -2, "pickle_binint_negative");
    CHECK((v = sp_pk_dict_get(d, "c")) && v->i == 300, "pickle_binint2");
    CHECK((v = sp_pk_dict_get(d, "d")) && v->i == 70000, "pickle_binint");
    CHECK((v = sp_pk_dict_get(d, "e")) && v->i == -5, "pickle_long1_negative");
    CHECK((v = sp_pk_dict_get(d, "f")) && v->kind == SP_PK_FLOAT && v->f == 1.5, "pickle_binfloat");
    v = sp_pk_dict_get(d, "g");
    CHECK(v && v->kind == SP_PK_TUPLE && v->n == 3 && v->item[0]->kind == SP_PK_BOOL &&
          v->item[0]->i == 1 && v->item[1]->kind == SP_PK_NONE &&
          strcmp(v->item[2]->s, "x") == 0, "pickle_tuple3");
    v = sp_pk_dict_get(d, "h");
    CHECK(v && v->kind == SP_PK_LIST && v->n == 2 && v->item[1]->i == 7, "pickle_memoize_binget");
    v = sp_pk_dict_get(d, "i");
    CHECK(v && v->kind == SP_PK_BYTES && v->len == 2, "pickle_short_binbytes");
    sp_pickle_free(pk);
}

/* OrderedDict({'w': _rebuild_tensor_v2(persistent('storage', HalfStorage,
 * '0', 'cpu', 6), 1, (2, 2), (1, 3), False, OrderedDict())}) as torch
 * writes it, with STACK_GLOBAL for the first global. */
static const char tensor_pickle[] =
    "\x80\x02"
    "\x8c\x0b" "collections" "\x8c\x0b" "OrderedDict" "\x93" "q\x00" ")R"
    "X\x01\x00\x00\x00" "w"
    "ctorch._utils\n_rebuild_tensor_v2\n"
    "("
    "(" "X\x07\x00\x00\x00" "storage" "ctorch\nHalfStorage\n" "X\x01\x00\x00\x00" "0"
    "X\x03\x00\x00\x00" "cpu" "K\x06" "t" "Q"
    "K\x01" "K\x02K\x02\x86" "K\x01K\x03\x86" "\x89" "h\x00" ")R"
    "t" "R" "s" ".";

static void test_tensor_record(void)
{
    sp_pickle *pk = load(PK(tensor_pickle));
    CHECKF(pk != NULL, "pickle_tensor_loads", "%s", sp_error());
    if (!pk)
        return;
    const sp_pk_value *t = sp_pk_dict_get(sp_pickle_root(pk), "w");
    CHECK(t && t->kind == SP_PK_TENSOR, "pickle_tensor_kind");
    if (t && t->kind == SP_PK_TENSOR) {
        CHECK(t->dtype == SP_F16 && strcmp(t->storage->s, "0") == 0 && t->storage->i == 6,
              "pickle_tensor_storage");
        CHECK(t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 2 && t->stride[0] == 1 &&
              t->stride[1] == 3 && t->offset == 1, "pickle_tensor_view");
    }
    int n;
    sp_pickle_storages(pk, &n);
    CHECK(n == 1, "pickle_storage_list");
    sp_pickle_free(pk);
}

static void test_refusals(void)
{
    CHECK(refused_with(PK("\x80\x02" "cos\nsystem\n" "X\x02\x00\x00\x00" "ls" "\x85R."),
                       "os.system"), "pickle_refuses_os_system");
    CHECK(refused_with(PK("\x80\x02" "\x8c\x05" "posix" "\x8c\x06" "system" "\x93" "."),
                       "posix.system"), "pickle_refuses_stack_global");
    CHECK(refused_with(PK("\x80\x02" "cbuiltins\neval\n."), "builtins.eval"),
          "pickle_refuses_eval");
    CHECK(refused_with(PK("\x80\x02" "ccollections\nCounter\n" ")R."), "collections.Counter"),
          "pickle_refuses_reduce_unknown");
    CHECK(refused_with(PK("\x80\x02" "ctorch\nFloatStorage\n" ")R."), "torch.FloatStorage"),
          "pickle_refuses_calling_storage");
    CHECK(refused_with(PK("\x80\x02" "c__main__\nNet\n" ")\x81."), "state_dict()"),
          "pickle_refuses_user_module");
    CHECK(refused_with(PK("\x80\x02" "ctorch.nn.modules.conv\nConv2d\n."), "state_dict()"),
          "pickle_refuses_torch_module");
    CHECK(refused_with(PK("(ios\nsystem\n."), "INST"), "pickle_refuses_inst");
    CHECK(refused_with(PK("(ccollections\nOrderedDict\no."), "OBJ"), "pickle_refuses_obj");
    CHECK(refused_with(PK("\x80\x02" "h\x05."), "memo"), "pickle_unset_memo");
    CHECK(refused_with(PK("\x80\x02" "}X\x10\x00\x00\x00" "ab"), "truncated"),
          "pickle_truncated_string");
    CHECK(refused_with(PK("\x80\x02" "s."), "underflow"), "pickle_underflow");
    CHECK(refused_with(PK("\x80\x02" "}"), "no STOP"), "pickle_no_stop");
}

/* Flip bytes of a valid pickle at random: every result is an error or a
 * value, never a crash (run under the sanitizers of a debug build). */
static void test_corruptions(void)
{
    size_t n = sizeof(tensor_pickle) - 1;
    unsigned char *buf = malloc(n);
    uint32_t s = 12345;
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(buf, tensor_pickle, n);
        for (int k = 0; k < 3; k++) {
            s = s * 1103515245u + 12345u;
            buf[(s >> 8) % n] = (unsigned char)(s >> 20);
        }
        s = s * 1103515245u + 12345u;
        size_t len = (s >> 8) % (n + 1);
        sp_pickle *pk = sp_pickle_load(buf, len, "fuzz", NULL);
        accepted += pk != NULL;
        sp_pickle_free(pk);
    }
    free(buf);
    CHECKF(1, "pickle_corruptions_survive", "%d accepted", accepted);
}

/* Corrupt PyTorch-written files (legacy and zip) at random places: each
 * load is refused or succeeds, never crashes or runs away. */
static void test_corrupt_files(void)
{
    static const char *const files[] = { "tests/fixtures/interop/resnet20_legacy.pth",
                                         "tests/fixtures/interop/resnet20.pth" };
    for (size_t fi = 0; fi < SP_COUNT(files); fi++) {
        FILE *f = fopen(files[fi], "rb");
        CHECKF(f != NULL, "corrupt_files_fixture", "cannot open %s", files[fi]);
        if (!f)
            continue;
        unsigned char *orig = malloc(1 << 20), *buf = malloc(1 << 20);
        size_t n = fread(orig, 1, 1 << 20, f);
        fclose(f);
        sp_tensor *t;
        int nt, ok = 0;
        uint32_t s = 777 + (uint32_t)fi;
        for (int iter = 0; iter < 200; iter++) {
            memcpy(buf, orig, n);
            for (int k = 0; k < 4; k++) {
                s = s * 1103515245u + 12345u;
                /* mostly the pickles and headers, which sit in the first kilobytes */
                size_t at = (k < 3 ? (s >> 8) % (n < 4096 ? n : 4096) : (s >> 4) % n);
                s = s * 1103515245u + 12345u;
                buf[at] = (unsigned char)(s >> 24);
            }
            FILE *mf = fmemopen(buf, n, "rb");
            if (sp_torch_load(mf, "corrupt.pth", &t, &nt) == 0) {
                ok++;
                for (int i = 0; i < nt; i++)
                    sp_tensor_free(&t[i]);
                free(t);
            }
            fclose(mf);
        }
        CHECKF(1, fi ? "corrupt_zip_survives" : "corrupt_legacy_survives", "%d loaded", ok);
        free(orig);
        free(buf);
    }
}

/* sp_pth_write then sp_torch_load: same names, shapes and values. */
static void test_pth_round_trip(void)
{
    sp_tensor t[2];
    int64_t s0[2] = { 3, 5 };
    sp_tensor_init(&t[0], "layer.weight", SP_F32, 2, s0);
    for (int i = 0; i < 15; i++)
        ((float *)t[0].data)[i] = (float)i * 0.25f - 1;
    sp_tensor_init(&t[1], "bn.num_batches_tracked", SP_I64, 0, NULL);
    *(int64_t *)t[1].data = 1234567890123LL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc = sp_pth_write(f, t, 2);
    fclose(f);
    CHECKF(rc == 0, "pth_write", "%s", sp_error());
    CHECK(len > 64 && memcmp(buf, "PK\003\004", 4) == 0, "pth_is_zip");
    f = fmemopen(buf, len, "rb");
    sp_tensor *r = NULL;
    int n = 0;
    rc = sp_torch_load(f, "round.pth", &r, &n);
    fclose(f);
    CHECKF(rc == 0 && n == 2, "pth_read_back", "%s", sp_error());
    if (rc == 0 && n == 2) {
        CHECK(strcmp(r[0].name, "layer.weight") == 0 && r[0].ndim == 2 && r[0].shape[1] == 5 &&
              memcmp(r[0].data, t[0].data, 60) == 0, "pth_tensor_equal");
        CHECK(r[1].dtype == SP_I64 && r[1].ndim == 0 &&
              *(int64_t *)r[1].data == 1234567890123LL, "pth_int64_scalar");
    }
    for (int i = 0; i < n; i++)
        sp_tensor_free(&r[i]);
    free(r);
    sp_tensor_free(&t[0]);
    sp_tensor_free(&t[1]);
    free(buf);
}

/* A checkpoint of many tensors: each storage is found through an index of
 * the keys, not by comparing it with every other (tens of seconds here
 * when the reader matched them pairwise). */
static void test_many_storages(void)
{
    enum { N = 40000 };
    sp_tensor *t = sp_xcalloc(N, sizeof *t);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "layers.%d.scale", i);
        sp_tensor_init(&t[i], name, SP_F32, 0, NULL);
        *(float *)t[i].data = (float)i;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc = sp_pth_write(f, t, N);
    fclose(f);
    sp_tensor *r = NULL;
    int n = 0;
    clock_t t0 = clock();
    f = rc == 0 ? fmemopen(buf, len, "rb") : NULL;
    rc = f ? sp_torch_load(f, "many.pth", &r, &n) : -1;
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    if (f)
        fclose(f);
    CHECKF(rc == 0 && n == N && strcmp(r[N - 1].name, "layers.39999.scale") == 0 &&
           *(float *)r[N - 1].data == (float)(N - 1) && *(float *)r[12345].data == 12345.0f,
           "pth_many_storages", "%s", sp_error());
    CHECKF(secs < 10, "pth_many_storages_fast", "%.1f s of CPU for %d tensors", secs, N);
    for (int i = 0; i < n; i++)
        sp_tensor_free(&r[i]);
    free(r);
    for (int i = 0; i < N; i++)
        sp_tensor_free(&t[i]);
    free(t);
    free(buf);
}

static void test_protobuf(void)
{
    sp_pb b = { 0 };
    sp_pb_int(&b, 1, 300);       /* 08 ac 02 */
    sp_pb_str(&b, 2, "hi");      /* 12 02 68 69 */
    sp_pb_float(&b, 3, 1.0f);    /* 1d 00 00 80 3f */
    static const unsigned char want[] = { 0x08, 0xac, 0x02, 0x12, 0x02, 0x68, 0x69,
                                          0x1d, 0x00, 0x00, 0x80, 0x3f };
    CHECK(b.n == sizeof want && memcmp(b.p, want, sizeof want) == 0, "protobuf_encoding");
    sp_pb_free(&b);
}

/* input 3x4x4 -> conv -> bn -> relu -> mask -> flatten -> linear */
static sp_model *masked_model(void)
{
    sp_graph *g = sp_graph_new("", 3, 4, 4);
    sp_node n[6] = {
        { .op = SP_OP_CONV, .name = "conv", .in = { 0, -1 }, .cin = 3, .cout = 4, .kh = 3,
          .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .groups = 1, .bias = 1 },
        { .op = SP_OP_BN, .name = "bn", .in = { 1, -1 }, .cout = 4, .eps = 1e-5f, .momentum = 0.1f },
        { .op = SP_OP_RELU, .name = "relu", .in = { 2, -1 } },
        { .op = SP_OP_MASK, .name = "mask", .in = { 3, -1 }, .cout = 4 },
        { .op = SP_OP_FLATTEN, .name = "flatten", .in = { 4, -1 } },
        { .op = SP_OP_LINEAR, .name = "fc", .in = { 5, -1 }, .cin = 64, .cout = 2, .bias = 1 },
    };
    for (int i = 0; i < 6; i++)
        sp_graph_add(g, &n[i]);
    if (sp_graph_infer(g) < 0) {
        sp_graph_free(g);
        return NULL;
    }
    return sp_model_new(g);
}

static int has_bytes(const char *buf, size_t len, const char *s)
{
    return memmem(buf, len, s, strlen(s)) != NULL;
}

/* Masks never reach a state_dict: all ones they are dropped, otherwise
 * the export is refused; ONNX writes a channel mask as Mul. */
static void test_masks(void)
{
    sp_model *m = masked_model();
    CHECKF(m != NULL, "mask_model_builds", "%s", sp_error());
    if (!m)
        return;
    sp_tensor *t;
    int n, masks = 0;
    int rc = sp_export_tensors(m, &t, &n);
    CHECKF(rc == 0, "mask_ones_exported", "%s", sp_error());
    for (int i = 0; rc == 0 && i < n; i++) {
        masks += strstr(t[i].name, "mask") != NULL;
        sp_tensor_free(&t[i]);
    }
    if (rc == 0)
        free(t);
    CHECK(rc == 0 && masks == 0 && n == 9, "mask_not_in_state_dict");
    ((float *)sp_model_tensor(m, "mask.mask")->data)[1] = 0;
    rc = sp_export_tensors(m, &t, &n);
    CHECK(rc < 0 && strstr(sp_error(), "sp-compress"), "mask_partial_refused");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rc = sp_onnx_write(f, m, 1);
    fclose(f);
    CHECKF(rc == 0 && has_bytes(buf, len, "Mul") && has_bytes(buf, len, "mask.mask") &&
           !has_bytes(buf, len, "BatchNormalization"), "onnx_mask_as_mul_bn_folded",
           "%s", sp_error());
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    rc = sp_onnx_write(f, m, 0);
    fclose(f);
    CHECK(rc == 0 && has_bytes(buf, len, "BatchNormalization"), "onnx_no_fold_keeps_bn");
    free(buf);
    sp_model_free(m);
}

static sp_model *import_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    sp_tensor *t;
    int n;
    sp_model *m = NULL;
    if (sp_torch_load(f, path, &t, &n) == 0) {
        m = sp_import_model(t, n, NULL, path);
        for (int i = 0; i < n; i++)
            sp_tensor_free(&t[i]);
        free(t);
    }
    fclose(f);
    return m;
}

/* Prune every other channel of every prunable anchor with sp_prune_channels,
 * write the state_dict as .pth, import it again: the same widths, names and
 * values come back, so pruned networks (depthwise convs included) survive
 * export and import. */
static void test_pruned_round_trip(const char *path, const char *name)
{
    sp_model *m = import_file(path);
    char what[96];
    snprintf(what, sizeof what, "%s_import", name);
    CHECKF(m != NULL, what, "%s", sp_error());
    if (!m)
        return;
    int pruned = 0;
    for (int b = 0; b < m->graph->nblock; b++)
        for (int k = 0; k < m->graph->block[b].n; k++) {
            sp_group grp;
            int anchor = m->graph->block[b].anchor[k];
            if (sp_group_find(m->graph, anchor, &grp) < 0 || !grp.prunable || grp.channels < 2)
                continue;
            unsigned char *keep = calloc((size_t)grp.channels, 1);
            for (int c = 0; c < grp.channels; c += 2)
                keep[c] = 1;
            pruned += sp_prune_channels(m, anchor, keep) == 0;
            free(keep);
        }
    sp_tensor *t;
    int n;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc = sp_export_tensors(m, &t, &n);
    rc = rc == 0 ? sp_pth_write(f, t, n) : rc;
    fclose(f);
    sp_model *back = NULL;
    if (rc == 0) {
        FILE *mf = fmemopen(buf, len, "rb");
        sp_tensor *r;
        int nr;
        if (sp_torch_load(mf, name, &r, &nr) == 0) {
            sp_import_opts o = { m->graph->arch, 0, m->graph->node[0].h, m->graph->node[0].w };
            back = sp_import_model(r, nr, &o, name);
            for (int i = 0; i < nr; i++)
                sp_tensor_free(&r[i]);
            free(r);
        }
        fclose(mf);
    }
    int same = back != NULL && pruned > 0;
    for (int i = 0; same && i < n; i++) {
        const sp_tensor *u = sp_model_tensor(back, t[i].name);
        same = u && sp_shape_equal(u->ndim, u->shape, t[i].ndim, t[i].shape) &&
               memcmp(u->data, t[i].data, sp_tensor_bytes(&t[i])) == 0;
    }
    CHECKF(same, name, "%d groups pruned; %s", pruned, back ? "tensors differ" : sp_error());
    if (rc == 0) {
        for (int i = 0; i < n; i++)
            sp_tensor_free(&t[i]);
        free(t);
    }
    free(buf);
    sp_model_free(back);
    sp_model_free(m);
}

/* A few bytes of pickle cannot make the machine allocate without bound:
 * a far memo index, or millions of values or stack entries, are refused. */
static void test_bounds(void)
{
    CHECKF(refused_with(PK("\x80\x02}r\xfe\xff\xff\x00."), "memo index 16777214 is beyond"),
           "pickle_memo_index_bounded", "%s", sp_error());
    CHECK(!refused_with(PK("\x80\x02}q\x00q\x01."), "?"), "pickle_memo_in_order_kept");
    enum { N = 3000000 };
    unsigned char *p = malloc(N + 3);
    p[0] = 0x80, p[1] = 2, p[N + 2] = '.';
    memset(p + 2, '(', N);
    CHECKF(refused_with(p, N + 3, "builds more objects than any state_dict"),
           "pickle_marks_bounded", "%s", sp_error());
    memset(p + 2, ']', N);
    CHECKF(refused_with(p, N + 3, "builds more objects than any state_dict"),
           "pickle_lists_bounded", "%s", sp_error());
    free(p);
}

int main(void)
{
    test_bounds();
    test_data_opcodes();
    test_tensor_record();
    test_refusals();
    test_corruptions();
    test_corrupt_files();
    test_pth_round_trip();
    test_many_storages();
    test_protobuf();
    test_masks();
    test_pruned_round_trip("tests/fixtures/interop/mobilenetv2.pth", "pruned_mobilenetv2_round_trip");
    test_pruned_round_trip("tests/fixtures/interop/vgg_original_fc.pth", "pruned_vgg_fc_round_trip");
    test_pruned_round_trip("tests/fixtures/interop/resnet50.pth", "pruned_resnet50_round_trip");
    test_pruned_round_trip("tests/fixtures/interop/resnet20.pth", "pruned_resnet20_round_trip");
    return t_done();
}
