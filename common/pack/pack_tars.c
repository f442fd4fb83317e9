/* pack_tars.c: the ILSVRC2012 archives, read in place: the train archive
 * (a tar holding one tar per class, named by its WordNet id, such as
 * n01440764.tar) and the validation archive (flat JPEGs) with a labels
 * file. */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/data.h"
#include "pack_priv.h"

struct buf {
    uint8_t *p;
    size_t cap, len;
};

/* ---- ILSVRC train ---------------------------------------------------- */

static int pack_inner(sp_pack_ctx *x, struct archive *outer, const char *path,
                      const char *inner_name, int label, struct buf *b)
{
    char *where = sp_xasprintf("%s/%s", path, inner_name);
    struct archive *a = sp_pack_tar_open_nested(outer, where);
    struct archive_entry *e;
    int r = a ? 0 : -1, h = ARCHIVE_EOF;
    while (r == 0 && (h = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        if (archive_entry_filetype(e) != AE_IFREG || !sp_pack_is_image_name(name))
            continue;
        char *full = sp_xasprintf("%s/%s", inner_name, name);
        r = sp_pack_tar_read(a, where, &b->p, &b->cap, &b->len);
        if (r == 0)
            r = sp_pack_push(x, label, full, b->p, b->len, 0, 0);
        free(full);
    }
    if (a && r == 0 && h != ARCHIVE_EOF)
        r = sp_pack_tar_failed(a, where);
    if (a)
        archive_read_free(a);
    free(where);
    return r;
}

static int pack_train(sp_pack_ctx *x, const char *path)
{
    struct archive *a = sp_pack_tar_open(path);
    if (!a)
        return -1;
    struct archive_entry *e;
    struct buf b = {0};
    int r = 0, h = ARCHIVE_EOF;
    while (r == 0 && (h = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = sp_pack_base_name(archive_entry_pathname(e));
        size_t n = strlen(name);
        if (archive_entry_filetype(e) != AE_IFREG || n < 5 || strcmp(name + n - 4, ".tar"))
            continue;
        char *wnid = sp_xasprintf("%.*s", (int)(n - 4), name);
        int label = sp_pack_label(x, wnid);
        if (label >= 0)
            r = pack_inner(x, a, path, name, label, &b);
        free(wnid);
    }
    if (r == 0 && h != ARCHIVE_EOF)
        r = sp_pack_tar_failed(a, path);
    archive_read_free(a);
    free(b.p);
    return r < 0 ? -1 : 0;
}

/* ---- ILSVRC validation ----------------------------------------------- */

struct named {
    char *name, *label;
};

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lines "LABEL" or "FILE LABEL"; *with_names tells which. */
static int read_labels(const char *path, struct named **out, int *n, int *with_names)
{
    uint8_t *text;
    size_t len;
    if (sp_pack_file_read(path, 0, &text, &len) < 0)
        return -1;
    *out = NULL;
    *n = 0;
    *with_names = -1;
    int line = 0, r = 0;
    for (char *p = (char *)text, *end = p + len; p < end && r == 0; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
        char *f[3];
        int nf = 0;
        for (char *q = p; q < e && nf < 3;) {
            while (q < e && isspace((unsigned char)*q))
                q++;
            if (q == e)
                break;
            char *s = q;
            while (q < e && !isspace((unsigned char)*q))
                q++;
            f[nf++] = sp_xasprintf("%.*s", (int)(q - s), s);
        }
        p = e + 1;
        if (nf == 0)
            continue;
        if (nf == 3 || (*with_names >= 0 && *with_names != (nf == 2)))
            r = sp_errorf("'%s' line %d: expected LABEL or FILE LABEL", path, line + 1);
        else {
            *with_names = nf == 2;
            *out = sp_xrealloc(*out, sizeof **out * (size_t)(*n + 1));
            (*out)[*n].name = nf == 2 ? f[0] : NULL;
            (*out)[(*n)++].label = f[nf - 1];
            nf = 0;
        }
        for (int k = 0; k < nf; k++)
            free(f[k]);
    }
    free(text);
    if (r == 0 && *n == 0)
        r = sp_errorf("'%s' holds no labels", path);
    return r;
}

/* Bare labels belong to the archive's images in sorted name order. */
static int name_labels(const char *path, const char *lpath, struct named *l, int n)
{
    struct archive *a = sp_pack_tar_open(path);
    if (!a)
        return -1;
    struct archive_entry *e;
    char **names = NULL;
    int m = 0, h = ARCHIVE_EOF, r = 0;
    while ((h = archive_read_next_header(a, &e)) == ARCHIVE_OK)
        if (archive_entry_filetype(e) == AE_IFREG && sp_pack_is_image_name(archive_entry_pathname(e))) {
            names = sp_xrealloc(names, sizeof(char *) * (size_t)(m + 1));
            names[m++] = sp_xstrdup(archive_entry_pathname(e));
        }
    if (h != ARCHIVE_EOF)
        r = sp_pack_tar_failed(a, path);
    else if (m != n)
        r = sp_errorf("'%s' has %d labels for the %d images of '%s'", lpath, n, m, path);
    archive_read_free(a);
    if (m)
        qsort(names, (size_t)m, sizeof(char *), cmp_str);
    for (int i = 0; i < m; i++) {
        if (r == 0)
            l[i].name = names[i];
        else
            free(names[i]);
    }
    free(names);
    return r;
}

static int resolve(sp_pack_ctx *x, const char *label)
{
    char *end;
    long v = strtol(label, &end, 10);
    if (*label && !*end)
        return sp_pack_label_index(x, v);
    int k = sp_pack_label(x, label);
    return k < 0 ? -2 : k;            /* -2: a class --classes-from leaves out */
}

static int pack_val(sp_pack_ctx *x, const char *path, const char *labels_file)
{
    struct named *l = NULL;
    int n = 0, with_names, r = read_labels(labels_file, &l, &n, &with_names);
    if (r == 0 && !with_names)
        r = name_labels(path, labels_file, l, n);
    struct archive *a = r == 0 ? sp_pack_tar_open(path) : NULL;
    struct archive_entry *e;
    struct buf b = {0};
    int h = ARCHIVE_EOF;
    if (a) {
        qsort(l, (size_t)n, sizeof *l, cmp_named);
        sp_pack_set_total(x, n);
    } else {
        r = -1;
    }
    while (r == 0 && (h = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        if (archive_entry_filetype(e) != AE_IFREG || !sp_pack_is_image_name(name))
            continue;
        struct named key = {(char *)name, NULL}, *hit = bsearch(&key, l, (size_t)n, sizeof *l, cmp_named);
        if (!hit) {
            key.name = (char *)sp_pack_base_name(name);
            hit = bsearch(&key, l, (size_t)n, sizeof *l, cmp_named);
        }
        if (!hit) {
            r = sp_errorf("'%s' has no label for '%s'", labels_file, name);
            break;
        }
        int label = resolve(x, hit->label);
        if (label == -1)
            r = sp_error_prefix("'%s'", labels_file);
        else if (label >= 0 && (r = sp_pack_tar_read(a, path, &b.p, &b.cap, &b.len)) == 0)
            r = sp_pack_push(x, label, name, b.p, b.len, 0, 0);
    }
    if (a && r == 0 && h != ARCHIVE_EOF)
        r = sp_pack_tar_failed(a, path);
    if (a)
        archive_read_free(a);
    for (int i = 0; i < n; i++) {
        free(l[i].name);
        free(l[i].label);
    }
    free(l);
    free(b.p);
    return r < 0 ? -1 : 0;
}

/* ---- the table entries ---------------------------------------------- */

static int read_train(sp_pack_ctx *x, char *const *in, int n)
{
    return n == 1 ? pack_train(x, in[0]) : sp_errorf("the ILSVRC train archive is one input");
}

static int read_val(sp_pack_ctx *x, char *const *in, int n)
{
    const char *labels = sp_pack_options(x)->labels_file;
    if (!labels)
        return sp_errorf("the ILSVRC validation archive needs --labels-file");
    return n == 1 ? pack_val(x, in[0], labels)
                  : sp_errorf("the ILSVRC validation archive is one input");
}

/* Nothing but class tars, or nothing but images, among the first members. */
static int is_train(const sp_pack_probe *p)
{
    return p->tar && !p->cifar && p->tars && p->tars == p->files;
}

static int is_val(const sp_pack_probe *p)
{
    return p->tar && !p->cifar && p->images && p->images == p->files;
}

const sp_pack_reader sp_pack_reader_ilsvrc_train = {
    "ilsvrc-train", SP_PACK_ILSVRC_TRAIN, 3, 0, 0, is_train, read_train,
};
const sp_pack_reader sp_pack_reader_ilsvrc_val = {
    "ilsvrc-val", SP_PACK_ILSVRC_VAL, 3, 0, 0, is_val, read_val,
};
