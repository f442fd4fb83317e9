/* sp-inspect: show what a checkpoint or a packed dataset holds.
 *
 * Reads a checkpoint (sp-checkpoint(5)) from FILE or standard input, or a
 * dataset (sp-data(5), a named file only: it is memory-mapped), told apart
 * by their first 8 bytes.  Writes a readable report, or one JSON object
 * with --json, on standard output; with --record N a dataset record as a
 * PGM/PPM image.  Never modifies anything. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "sp/cli.h"
#include "sp/data.h"
#include "sp/checkpoint.h"
#include "sp/model.h"
#include "sp/prune.h"

typedef struct options {
    const char *input;   /* NULL: standard input */
    int blocks, json;
    long record;         /* -1: none */
} options;

static const char usage_text[] =
    "Usage: sp-inspect [--blocks] [--json] [FILE]\n"
    "       sp-inspect [--json | --record N] DATASET\n"
    "Show the network, metadata and tensors of a checkpoint (FILE, or standard\n"
    "input), or the header and labels of a packed dataset.\n"
    "\n"
    "      --blocks      list the pruning blocks and their channels only\n"
    "  -j, --json        print one JSON object instead of text\n"
    "      --record N    write record N of a dataset as a PGM/PPM image\n"
    "  -h, --help        show this help and exit\n"
    "  -V, --version     show the version and exit\n";

enum { OPT_BLOCKS = 256, OPT_RECORD };

static void parse_command_line(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"blocks", no_argument, NULL, OPT_BLOCKS}, {"json", no_argument, NULL, 'j'},
        {"record", required_argument, NULL, OPT_RECORD}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->record = -1;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":jhV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_BLOCKS: o->blocks = 1; break;
        case 'j': o->json = 1; break;
        case OPT_RECORD: o->record = sp_arg_long("--record", optarg, 0, 1L << 40); break;
        case 'h': sp_print_help(usage_text);
        case 'V': sp_print_version();
        default: sp_die_bad_option(argv, c);
        }
    }
    o->input = sp_arg_operand_why(argc, argv, optind, "one input at most");
    if (o->record >= 0 && (o->blocks || o->json))
        sp_die_usage("--record cannot be combined with --blocks or --json");
}

/* ---- blocks ---- */

typedef struct anchor_info {
    const char *name;
    int channels, original, prunable;
} anchor_info;

/* The channels an anchor's group removes together, or its width when the
 * group cannot be traced. */
static void channels_of(const sp_graph *g, const char *name, int *channels, int *prunable)
{
    int i = sp_graph_find(g, name);
    sp_group grp;
    *channels = -1;
    *prunable = 0;
    if (i < 0)
        return;
    if (sp_group_find(g, i, &grp) == 0) {
        *channels = grp.channels;
        *prunable = grp.prunable;
    } else {
        *channels = g->node[i].c;
    }
}

static anchor_info anchor_of(const sp_model *m, int node)
{
    anchor_info a;
    int unused;
    a.name = m->graph->node[node].name;
    channels_of(m->graph, a.name, &a.channels, &a.prunable);
    channels_of(m->original, a.name, &a.original, &unused);
    return a;
}

