/* pack_wds.c: WebDataset shards, read in place: tars whose members are
 * grouped by key: KEY.jpg / KEY.jpeg / KEY.png with KEY.cls, the class
 * number.  Several shards are read in the order given. */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "sp/base.h"
#include "pack_priv.h"

struct buf {
    uint8_t *p;
    size_t cap, len;
};

struct sample {
    char *key;
    struct buf img;
    char *img_name;
    long cls;
    int has_img, has_cls;
};

static int emit(sp_pack_ctx *x, struct sample *s, const char *path)
{
    int r = 0;
    if (!s->key)
        return 0;
    if (s->has_img && !s->has_cls)
        r = sp_errorf("'%s': sample '%s' has no .cls member", path, s->key);
    else if (s->has_img) {
        int label = sp_pack_label_index(x, s->cls);
        r = label < 0 ? sp_error_prefix("'%s': sample '%s'", path, s->key)
            : sp_pack_push(x, label, s->img_name, s->img.p, s->img.len, 0, 0);
    }
    free(s->key);
    free(s->img_name);
    s->key = s->img_name = NULL;
    s->has_img = s->has_cls = 0;
    return r;
}

static int read_cls(struct archive *a, const char *path, const char *name, long *v)
{
    char text[64];
    la_ssize_t n = archive_read_data(a, text, sizeof text - 1);
    if (n < 0)
        return sp_pack_tar_failed(a, path);
    text[n] = 0;
    char *end;
    *v = strtol(text, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (end == text || *end)
        return sp_errorf("'%s': '%s' is not a class number", path, name);
    return 0;
}

static int pack_shard(sp_pack_ctx *x, const char *path, struct sample *s)
{
    struct archive *a = sp_pack_tar_open(path);
    if (!a)
        return -1;
    struct archive_entry *e;
    int r = 0, h = ARCHIVE_EOF;
    while (r == 0 && (h = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        const char *base = sp_pack_base_name(name), *dot = strchr(base, '.');
        size_t klen = dot ? (size_t)(dot - name) : strlen(name);
        if (!s->key || strlen(s->key) != klen || strncmp(s->key, name, klen)) {
            if ((r = emit(x, s, path)) != 0)
                break;
            s->key = sp_xasprintf("%.*s", (int)klen, name);
        }
        if (dot && !strcasecmp(dot, ".cls")) {
            r = read_cls(a, path, name, &s->cls);
            s->has_cls = 1;
        } else if (sp_pack_is_image_name(name) && !s->has_img) {
            r = sp_pack_tar_read(a, path, &s->img.p, &s->img.cap, &s->img.len);
            s->img_name = sp_xasprintf("%s/%s", path, name);
            s->has_img = 1;
        }
    }
    if (r == 0 && h != ARCHIVE_EOF)
        r = sp_pack_tar_failed(a, path);
    if (r == 0)
        r = emit(x, s, path);
    archive_read_free(a);
    return r;
}

static int read_wds(sp_pack_ctx *x, char *const *paths, int n)
{
    struct sample s = {0};
    int r = 0;
    for (int i = 0; i < n && r == 0; i++)
        r = pack_shard(x, paths[i], &s);
    free(s.key);
    free(s.img_name);
    free(s.img.p);
    return r < 0 ? -1 : 0;
}

/* A .cls member anywhere among the first members. */
static int is_wds(const sp_pack_probe *p) { return p->tar && !p->cifar && p->cls; }

const sp_pack_reader sp_pack_reader_wds = {
    "wds", SP_PACK_WDS, 3, 0, 1, is_wds, read_wds,
};
