/* ops.c: what each graph operation is, one entry per sp_op (ops_priv.h).
 *
 * Shape rules follow PyTorch (floor-mode windows, the option-A shortcut
 * taking every sh-th row from 0) so a graph has the shapes of the module it
 * names.  Costs follow sp-method(7), COUNTING: MACs count conv and
 * linear multiply-accumulates; the "thop" convention of the published
 * baselines adds a conv bias per output, two per batch-norm element, one per
 * average-pool output (adaptive: the window's area plus one) and ignores a
 * linear bias.  The entries are at the end; each operation's functions come
 * first, in the order of sp_op. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "ops_priv.h"

int sp_node_error(const sp_node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sp_errorf("node '%s' (%s): %s", n->name, sp_op_name(n->op), msg);
}

void sp_op_param(sp_param_info *p, const sp_node *n, sp_param_kind kind, const char *suffix,
                 int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    int64_t d[4] = {d0, d1, d2, d3};
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", n->name, suffix);
    p->kind = kind;
    p->dtype = kind == SP_P_NUM_BATCHES ? SP_I64 : SP_F32;
    p->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        p->shape[i] = d[i];
    p->learnable = kind == SP_P_WEIGHT || kind == SP_P_BIAS;
}

static int64_t out_numel(const sp_node *n)
{
    return sp_sat_mul(sp_sat_mul(n->c, n->h), n->w);
}

/* A window of kh x kw sliding over x: convolutions and pools. */
static int infer_window(sp_node *n, const sp_node *x, int pool)
{
    if (n->kh < 1 || n->kw < 1 || n->sh < 1 || n->sw < 1 || n->ph < 0 || n->pw < 0)
        return sp_node_error(n, "kernel %dx%d, stride %dx%d and padding %dx%d must be positive "
                             "(padding non-negative)", n->kh, n->kw, n->sh, n->sw, n->ph, n->pw);
    if (pool && (2 * n->ph > n->kh || 2 * n->pw > n->kw))
        return sp_node_error(n, "padding %dx%d is more than half the kernel %dx%d",
                             n->ph, n->pw, n->kh, n->kw);
    n->h = sp_window_out(x->h, n->kh, n->sh, n->ph);
    n->w = sp_window_out(x->w, n->kw, n->sw, n->pw);
    if (n->h < 1 || n->w < 1)
        return sp_node_error(n, "the input is too small: %dx%d with kernel %dx%d and padding "
                             "%dx%d gives no output", x->h, x->w, n->kh, n->kw, n->ph, n->pw);
    return 0;
}

/* bn and mask: one value per channel of the input. */
static int infer_channels(sp_node *n, const sp_node *x, const sp_node *y)
{
    (void)y;
    if (n->cout != x->c)
        return sp_node_error(n, "it has %d channel%s but its input '%s' has %d",
                             n->cout, SP_PLURAL(n->cout), x->name, x->c);
    return 0;
}

/* ---- conv ---- */

static void conv_defaults(sp_node *n)
{
    if (n->groups == 0)
        n->groups = 1;
    if (n->sh == 0)
        n->sh = 1;
    if (n->sw == 0)
        n->sw = 1;
}

static int conv_infer(sp_node *n, const sp_node *x, const sp_node *y)
{
    (void)y;
    if (n->cin < 1 || n->cout < 1 || n->groups < 1)
        return sp_node_error(n, "cin %d, cout %d and groups %d must be positive",
                             n->cin, n->cout, n->groups);
    if (n->cin != x->c)
        return sp_node_error(n, "cin %d differs from the %d channels of its input '%s'",
                             n->cin, x->c, x->name);
    if (n->cin % n->groups || n->cout % n->groups)
        return sp_node_error(n, "cin %d and cout %d are not multiples of groups %d",
                             n->cin, n->cout, n->groups);
    n->c = n->cout;
    return infer_window(n, x, 0);
}

static int conv_groups(const sp_node *n)
{
    return n->groups > 0 ? n->groups : 1;
}

static int conv_params(const sp_node *n, sp_param_info *p)
{
    sp_op_param(&p[0], n, SP_P_WEIGHT, "weight", 4, n->cout, n->cin / conv_groups(n),
                n->kh, n->kw);
    if (!n->bias)
        return 1;
    sp_op_param(&p[1], n, SP_P_BIAS, "bias", 1, n->cout, 0, 0, 0);
    return 2;
}

