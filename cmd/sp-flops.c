/* sp-flops: the cost of a network, layer by layer.
 *
 * Reads a checkpoint (FILE or standard input) and prints, for one sample,
 * each costing layer's output shape, parameters, MACs and FLOPs under the
 * thop convention, then the totals; with --baseline, the drop against a
 * second checkpoint, per layer (matched by node name) and in total.
 * Writes a table, or with --json one JSON object, on standard output. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/cli.h"
#include "sp/graph.h"
#include "sp/model.h"

typedef struct options {
    const char *input;      /* NULL: standard input */
    const char *baseline;   /* NULL: no comparison */
    int json;
} options;

typedef struct report {
    const sp_graph *g, *base;
    sp_count total, base_total;
    sp_count *node, *base_node;   /* per node of g; base_node by name, NULL if absent */
    int *has_base;
} report;

static const char usage_text[] =
    "Usage: sp-flops [--baseline FILE] [--json] [FILE]\n"
    "Print the parameters, MACs and FLOPs of the network in a checkpoint\n"
    "(FILE, or standard input), per layer and in total, for one sample.\n"
    "\n"
    "      --baseline FILE  also print the drop against the network in FILE\n"
    "  -j, --json           print one JSON object instead of a table\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n"
    "\n"
    "MACs count the multiply-accumulates of convolutions and linear layers.\n"
    "FLOPs (thop) add conv biases, two per batch-norm element and average\n"
    "pooling, the convention of the published Sensitivity Pruner baselines.\n";

enum { OPT_BASELINE = 256 };

static void parse_command_line(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"baseline", required_argument, NULL, OPT_BASELINE},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof *o);
    opterr = 0;   /* one message of ours instead of getopt's */
    while ((c = getopt_long(argc, argv, ":jhV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_BASELINE: o->baseline = optarg; break;
        case 'j': o->json = 1; break;
        case 'h': sp_print_help(usage_text);
        case 'V': sp_print_version();
        default: sp_die_bad_option(argv, c);
        }
    }
    o->input = sp_arg_operand_why(argc, argv, optind, "only one checkpoint is read");
    int in_stdin = !o->input || strcmp(o->input, "-") == 0;
    if (o->baseline && strcmp(o->baseline, "-") == 0 && in_stdin)
        sp_die_usage("the checkpoint and the baseline cannot both be standard input");
}

