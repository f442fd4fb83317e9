/* pack_folder.c: a folder tree ROOT/CLASS/IMAGE (.jpg, .jpeg, .png, any
 * case), classes sorted by name (or as listed by --classes-from), images in
 * each class sorted by name. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "sp/base.h"
#include "sp/data.h"
#include "pack_priv.h"

struct list {
    char **s;
    int n, cap;
};

static void list_add(struct list *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->s = sp_xrealloc(l->s, sizeof(char *) * (size_t)l->cap);
    }
    l->s[l->n++] = sp_xstrdup(s);
}

static void list_free(struct list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->s[i]);
    free(l->s);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entries of dir that are folders (dirs) or image files, sorted. */
static int list_dir(const char *dir, int dirs, struct list *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return sp_errorf("cannot open '%s': %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = sp_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        int keep = stat(p, &st) == 0 && (dirs ? S_ISDIR(st.st_mode)
                                              : S_ISREG(st.st_mode) && sp_pack_is_image_name(e->d_name));
        free(p);
        if (keep)
            list_add(out, e->d_name);
    }
    closedir(d);
    if (out->n)
        qsort(out->s, (size_t)out->n, sizeof(char *), cmp_str);
    return 0;
}

static int pack_class(sp_pack_ctx *x, const char *dir, int label, const struct list *files)
{
    for (int i = 0; i < files->n; i++) {
        char *p = sp_xasprintf("%s/%s", dir, files->s[i]);
        uint8_t *buf;
        size_t len;
        int r = sp_pack_file_read(p, 0, &buf, &len);
        if (r == 0) {
            r = sp_pack_push(x, label, p, buf, len, 0, 0);
            free(buf);
        }
        free(p);
        if (r != 0)
            return r;
    }
    return 0;
}

static int pack_folder(sp_pack_ctx *x, const char *root)
{
    const sp_pack_opts *o = sp_pack_options(x);
    struct list classes = {0};
    if (o->nclasses) {
        for (int k = 0; k < o->nclasses; k++)
            list_add(&classes, o->classes[k]);
    } else if (list_dir(root, 1, &classes) < 0) {
        return -1;
    }
    if (classes.n == 0) {
        list_free(&classes);
        return sp_errorf("'%s' has no class folders", root);
    }
    struct list *files = sp_xcalloc((size_t)classes.n, sizeof *files);
    int r = 0;
    int64_t total = 0;
    for (int k = 0; k < classes.n && r == 0; k++) {
        char *dir = sp_xasprintf("%s/%s", root, classes.s[k]);
        r = list_dir(dir, 0, &files[k]);
        if (r == 0 && files[k].n == 0)
            r = sp_errorf("class folder '%s' holds no images", dir);
        total += files[k].n;
        free(dir);
    }
    sp_pack_set_total(x, total);
    for (int k = 0; k < classes.n && r == 0; k++) {
        char *dir = sp_xasprintf("%s/%s", root, classes.s[k]);
        r = pack_class(x, dir, sp_pack_label(x, classes.s[k]), &files[k]);
        free(dir);
    }
    for (int k = 0; k < classes.n; k++)
        list_free(&files[k]);
    free(files);
    list_free(&classes);
    return r < 0 ? -1 : 0;
}

static int read_folder(sp_pack_ctx *x, char *const *in, int n)
{
    return n == 1 ? pack_folder(x, in[0]) : sp_errorf("an image folder is one input");
}

static int is_folder(const sp_pack_probe *p) { return p->dir; }

const sp_pack_reader sp_pack_reader_folder = {
    "folder", SP_PACK_FOLDER, 3, 0, 0, is_folder, read_folder,
};
