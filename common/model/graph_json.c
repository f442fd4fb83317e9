/* graph_json.c: the graph's JSON form, stored in a checkpoint's metadata.
 *
 *   {"arch": "vgg16-cifar", "classes": 10, "input": [3, 32, 32],
 *    "nodes": [{"op": "input", "name": "input", "inputs": []},
 *              {"op": "conv", "name": "features.0", "inputs": [0], "cin": 3,
 *               "cout": 64, "kernel": [3, 3], "stride": [1, 1],
 *               "padding": [1, 1], "groups": 1, "bias": true}, ...],
 *    "blocks": [{"id": 0, "anchors": ["features.2"]}, ...]}
 *
 * Each node carries only the attributes of its operation, and the reader
 * refuses any other: a checkpoint is untrusted input, so every field is
 * checked before the graph is used. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/graph.h"
#include "graph_priv.h"
#include "ops_priv.h"

/* Bounds that no real network reaches; they keep products far from overflow. */
#define MAX_CHANNELS (1 << 20)
#define MAX_SPATIAL (1 << 16)
#define MAX_KERNEL 1024
#define MAX_NODES (1 << 16)
#define MAX_BLOCKS 4096
#define MAX_BLOCK_ID 1000000

/* Which attributes a node carries is its operation's (ops.c); here is how
 * each is spelled and read. */
static const struct { const char *key; unsigned bit; } attr_keys[] = {
    {"cin", SP_ATTR_CIN}, {"cout", SP_ATTR_COUT}, {"kernel", SP_ATTR_KERNEL},
    {"stride", SP_ATTR_STRIDE}, {"padding", SP_ATTR_PADDING}, {"groups", SP_ATTR_GROUPS},
    {"bias", SP_ATTR_BIAS}, {"channels", SP_ATTR_CHANNELS}, {"eps", SP_ATTR_EPS},
    {"momentum", SP_ATTR_MOMENTUM}, {"output", SP_ATTR_OUTPUT}, {"p", SP_ATTR_P},
    {"pad", SP_ATTR_PAD},
};

/* The attribute bits of op; 0 for a value that is not an operation. */
static unsigned op_attrs(sp_op op)
{
    const sp_op_desc *d = sp_op_desc_of(op);
    return d ? d->attrs : 0;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

static void add_pair(cJSON *o, const char *key, int a, int b)
{
    int v[2] = {a, b};
    cJSON_AddItemToObject(o, key, cJSON_CreateIntArray(v, 2));
}

/* The shortest decimal that reads back as the same float, so that 1e-5
 * is written "1e-05" and not as its binary double expansion. */
static double float_decimal(float f)
{
    char buf[32];
    for (int prec = 6; prec < 10; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if ((float)strtod(buf, NULL) == f)
            break;
    }
    return strtod(buf, NULL);
}

static cJSON *node_json(const sp_graph *g, const sp_node *n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "op", sp_op_name(n->op));
    cJSON_AddStringToObject(o, "name", n->name);
    cJSON *in = cJSON_AddArrayToObject(o, "inputs");
    for (int k = 0; k < 2; k++)
        if (n->in[k] >= 0 && n->in[k] < g->n && n->op != SP_OP_INPUT)
            cJSON_AddItemToArray(in, cJSON_CreateNumber(n->in[k]));
    unsigned a = op_attrs(n->op);
    if (a & SP_ATTR_CIN)
        cJSON_AddNumberToObject(o, "cin", n->cin);
    if (a & SP_ATTR_COUT)
        cJSON_AddNumberToObject(o, "cout", n->cout);
    if (a & SP_ATTR_CHANNELS)
        cJSON_AddNumberToObject(o, "channels", n->cout);
    if (a & SP_ATTR_KERNEL)
        add_pair(o, "kernel", n->kh, n->kw);
    if (a & SP_ATTR_STRIDE)
        add_pair(o, "stride", n->sh, n->sw);
    if (a & SP_ATTR_PADDING)
        add_pair(o, "padding", n->ph, n->pw);
    if (a & SP_ATTR_GROUPS)
        cJSON_AddNumberToObject(o, "groups", n->groups);
    if (a & SP_ATTR_BIAS)
        cJSON_AddBoolToObject(o, "bias", n->bias);
    if (a & SP_ATTR_EPS)
        cJSON_AddNumberToObject(o, "eps", float_decimal(n->eps));
    if (a & SP_ATTR_MOMENTUM)
        cJSON_AddNumberToObject(o, "momentum", float_decimal(n->momentum));
    if (a & SP_ATTR_OUTPUT)
        add_pair(o, "output", n->oh, n->ow);
    if (a & SP_ATTR_P)
        cJSON_AddNumberToObject(o, "p", float_decimal(n->p));
    if (a & SP_ATTR_PAD)
        add_pair(o, "pad", n->pad_lo, n->pad_hi);
    return o;
}