/* "314,031,104" */
static const char *grouped(int64_t v, char *buf, size_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
    size_t k = 0;
    if (v < 0 && k + 1 < n)
        buf[k++] = '-';
    for (int i = 0; i < len && k + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = '\0';
    return buf;
}

/* " (314.03 M)", " (15.51 G)", "" below a million */
static const char *scaled(int64_t v, char *buf, size_t n)
{
    if (v >= 1000000000)
        snprintf(buf, n, " (%.2f G)", (double)v / 1e9);
    else if (v >= 1000000)
        snprintf(buf, n, " (%.2f M)", (double)v / 1e6);
    else
        buf[0] = '\0';
    return buf;
}

/* Percentage removed; 0 when the baseline has nothing to remove. */
static int drop_pct(int64_t base, int64_t cur, double *pct)
{
    if (base <= 0)
        return 0;
    *pct = 100.0 * (double)(base - cur) / (double)base;
    return 1;
}

static int costs(const sp_count *c)
{
    return c->params || c->macs || c->flops_thop;
}

static void print_table(const report *r)
{
    char a[32], b[32], c[32], shape[48];
    int width = 4;
    for (int i = 1; i < r->g->n; i++)
        if (costs(&r->node[i]) && (int)strlen(r->g->node[i].name) > width)
            width = (int)strlen(r->g->node[i].name);
    printf("%-*s  %-16s %-14s %14s %16s %16s%s\n", width, "node", "op", "output", "params",
           "MACs", "FLOPs (thop)", r->base ? "  FLOPs drop" : "");
    for (int i = 1; i < r->g->n; i++) {
        const sp_node *n = &r->g->node[i];
        const sp_count *k = &r->node[i];
        if (!costs(k))
            continue;
        snprintf(shape, sizeof shape, "%dx%dx%d", n->c, n->h, n->w);
        printf("%-*s  %-16s %-14s %14s %16s %16s", width, n->name, sp_op_name(n->op), shape,
               grouped(k->params, a, sizeof a), grouped(k->macs, b, sizeof b),
               grouped(k->flops_thop, c, sizeof c));
        double pct;
        if (r->base && r->has_base[i] && drop_pct(r->base_node[i].flops_thop, k->flops_thop, &pct))
            printf("  %9.2f%%", pct);
        else if (r->base)
            printf("  %10s", "-");
        putchar('\n');
    }
    static const char *const label[3] = {"params", "MACs", "FLOPs (thop)"};
    const int64_t cur[3] = {r->total.params, r->total.macs, r->total.flops_thop};
    const int64_t base[3] = {r->base_total.params, r->base_total.macs, r->base_total.flops_thop};
    putchar('\n');
    for (int i = 0; i < 3; i++) {
        printf("%-13s %16s%s", label[i], grouped(cur[i], a, sizeof a),
               scaled(cur[i], b, sizeof b));
        double pct;
        if (r->base && drop_pct(base[i], cur[i], &pct))
            printf("  baseline %s%s  drop %.2f%%", grouped(base[i], a, sizeof a),
                   scaled(base[i], b, sizeof b), pct);
        putchar('\n');
    }
}

static void json_counts(const char *key, const sp_count *c)
{
    printf("\"%s\":{\"params\":%lld,\"macs\":%lld,\"flops_thop\":%lld}", key,
           (long long)c->params, (long long)c->macs, (long long)c->flops_thop);
}

/* sep: "," between members, "" for the first member of an object. */
static void json_drop(const char *sep, const char *key, int64_t base, int64_t cur)
{
    double pct;
    if (drop_pct(base, cur, &pct))
        printf("%s\"%s\":%.6f", sep, key, pct);
    else
        printf("%s\"%s\":null", sep, key);
}

/* Node names come from a validated graph: letters, digits, '_', '.', '-'. */
static void print_json(const report *r)
{
    printf("{\"arch\":\"%s\",\"params\":%lld,\"macs\":%lld,\"flops_thop\":%lld", r->g->arch,
           (long long)r->total.params, (long long)r->total.macs,
           (long long)r->total.flops_thop);
    if (r->base) {
        putchar(',');
        json_counts("baseline", &r->base_total);
        printf(",\"drop\":{");
        json_drop("", "params", r->base_total.params, r->total.params);
        json_drop(",", "macs", r->base_total.macs, r->total.macs);
        json_drop(",", "flops_thop", r->base_total.flops_thop, r->total.flops_thop);
        putchar('}');
    }
    printf(",\"layers\":[");
    for (int i = 1; i < r->g->n; i++) {
        const sp_node *n = &r->g->node[i];
        const sp_count *k = &r->node[i];
        printf("%s{\"name\":\"%s\",\"op\":\"%s\",\"shape\":[%d,%d,%d],\"params\":%lld,"
               "\"macs\":%lld,\"flops_thop\":%lld", i > 1 ? "," : "", n->name,
               sp_op_name(n->op), n->c, n->h, n->w, (long long)k->params,
               (long long)k->macs, (long long)k->flops_thop);
        if (r->base && r->has_base[i]) {
            putchar(',');
            json_counts("baseline", &r->base_node[i]);
            json_drop(",", "drop_flops_thop", r->base_node[i].flops_thop, k->flops_thop);
        }
        putchar('}');
    }
    printf("]}\n");
}

/* Layers are matched by name: pruning changes widths, never names. */
static void count_baseline(report *r, const sp_graph *base)
{
    sp_count *bn = sp_xcalloc((size_t)base->n, sizeof *bn);
    sp_graph_count(base, &r->base_total, bn);
    r->base = base;
    r->base_node = sp_xcalloc((size_t)r->g->n, sizeof *r->base_node);
    r->has_base = sp_xcalloc((size_t)r->g->n, sizeof *r->has_base);
    sp_names ix;
    sp_graph_names(base, &ix);
    for (int i = 1; i < r->g->n; i++) {
        int j = sp_names_find(&ix, r->g->node[i].name);
        if (j > 0 && base->node[j].op == r->g->node[i].op) {
            r->base_node[i] = bn[j];
            r->has_base[i] = 1;
        }
    }
    sp_names_free(&ix);
    free(bn);
}

/* Whether m was pruned from the network in base, or is it: the same
 * architecture, input and original layers (names and widths).  A drop
 * against another network is a number about two different things. */
static int same_origin(const sp_model *m, const sp_model *base)
{
    const sp_graph *a = m->original, *b = base->original;
    if (strcmp(a->arch, b->arch) != 0 || a->classes != b->classes ||
        a->node[0].c != b->node[0].c || a->node[0].h != b->node[0].h ||
        a->node[0].w != b->node[0].w)
        return 0;
    int layers[2] = {0, 0}, same = 1;
    for (int k = 0; k < 2 && same; k++) {
        const sp_graph *g = k ? b : a, *other = k ? a : b;
        sp_names ix;
        sp_graph_names(other, &ix);
        for (int i = 0; i < g->n && same; i++) {
            const sp_node *n = &g->node[i];
            if (n->op != SP_OP_CONV && n->op != SP_OP_LINEAR)
                continue;
            layers[k]++;
            int j = sp_names_find(&ix, n->name);
            if (j < 0 || other->node[j].op != n->op || other->node[j].cin != n->cin ||
                other->node[j].cout != n->cout)
                same = 0;
        }
        sp_names_free(&ix);
    }
    if (!same)
        return 0;
    return layers[0] == layers[1];
}

int main(int argc, char **argv)
{
    options o;
    report r;
    sp_cli_init("sp-flops");
    parse_command_line(argc, argv, &o);
    memset(&r, 0, sizeof r);
    sp_model *m = sp_ckpt_load_or_die(o.input);
    sp_model *base = o.baseline ? sp_ckpt_load_or_die(o.baseline) : NULL;
    if (base && !same_origin(m, base))
        sp_warning("the baseline '%s' is not the network this one was pruned from (another "
                   "architecture, input or original widths): the drop compares two different "
                   "networks", sp_in_name(o.baseline));
    r.g = m->graph;
    r.node = sp_xcalloc((size_t)m->graph->n, sizeof *r.node);
    sp_graph_count(m->graph, &r.total, r.node);
    if (base)
        count_baseline(&r, base->graph);
    if (o.json)
        print_json(&r);
    else
        print_table(&r);
    sp_stdout_close();
    free(r.node);
    free(r.base_node);
    free(r.has_base);
    sp_model_free(base);
    sp_model_free(m);
    return SP_EXIT_OK;
}