static void conv_count(const sp_node *n, const sp_node *x, sp_count *r)
{
    (void)x;
    int64_t per = (int64_t)(n->cin / conv_groups(n)) * n->kh * n->kw;   /* < 2^51 */
    r->macs = sp_sat_mul(out_numel(n), per);
    r->flops_thop = sp_sat_mul(out_numel(n), per + (n->bias ? 1 : 0));
    r->params = sp_sat_add(sp_sat_mul(n->cout, per), n->bias ? n->cout : 0);
}

/* A depthwise conv (one group per channel; 1 -> 1 counts) keeps channel c
 * as channel c, so a group passes through it and shrinks its weight. */
static unsigned conv_chan(const sp_node *n)
{
    if (n->groups == n->cin && n->cin == n->cout)
        return SP_CHAN_PASS | SP_CHAN_OWNS;
    return SP_CHAN_LAYER | (n->groups != 1 ? SP_CHAN_TIED : 0);
}

static void conv_describe(const sp_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "%d->%d k%dx%d s%dx%d p%dx%d%s%s", n->cin, n->cout, n->kh, n->kw,
             n->sh, n->sw, n->ph, n->pw,
             n->groups == 1 ? "" : n->groups == n->cin ? " depthwise" : " grouped",
             n->bias ? " bias" : "");
}

/* ---- bn ---- */

static void bn_defaults(sp_node *n)
{
    if (n->eps == 0)
        n->eps = 1e-5f;
    if (n->momentum == 0)
        n->momentum = 0.1f;
}

static int bn_infer(sp_node *n, const sp_node *x, const sp_node *y)
{
    if (infer_channels(n, x, y) < 0)
        return -1;
    if (!(n->eps > 0))
        return sp_node_error(n, "eps must be positive");
    return 0;
}

static int bn_params(const sp_node *n, sp_param_info *p)
{
    sp_op_param(&p[0], n, SP_P_WEIGHT, "weight", 1, n->cout, 0, 0, 0);
    sp_op_param(&p[1], n, SP_P_BIAS, "bias", 1, n->cout, 0, 0, 0);
    sp_op_param(&p[2], n, SP_P_RUNNING_MEAN, "running_mean", 1, n->cout, 0, 0, 0);
    sp_op_param(&p[3], n, SP_P_RUNNING_VAR, "running_var", 1, n->cout, 0, 0, 0);
    sp_op_param(&p[4], n, SP_P_NUM_BATCHES, "num_batches_tracked", 0, 0, 0, 0, 0);
    return 5;
}

static void bn_count(const sp_node *n, const sp_node *x, sp_count *r)
{
    (void)x;
    r->flops_thop = sp_sat_mul(2, out_numel(n));
    r->params = 2 * (int64_t)n->cout;
}

static void bn_describe(const sp_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "eps %g momentum %g", (double)n->eps, (double)n->momentum);
}

/* ---- maxpool, avgpool ---- */

static void pool_defaults(sp_node *n)
{
    if (n->sh == 0)
        n->sh = n->kh;
    if (n->sw == 0)
        n->sw = n->kw;
}

static int pool_infer(sp_node *n, const sp_node *x, const sp_node *y)
{
    (void)y;
    return infer_window(n, x, 1);
}

static void avgpool_count(const sp_node *n, const sp_node *x, sp_count *r)
{
    (void)x;
    r->flops_thop = out_numel(n);
}

static void pool_describe(const sp_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "k%dx%d s%dx%d p%dx%d", n->kh, n->kw, n->sh, n->sw, n->ph, n->pw);
}

/* ---- adaptive_avgpool ---- */

static int adaptive_infer(sp_node *n, const sp_node *x, const sp_node *y)
{
    (void)x;
    (void)y;
    if (n->oh < 1 || n->ow < 1)
        return sp_node_error(n, "output size %dx%d must be positive", n->oh, n->ow);
    n->h = n->oh;
    n->w = n->ow;
    return 0;
}

static void adaptive_count(const sp_node *n, const sp_node *x, sp_count *r)
{
    if (!x || n->oh < 1 || n->ow < 1)
        return;   /* not a valid node: sp_graph_infer rejects it */
    int64_t area = (int64_t)(x->h / n->oh) * (x->w / n->ow);
    r->flops_thop = sp_sat_mul(out_numel(n), area + 1);
}

static void adaptive_describe(const sp_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "to %dx%d", n->oh, n->ow);
}

/* ---- flatten ---- */

