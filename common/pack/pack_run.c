/* pack_run.c: sp-pack's dispatcher.
 *
 * It knows the readers only as the entries of one table: a new source
 * format is a new file with an sp_pack_reader and a line here.  The table's
 * order is the order of the --format names and of detection; every reader
 * then talks to the context (pack_ctx.c), not to this file. */
#include <string.h>
#include "sp/base.h"
#include "sp/data.h"
#include "pack_priv.h"

static const sp_pack_reader *const readers[] = {
    &sp_pack_reader_cifar10, &sp_pack_reader_cifar100,
    &sp_pack_reader_idx,     &sp_pack_reader_folder,     /* idx first: it claims IDX folders */
    &sp_pack_reader_ilsvrc_train, &sp_pack_reader_ilsvrc_val, &sp_pack_reader_wds,
};

static const sp_pack_reader *by_format(int format)
{
    for (size_t k = 0; k < SP_COUNT(readers); k++)
        if (readers[k]->format == format)
            return readers[k];
    return NULL;
}

/* The reader of the inputs, from their names and first bytes; NULL with an
 * error when none fits. */
static const sp_pack_reader *detect(char *const *in, int n)
{
    sp_pack_probe p;
    if (sp_pack_probe_inputs(&p, in, n) < 0)
        return NULL;
    const sp_pack_reader *r = NULL;
    for (size_t k = 0; k < SP_COUNT(readers) && !r; k++)
        if (readers[k]->detect(&p))
            r = readers[k];
    if (!r) {
        sp_errorf("cannot tell what '%s' holds: " SP_PACK_ACCEPTS " (--format names one)", in[0]);
        return NULL;
    }
    if (n > 1 && !r->several) {
        sp_errorf("several inputs are only for WebDataset shards or an IDX pair");
        return NULL;
    }
    return r;
}

int sp_pack_run(char *const *inputs, int ninputs, const sp_pack_opts *o, FILE *out,
                const char *out_name, int64_t *records, int64_t *skipped)
{
    const sp_pack_reader *rd = o->format ? by_format(o->format) : detect(inputs, ninputs);
    if (!rd)
        return o->format ? sp_errorf("unknown input format") : -1;
    sp_pack_opts oo = *o;
    if (!oo.encoding)
        oo.encoding = rd->raw || oo.height ? SP_DATA_RAW : SP_DATA_JPEG;
    if (oo.encoding == SP_DATA_RAW && !rd->raw && !oo.height)
        return sp_errorf("raw records need a fixed size: give --size for %s input", rd->name);
    if (oo.threads < 1)
        oo.threads = 1;
    if (oo.threads > 64)
        oo.threads = 64;
    if (!oo.quality)
        oo.quality = 90;
    sp_pack_ctx *x = sp_pack_ctx_new(&oo, rd->channels, rd->raw || oo.height);
    int r = -1;
    if (x && rd->read(x, inputs, ninputs) >= 0)
        r = sp_pack_ctx_finish(x, out, out_name, records, skipped);
    sp_pack_ctx_free(x);
    return r;
}

const char *sp_pack_format_name(int format)
{
    const sp_pack_reader *r = by_format(format);
    return r ? r->name : "auto";
}

int sp_pack_format_parse(const char *name)
{
    if (strcmp(name, "auto") == 0)
        return SP_PACK_AUTO;
    for (size_t k = 0; k < SP_COUNT(readers); k++)
        if (strcmp(name, readers[k]->name) == 0)
            return readers[k]->format;
    return -1;
}