char *sp_graph_to_json(const sp_graph *g)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "arch", g->arch);
    cJSON_AddNumberToObject(root, "classes", g->classes);
    int shape[3] = {g->node[0].cout, g->node[0].h, g->node[0].w};
    cJSON_AddItemToObject(root, "input", cJSON_CreateIntArray(shape, 3));
    cJSON *nodes = cJSON_AddArrayToObject(root, "nodes");
    for (int i = 0; i < g->n; i++)
        cJSON_AddItemToArray(nodes, node_json(g, &g->node[i]));
    cJSON *blocks = cJSON_AddArrayToObject(root, "blocks");
    for (int b = 0; b < g->nblock; b++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", g->block[b].id);
        cJSON *an = cJSON_AddArrayToObject(o, "anchors");
        for (int k = 0; k < g->block[b].n; k++) {
            int a = g->block[b].anchor[k];
            const char *name = a >= 0 && a < g->n ? g->node[a].name : "";
            cJSON_AddItemToArray(an, cJSON_CreateString(name));
        }
        cJSON_AddItemToArray(blocks, o);
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        sp_oom(0);
    /* cJSON allocates with malloc by default, so callers free() it. */
    return s;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

static int get_int(const cJSON *v, const char *what, long min, long max, int *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return sp_errorf("%s is not an integer", what);
    if (v->valuedouble < (double)min || v->valuedouble > (double)max)
        return sp_errorf("%s %.0f is outside %ld..%ld", what, v->valuedouble, min, max);
    *out = (int)v->valuedouble;
    return 0;
}

static int get_pair(const cJSON *v, const char *what, long min, long max, int *a, int *b)
{
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
        return sp_errorf("%s is not a list of two integers", what);
    if (get_int(cJSON_GetArrayItem(v, 0), what, min, max, a) < 0 ||
        get_int(cJSON_GetArrayItem(v, 1), what, min, max, b) < 0)
        return -1;
    return 0;
}

static int get_float(const cJSON *v, const char *what, double min, double max, float *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= min && v->valuedouble <= max))
        return sp_errorf("%s is not a number in [%g, %g]", what, min, max);
    *out = (float)v->valuedouble;
    return 0;
}

static int valid_name(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len >= SP_NAME_MAX)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
            return 0;
    return 1;
}