static int flatten_infer(sp_node *n, const sp_node *x, const sp_node *y)
{
    (void)y;
    long long f = (long long)x->c * x->h * x->w;
    if (f > INT_MAX)
        return sp_node_error(n, "%lld features are too many", f);
    n->c = (int)f;
    n->h = n->w = 1;
    return 0;
}

/* ---- linear ---- */

static int linear_infer(sp_node *n, const sp_node *x, const sp_node *y)
{
    (void)y;
    if (n->cin < 1 || n->cout < 1)
        return sp_node_error(n, "cin %d and cout %d must be positive", n->cin, n->cout);
    if (x->h != 1 || x->w != 1)
        return sp_node_error(n, "its input '%s' is %dx%dx%d, not a vector (flatten it first)",
                             x->name, x->c, x->h, x->w);
    if (n->cin != x->c)
        return sp_node_error(n, "cin %d differs from the %d features of its input '%s'",
                             n->cin, x->c, x->name);
    n->c = n->cout;
    return 0;
}

static int linear_params(const sp_node *n, sp_param_info *p)
{
    sp_op_param(&p[0], n, SP_P_WEIGHT, "weight", 2, n->cout, n->cin, 0, 0);
    if (!n->bias)
        return 1;
    sp_op_param(&p[1], n, SP_P_BIAS, "bias", 1, n->cout, 0, 0, 0);
    return 2;
}

static void linear_count(const sp_node *n, const sp_node *x, sp_count *r)
{
    (void)x;
    r->macs = r->flops_thop = (int64_t)n->cin * n->cout;
    r->params = (int64_t)n->cin * n->cout + (n->bias ? n->cout : 0);
}

static void linear_describe(const sp_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "%d->%d%s", n->cin, n->cout, n->bias ? " bias" : "");
}

/* ---- dropout ---- */

static int dropout_infer(sp_node *n, const sp_node *x, const sp_node *y)
{
    (void)x;
    (void)y;
    if (!(n->p >= 0 && n->p < 1))
        return sp_node_error(n, "probability %g is not in [0, 1)", (double)n->p);
    return 0;
}

static void dropout_describe(const sp_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "p %g", (double)n->p);
}

/* ---- add ---- */

static int add_infer(sp_node *n, const sp_node *x, const sp_node *y)
{
    if (x->c != y->c || x->h != y->h || x->w != y->w)
        return sp_node_error(n, "its inputs '%s' (%dx%dx%d) and '%s' (%dx%dx%d) differ in "
                             "shape", x->name, x->c, x->h, x->w, y->name, y->c, y->h, y->w);
    return 0;
}

/* ---- pad_shortcut ---- */

static void shortcut_defaults(sp_node *n)
{
    if (n->sh == 0)
        n->sh = 1;
    if (n->sw == 0)
        n->sw = 1;
}

static int shortcut_infer(sp_node *n, const sp_node *x, const sp_node *y)
{
    (void)y;
    if (n->sh < 1 || n->sw < 1 || n->pad_lo < 0 || n->pad_hi < 0)
        return sp_node_error(n, "stride %dx%d must be positive and padding %d+%d non-negative",
                             n->sh, n->sw, n->pad_lo, n->pad_hi);
    long long c = (long long)n->pad_lo + x->c + n->pad_hi;
    if (c > INT_MAX)
        return sp_node_error(n, "%lld channels are too many", c);
    n->c = (int)c;
    n->h = sp_window_out(x->h, 1, n->sh, 0);   /* rows 0, sh, 2 sh, ... */
    n->w = sp_window_out(x->w, 1, n->sw, 0);
    return 0;
}

static void shortcut_describe(const sp_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "s%dx%d pad %d+%d", n->sh, n->sw, n->pad_lo, n->pad_hi);
}

/* ---- mask ---- */

static int mask_params(const sp_node *n, sp_param_info *p)
{
    sp_op_param(&p[0], n, SP_P_MASK, "mask", 1, n->cout, 0, 0, 0);
    return 1;
}

/* ------------------------------------------------------------------ */