static cJSON *blocks_json(const sp_model *m)
{
    cJSON *arr = cJSON_CreateArray();
    for (int b = 0; b < m->graph->nblock; b++) {
        const sp_block *blk = &m->graph->block[b];
        cJSON *o = cJSON_CreateObject(), *an = cJSON_CreateArray();
        cJSON_AddNumberToObject(o, "id", blk->id);
        for (int k = 0; k < blk->n; k++) {
            anchor_info a = anchor_of(m, blk->anchor[k]);
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "name", a.name);
            cJSON_AddNumberToObject(x, "channels", a.channels);
            cJSON_AddNumberToObject(x, "original", a.original);
            cJSON_AddBoolToObject(x, "prunable", a.prunable);
            cJSON_AddItemToArray(an, x);
        }
        cJSON_AddItemToObject(o, "anchors", an);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static void print_blocks(const sp_model *m)
{
    printf("%-6s %-32s %9s %9s  %s\n", "block", "anchor", "channels", "original", "prunable");
    for (int b = 0; b < m->graph->nblock; b++) {
        const sp_block *blk = &m->graph->block[b];
        for (int k = 0; k < blk->n; k++) {
            anchor_info a = anchor_of(m, blk->anchor[k]);
            printf("%-6d %-32s %9d %9d  %s\n", blk->id, a.name, a.channels, a.original,
                   a.prunable ? "yes" : "no");
        }
    }
}

/* ---- network, metadata, tensors ---- */

static uint32_t data_crc(const sp_model *m)
{
    uint32_t crc = 0;
    for (int i = 0; i < m->n; i++)
        crc = sp_crc32(crc, m->t[i].data, sp_tensor_bytes(&m->t[i]));
    return crc;
}

/* The mean and std inputs are normalised with, and where they came from. */
static void print_normalisation(const sp_model *m)
{
    const char *mean = sp_model_meta(m, "mean"), *std = sp_model_meta(m, "std");
    const char *source = sp_model_meta(m, "norm_source");
    if (!mean && !std) {
        printf("normalise   none recorded (programs use the dataset's statistics)\n");
        return;
    }
    printf("normalise   mean %s  std %s  (%s)\n", mean ? mean : "-", std ? std : "-",
           source ? source : "no source recorded");
}

static void print_model(const sp_model *m)
{
    const sp_graph *g = m->graph;
    sp_count cnt;
    char buf[160], shape[64];
    sp_graph_count(g, &cnt, NULL);
    printf("arch        %s\n", g->arch[0] ? g->arch : "(none)");
    printf("input       %dx%dx%d\n", g->node[0].c, g->node[0].h, g->node[0].w);
    printf("classes     %d\n", g->classes);
    print_normalisation(m);
    printf("parameters  %lld\n", (long long)cnt.params);
    printf("macs        %lld\n", (long long)cnt.macs);
    printf("format      %s version %d, crc32 %08x\n", SP_CKPT_FORMAT, SP_CKPT_VERSION, data_crc(m));
    for (int i = 0; i < m->nmeta; i++) {
        const char *v = m->meta[i].value;
        size_t n = strcspn(v, "\n");
        printf("meta        %s = %.*s%s\n", m->meta[i].key, (int)(n > 60 ? 60 : n), v,
               n > 60 || v[n] ? " ..." : "");
    }
    printf("\n%4s  %-28s %-16s %-9s %-12s %s\n", "#", "node", "op", "inputs", "output", "attributes");
    for (int i = 0; i < g->n; i++) {
        const sp_node *n = &g->node[i];
        char in[24] = "-";
        if (n->in[0] >= 0 && n->op != SP_OP_INPUT)
            snprintf(in, sizeof in, n->in[1] >= 0 ? "%d,%d" : "%d", n->in[0], n->in[1]);
        sp_node_describe(n, buf, sizeof buf);
        snprintf(shape, sizeof shape, "%dx%dx%d", n->c, n->h, n->w);
        char line[512];
        int len = snprintf(line, sizeof line, "%4d  %-28s %-16s %-9s %-12s %s", i, n->name,
                           sp_op_name(n->op), in, shape, buf);
        if (len >= (int)sizeof line)
            len = (int)sizeof line - 1;
        while (len > 0 && line[len - 1] == ' ')
            line[--len] = 0;
        puts(line);
    }
    size_t total = 0;
    printf("\n%-40s %-5s %-14s %12s\n", "tensor", "dtype", "shape", "bytes");
    for (int i = 0; i < m->n; i++) {
        const sp_tensor *t = &m->t[i];
        printf("%-40s %-5s %-14s %12zu\n", t->name, sp_dtype_name(t->dtype),
               sp_shape_str(shape, sizeof shape, t->ndim, t->shape), sp_tensor_bytes(t));
        total += sp_tensor_bytes(t);
    }
    printf("%d tensors, %zu bytes\n", m->n, total);
    if (g->nblock) {
        printf("\n");
        print_blocks(m);
    }
}

/* The nodes as the checkpoint stores them, with index and output shape. */
static cJSON *nodes_json(const sp_graph *g)
{
    char *text = sp_graph_to_json(g);
    cJSON *root = cJSON_Parse(text);
    free(text);
    cJSON *nodes = cJSON_DetachItemFromObject(root, "nodes");
    cJSON_Delete(root);
    int i = 0;
    for (cJSON *n = nodes ? nodes->child : NULL; n && i < g->n; n = n->next, i++) {
        int out[3] = {g->node[i].c, g->node[i].h, g->node[i].w};
        cJSON_AddNumberToObject(n, "index", i);
        cJSON_AddItemToObject(n, "output", cJSON_CreateIntArray(out, 3));
    }
    return nodes;
}

static cJSON *model_json(const sp_model *m)
{
    const sp_graph *g = m->graph;
    sp_count cnt;
    char crc[16];
    sp_graph_count(g, &cnt, NULL);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "arch", g->arch);
    int in[3] = {g->node[0].c, g->node[0].h, g->node[0].w};
    cJSON_AddItemToObject(o, "input", cJSON_CreateIntArray(in, 3));
    cJSON_AddNumberToObject(o, "classes", g->classes);
    cJSON_AddNumberToObject(o, "parameters", (double)cnt.params);
    cJSON_AddNumberToObject(o, "macs", (double)cnt.macs);
    cJSON *meta = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(meta, "format", SP_CKPT_FORMAT);
    snprintf(crc, sizeof crc, "%d", SP_CKPT_VERSION);
    cJSON_AddStringToObject(meta, "version", crc);
    snprintf(crc, sizeof crc, "%08x", data_crc(m));
    cJSON_AddStringToObject(meta, "crc32", crc);
    for (int i = 0; i < m->nmeta; i++)
        cJSON_AddStringToObject(meta, m->meta[i].key, m->meta[i].value);
    cJSON_AddItemToObject(o, "nodes", nodes_json(g));
    cJSON *ts = cJSON_AddArrayToObject(o, "tensors");
    for (int i = 0; i < m->n; i++) {
        const sp_tensor *t = &m->t[i];
        cJSON *x = cJSON_CreateObject();
        cJSON *shape = cJSON_AddArrayToObject(x, "shape");
        cJSON_AddStringToObject(x, "name", t->name);
        cJSON_AddStringToObject(x, "dtype", sp_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddNumberToObject(x, "bytes", (double)sp_tensor_bytes(t));
        cJSON_AddItemToArray(ts, x);
    }
    cJSON_AddItemToObject(o, "blocks", blocks_json(m));
    return o;
}

static void print_json(cJSON *o)
{
    char *text = cJSON_Print(o);
    puts(text);
    free(text);
    cJSON_Delete(o);
}

/* A checkpoint begins with the length of its JSON header, 8 bytes little
 * endian: no header is 4 GiB long, while text or another format read that
 * way almost always is. */
static int looks_like_checkpoint(const unsigned char *head, size_t n)
{
    if (n < 8)
        return 0;
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--)
        len = len << 8 | head[i];
    return len > 1 && len < (UINT64_C(1) << 32);
}