static int read_attrs(const cJSON *o, sp_node *n, const char *who)
{
    unsigned want = op_attrs(n->op);
    char what[160];
    for (size_t k = 0; k < SP_COUNT(attr_keys); k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, attr_keys[k].key);
        if (!(want & attr_keys[k].bit))
            continue;
        snprintf(what, sizeof what, "%s: attribute '%s'", who, attr_keys[k].key);
        if (!v)
            return sp_errorf("%s: attribute '%s' is missing", who, attr_keys[k].key);
        int r = 0;
        switch (attr_keys[k].bit) {
        case SP_ATTR_CIN: r = get_int(v, what, 1, MAX_CHANNELS, &n->cin); break;
        case SP_ATTR_COUT:
        case SP_ATTR_CHANNELS: r = get_int(v, what, 1, MAX_CHANNELS, &n->cout); break;
        case SP_ATTR_KERNEL: r = get_pair(v, what, 1, MAX_KERNEL, &n->kh, &n->kw); break;
        case SP_ATTR_STRIDE: r = get_pair(v, what, 1, MAX_KERNEL, &n->sh, &n->sw); break;
        case SP_ATTR_PADDING: r = get_pair(v, what, 0, MAX_KERNEL, &n->ph, &n->pw); break;
        case SP_ATTR_GROUPS: r = get_int(v, what, 1, MAX_CHANNELS, &n->groups); break;
        case SP_ATTR_OUTPUT: r = get_pair(v, what, 1, MAX_SPATIAL, &n->oh, &n->ow); break;
        case SP_ATTR_PAD: r = get_pair(v, what, 0, MAX_CHANNELS, &n->pad_lo, &n->pad_hi); break;
        case SP_ATTR_EPS: r = get_float(v, what, 1e-30, 1, &n->eps); break;
        case SP_ATTR_MOMENTUM: r = get_float(v, what, 1e-30, 1, &n->momentum); break;
        case SP_ATTR_P: r = get_float(v, what, 0, 0.999999, &n->p); break;
        case SP_ATTR_BIAS:
            if (!cJSON_IsBool(v))
                r = sp_errorf("%s is not true or false", what);
            n->bias = cJSON_IsTrue(v);
            break;
        }
        if (r < 0)
            return -1;
    }
    for (const cJSON *v = o->child; v; v = v->next) {
        if (!strcmp(v->string, "op") || !strcmp(v->string, "name") || !strcmp(v->string, "inputs"))
            continue;
        size_t k = 0;
        while (k < SP_COUNT(attr_keys) && strcmp(attr_keys[k].key, v->string))
            k++;
        if (k == SP_COUNT(attr_keys) || !(want & attr_keys[k].bit))
            return sp_errorf("%s: attribute '%s' does not belong to a %s node",
                             who, v->string, sp_op_name(n->op));
    }
    return 0;
}

static int read_node(const cJSON *o, sp_graph *g, int i)
{
    sp_node n;
    char who[SP_NAME_MAX + 32];
    memset(&n, 0, sizeof n);
    n.in[0] = n.in[1] = -1;
    if (!cJSON_IsObject(o))
        return sp_errorf("node %d is not an object", i);
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(o, "inputs");
    if (!cJSON_IsString(name) || !valid_name(name->valuestring))
        return sp_errorf("node %d has no valid name (1 to %d letters, digits, '_', '.', '-')",
                         i, SP_NAME_MAX - 1);
    snprintf(n.name, sizeof n.name, "%s", name->valuestring);
    snprintf(who, sizeof who, "node %d '%s'", i, n.name);
    if (!cJSON_IsString(op))
        return sp_errorf("%s has no operation", who);
    if (sp_op_parse(op->valuestring, &n.op) < 0)
        return sp_errorf("%s has the unknown operation '%s'", who, op->valuestring);
    if ((i == 0) != (n.op == SP_OP_INPUT))
        return sp_errorf("%s: the first node and only it must be the input", who);
    int need = sp_op_desc_of(n.op)->inputs;
    if (!cJSON_IsArray(in) || cJSON_GetArraySize(in) != need)
        return sp_errorf("%s must have a list of %d input%s", who, need, need == 1 ? "" : "s");
    for (int k = 0; k < need; k++) {
        const cJSON *v = cJSON_GetArrayItem(in, k);
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
            v->valuedouble < 0 || v->valuedouble >= i)
            return sp_errorf("%s: input %d must be the index of an earlier node", who, k);
        n.in[k] = (int)v->valuedouble;
    }
    if (read_attrs(o, &n, who) < 0)
        return -1;
    if (i == 0) {
        snprintf(g->node[0].name, sizeof g->node[0].name, "%s", n.name);
        return 0;
    }
    if (sp_graph_append(g, &n) < 0)   /* names: from_root checks them all at once */
        return sp_error_prefix("%s", who);
    return 0;
}

/* Anchors are found through an index of the names: a graph of the most
 * nodes and blocks costs (nodes + anchors) log nodes, not their product. */