static const sp_op_desc ops[SP_OP_COUNT] = {
    [SP_OP_INPUT] = {.name = "input", .inputs = 0},
    [SP_OP_CONV] = {
        .name = "conv", .inputs = 1,
        .attrs = SP_ATTR_CIN | SP_ATTR_COUT | SP_ATTR_KERNEL | SP_ATTR_STRIDE |
                 SP_ATTR_PADDING | SP_ATTR_GROUPS | SP_ATTR_BIAS,
        .defaults = conv_defaults, .infer = conv_infer, .params = conv_params,
        .count = conv_count, .chan_of = conv_chan, .describe = conv_describe,
    },
    [SP_OP_BN] = {
        .name = "bn", .inputs = 1,
        .attrs = SP_ATTR_CHANNELS | SP_ATTR_EPS | SP_ATTR_MOMENTUM,
        .chan = SP_CHAN_PASS | SP_CHAN_OWNS,
        .defaults = bn_defaults, .infer = bn_infer, .params = bn_params,
        .count = bn_count, .describe = bn_describe,
    },
    [SP_OP_RELU] = {.name = "relu", .inputs = 1, .chan = SP_CHAN_PASS},
    [SP_OP_RELU6] = {.name = "relu6", .inputs = 1, .chan = SP_CHAN_PASS},
    [SP_OP_MAXPOOL] = {
        .name = "maxpool", .inputs = 1,
        .attrs = SP_ATTR_KERNEL | SP_ATTR_STRIDE | SP_ATTR_PADDING, .chan = SP_CHAN_PASS,
        .defaults = pool_defaults, .infer = pool_infer, .describe = pool_describe,
    },
    [SP_OP_AVGPOOL] = {
        .name = "avgpool", .inputs = 1,
        .attrs = SP_ATTR_KERNEL | SP_ATTR_STRIDE | SP_ATTR_PADDING, .chan = SP_CHAN_PASS,
        .defaults = pool_defaults, .infer = pool_infer, .count = avgpool_count,
        .describe = pool_describe,
    },
    [SP_OP_ADAPTIVE_AVGPOOL] = {
        .name = "adaptive_avgpool", .inputs = 1, .attrs = SP_ATTR_OUTPUT,
        .chan = SP_CHAN_PASS, .infer = adaptive_infer, .count = adaptive_count,
        .describe = adaptive_describe,
    },
    [SP_OP_FLATTEN] = {
        .name = "flatten", .inputs = 1, .chan = SP_CHAN_FLATTEN, .infer = flatten_infer,
    },
    [SP_OP_LINEAR] = {
        .name = "linear", .inputs = 1, .attrs = SP_ATTR_CIN | SP_ATTR_COUT | SP_ATTR_BIAS,
        .chan = SP_CHAN_LAYER | SP_CHAN_FLAT_OK, .infer = linear_infer,
        .params = linear_params, .count = linear_count, .describe = linear_describe,
    },
    [SP_OP_DROPOUT] = {
        .name = "dropout", .inputs = 1, .attrs = SP_ATTR_P, .chan = SP_CHAN_PASS,
        .infer = dropout_infer, .describe = dropout_describe,
    },
    [SP_OP_ADD] = {.name = "add", .inputs = 2, .infer = add_infer},
    [SP_OP_PAD_SHORTCUT] = {
        .name = "pad_shortcut", .inputs = 1, .attrs = SP_ATTR_STRIDE | SP_ATTR_PAD,
        .defaults = shortcut_defaults, .infer = shortcut_infer,
        .describe = shortcut_describe,
    },
    [SP_OP_MASK] = {
        .name = "mask", .inputs = 1, .attrs = SP_ATTR_CHANNELS,
        .chan = SP_CHAN_PASS | SP_CHAN_OWNS, .infer = infer_channels, .params = mask_params,
    },
};

const sp_op_desc *sp_op_desc_of(sp_op op)
{
    return (unsigned)op < SP_OP_COUNT && ops[op].name ? &ops[op] : NULL;
}

unsigned sp_op_chan(const sp_node *n)
{
    const sp_op_desc *d = sp_op_desc_of(n->op);
    if (!d)
        return 0;
    return d->chan_of ? d->chan_of(n) : d->chan;
}

const char *sp_op_name(sp_op op)
{
    const sp_op_desc *d = sp_op_desc_of(op);
    return d ? d->name : "?";
}

int sp_op_parse(const char *name, sp_op *op)
{
    for (int i = 0; i < SP_OP_COUNT; i++)
        if (ops[i].name && strcmp(name, ops[i].name) == 0) {
            *op = (sp_op)i;
            return 0;
        }
    return sp_errorf("unknown operation '%s'", name);
}

void sp_node_describe(const sp_node *n, char *buf, size_t len)
{
    const sp_op_desc *d = sp_op_desc_of(n->op);
    if (len > 0)
        buf[0] = 0;
    if (d && d->describe && len > 0)
        d->describe(n, buf, len);
}