static void inspect_model(const options *o, FILE *f, const unsigned char *head, size_t n)
{
    if (n > 0 && !looks_like_checkpoint(head, n)) {
        int named = o->input && strcmp(o->input, "-") != 0;
        sp_die("%s%s%s is not an sp checkpoint or a packed dataset "
               "(sp-checkpoint(5), sp-data(5))", named ? "'" : "", sp_in_name(o->input),
               named ? "'" : "");
    }
    sp_model *m = sp_ckpt_read_after(f, sp_in_name(o->input), head, n);
    if (!m)
        sp_die("%s", sp_error());
    if (o->json && o->blocks) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddItemToObject(root, "blocks", blocks_json(m));
        print_json(root);
    } else if (o->json) {
        print_json(model_json(m));
    } else if (o->blocks) {
        print_blocks(m);
    } else {
        print_model(m);
    }
    sp_model_free(m);
}

static void inspect_dataset(const options *o)
{
    if (!o->input || strcmp(o->input, "-") == 0)
        sp_die("a dataset must be given as a file name, not on standard input "
               "(it is memory-mapped)");
    if (o->blocks)
        sp_die_usage("--blocks applies to checkpoints; '%s' is a dataset", o->input);
    sp_out *out = sp_out_open(NULL, o->record >= 0);
    if (sp_data_inspect(o->input, o->json, o->record, sp_out_file(out)) < 0)
        sp_die("%s", sp_error());
    sp_out_commit(out);
}

int main(int argc, char **argv)
{
    options o;
    sp_cli_init("sp-inspect");
    parse_command_line(argc, argv, &o);
    FILE *f = sp_in_open(o.input);
    unsigned char head[SP_DATA_MAGIC_LEN];
    size_t n = fread(head, 1, sizeof head, f);
    if (n == sizeof head && memcmp(head, SP_DATA_MAGIC, SP_DATA_MAGIC_LEN) == 0) {
        sp_in_close(f);
        inspect_dataset(&o);
    } else {
        if (o.record >= 0) {
            int named = o.input && strcmp(o.input, "-") != 0;
            sp_die_usage("--record applies to datasets, and %s%s%s is not one", named ? "'" : "",
                         sp_in_name(o.input), named ? "'" : "");
        }
        inspect_model(&o, f, head, n);
        sp_in_close(f);
    }
    sp_stdout_close();
    return SP_EXIT_OK;
}
