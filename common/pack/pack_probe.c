/* pack_probe.c: what the inputs look like, for the readers' detectors.
 *
 * The dispatcher probes once and asks every reader of the table whether
 * the result is its format, so opening and listing an archive happens once
 * however many readers there are.  Inputs that no reader could take (a
 * folder among other inputs, a lone IDX file) are refused here, with the
 * sentence that tells the user what to give instead. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>
#include "sp/base.h"
#include "pack_priv.h"

/* Enough members to tell the layouts apart without reading a large
 * archive through. */
#define PROBE_MEMBERS 32

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

/* An IDX file starts with two zero bytes, a type byte 0x08 (u8) and the
 * number of dimensions. */
static int is_idx_file(const char *path)
{
    gzFile g = gzopen(path, "rb");
    uint8_t m[4];
    int ok = g && gzread(g, m, 4) == 4 && m[0] == 0 && m[1] == 0 && m[2] == 8;
    if (g)
        gzclose(g);
    return ok;
}

/* The CIFAR archives are told by their folder name, which may come before
 * any regular member; the others by the kinds of their first members. */
static int probe_tar(sp_pack_probe *p, const char *path)
{
    struct archive *a = sp_pack_tar_open(path);
    struct stat st;
    if (!a && stat(path, &st) == 0)   /* there, but neither a tar nor anything else */
        sp_errorf("'%s' is not a dataset: " SP_PACK_ACCEPTS, path);
    if (!a)
        return -1;
    p->tar = 1;
    struct archive_entry *e;
    int r;
    while (p->files < PROBE_MEMBERS && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        p->cifar = strstr(name, "cifar-10-batches-bin") ? 10
                   : strstr(name, "cifar-100-binary")   ? 100 : 0;
        if (p->cifar) {
            archive_read_free(a);
            return 0;
        }
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        p->files++;
        p->tars += has_suffix(name, ".tar");
        p->cls += has_suffix(name, ".cls");
        p->images += sp_pack_is_image_name(name);
    }
    if (p->files == 0 && r != ARCHIVE_EOF && r != ARCHIVE_OK) {
        sp_errorf("'%s' is not a dataset: " SP_PACK_ACCEPTS, path);
        archive_read_free(a);
        return -1;
    }
    archive_read_free(a);
    return 0;
}

int sp_pack_probe_inputs(sp_pack_probe *p, char *const *in, int n)
{
    struct stat st;
    memset(p, 0, sizeof *p);
    p->inputs = in;
    p->n = n;
    for (int i = 0; i < n; i++)
        if (stat(in[i], &st) != 0)
            return sp_errorf("cannot open '%s': %s", in[i], strerror(errno));
    if (n == 2 && is_idx_file(in[0]) && is_idx_file(in[1])) {
        p->idx_pair = 1;
        return 0;
    }
    if (stat(in[0], &st) == 0 && S_ISDIR(st.st_mode)) {
        if (n != 1)
            return sp_errorf("give one folder, not %d inputs", n);
        p->dir = 1;
        return 0;
    }
    if (n == 1 && is_idx_file(in[0]))
        return sp_errorf("'%s' is an IDX file: give the images and the labels file", in[0]);
    return probe_tar(p, in[0]);
}