static int read_block(const cJSON *o, int b, sp_graph *g, const sp_names *ix,
                      unsigned char *seen)
{
    int id;
    char what[64];
    snprintf(what, sizeof what, "block %d: 'id'", b);
    const cJSON *an = cJSON_GetObjectItemCaseSensitive(o, "anchors");
    if (!cJSON_IsObject(o) || get_int(cJSON_GetObjectItemCaseSensitive(o, "id"), what,
                                      0, MAX_BLOCK_ID, &id) < 0)
        return sp_errorf("block %d has no integer 'id'", b);
    if (seen[id])
        return sp_errorf("block %d appears twice", id);
    seen[id] = 1;
    if (!cJSON_IsArray(an) || cJSON_GetArraySize(an) > SP_BLOCK_MAX)
        return sp_errorf("block %d: 'anchors' is not a list of at most %d node names",
                         id, SP_BLOCK_MAX);
    sp_block *blk = &g->block[g->nblock++];   /* room made by read_blocks */
    blk->id = id;
    for (const cJSON *v = an->child; v; v = v->next) {
        int a = cJSON_IsString(v) ? sp_names_find(ix, v->valuestring) : -1;
        if (a < 1)
            return sp_errorf("block %d: anchor %s is not a node of the graph", id,
                             cJSON_IsString(v) ? v->valuestring : "(not a string)");
        blk->anchor[blk->n++] = a;
    }
    return 0;
}

static int read_blocks(const cJSON *blocks, sp_graph *g)
{
    if (!blocks)
        return 0;
    if (!cJSON_IsArray(blocks) || cJSON_GetArraySize(blocks) > MAX_BLOCKS)
        return sp_errorf("'blocks' is not a list of at most %d blocks", MAX_BLOCKS);
    sp_names ix;
    sp_graph_names(g, &ix);
    free(g->block);
    g->block = sp_xcalloc((size_t)cJSON_GetArraySize(blocks) + 1, sizeof *g->block);
    g->nblock = 0;
    unsigned char *seen = sp_xcalloc(MAX_BLOCK_ID + 1, 1);
    int b = 0, rc = 0;
    for (const cJSON *o = blocks->child; o && rc == 0; o = o->next, b++)
        rc = read_block(o, b, g, &ix, seen);
    free(seen);
    sp_names_free(&ix);
    return rc;
}

static sp_graph *from_root(const cJSON *root)
{
    if (!cJSON_IsObject(root))
        return sp_errorf("the graph is not a JSON object"), NULL;
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(root, "arch");
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(root, "classes");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
    int c, h, w, ncls;
    if (!cJSON_IsString(arch) || strlen(arch->valuestring) >= sizeof ((sp_graph *)0)->arch)
        return sp_errorf("the graph's 'arch' is not a string of at most 31 characters"), NULL;
    if (get_int(classes, "the graph's 'classes'", 0, MAX_CHANNELS, &ncls) < 0)
        return NULL;
    if (!cJSON_IsArray(input) || cJSON_GetArraySize(input) != 3 ||
        get_int(cJSON_GetArrayItem(input, 0), "the input's channels", 1, MAX_CHANNELS, &c) < 0 ||
        get_int(cJSON_GetArrayItem(input, 1), "the input's height", 1, MAX_SPATIAL, &h) < 0 ||
        get_int(cJSON_GetArrayItem(input, 2), "the input's width", 1, MAX_SPATIAL, &w) < 0)
        return sp_errorf("the graph's 'input' is not [channels, height, width] "
                         "with sizes in range"), NULL;
    int nn = cJSON_IsArray(nodes) ? cJSON_GetArraySize(nodes) : 0;
    if (nn < 2 || nn > MAX_NODES)
        return sp_errorf("the graph's 'nodes' is not a list of 2 to %d nodes", MAX_NODES), NULL;
    sp_graph *g = sp_graph_new(arch->valuestring, c, h, w);
    g->classes = ncls;
    int i = 0;
    for (const cJSON *o = nodes->child; o; o = o->next, i++)
        if (read_node(o, g, i) < 0)
            goto fail;
    if (sp_graph_check_names(g) < 0)
        goto fail;
    if (read_blocks(cJSON_GetObjectItemCaseSensitive(root, "blocks"), g) < 0)
        goto fail;
    if (sp_graph_infer(g) < 0)
        goto fail;
    return g;
fail:
    sp_graph_free(g);
    return NULL;
}

sp_graph *sp_graph_from_json(const char *json)
{
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return sp_errorf("the graph is not valid JSON"), NULL;
    sp_graph *g = from_root(root);
    cJSON_Delete(root);
    return g;
}
