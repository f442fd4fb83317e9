/* arch_build.c: node helpers for the built-in network builders.
 *
 * Shapes are computed here as nodes are appended (with sp_window_out, as
 * sp_graph_infer) because a builder needs them on the way: a global pool
 * takes its window from the map it pools, and an input too small for the
 * network must be reported in terms of the user's --input, naming the
 * first layer that would have no output. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "arch_priv.h"

static int add_node(sp_arch_builder *b, sp_node *n, const char *fmt, va_list ap,
                    int c, int h, int w)
{
    vsnprintf(n->name, sizeof n->name, fmt, ap);
    if (b->failed)
        return -1;
    const sp_node *in = &b->g->node[0];
    if (h < 1 || w < 1) {
        b->failed = 1;
        return sp_errorf("input %dx%dx%d is too small for %s: layer %s would have %dx%d outputs",
                         in->cout, in->h, in->w, b->arch, n->name, h < 0 ? 0 : h, w < 0 ? 0 : w);
    }
    int i = sp_graph_add(b->g, n);
    if (i < 0) {
        b->failed = 1;
        return -1;
    }
    b->g->node[i].c = c;
    b->g->node[i].h = h;
    b->g->node[i].w = w;
    return i;
}

static void node_init(sp_node *n, sp_op op, int x)
{
    memset(n, 0, sizeof *n);
    n->op = op;
    n->in[0] = x;
    n->in[1] = -1;
}

static const sp_node *src(const sp_arch_builder *b, int x)
{
    return &b->g->node[x];
}

int sp_ab_c(const sp_arch_builder *b, int x) { return x < 0 ? 0 : src(b, x)->c; }
int sp_ab_h(const sp_arch_builder *b, int x) { return x < 0 ? 0 : src(b, x)->h; }
int sp_ab_w(const sp_arch_builder *b, int x) { return x < 0 ? 0 : src(b, x)->w; }

int sp_ab_conv(sp_arch_builder *b, int x, int cout, int k, int stride, int pad,
               int groups, int bias, const char *fmt, ...)
{
    if (b->failed || x < 0)
        return -1;
    sp_node n;
    node_init(&n, SP_OP_CONV, x);
    n.cin = src(b, x)->c;
    n.cout = cout;
    n.kh = n.kw = k;
    n.sh = n.sw = stride;
    n.ph = n.pw = pad;
    n.groups = groups;
    n.bias = bias;
    va_list ap;
    va_start(ap, fmt);
    int r = add_node(b, &n, fmt, ap, cout, sp_window_out(src(b, x)->h, k, stride, pad),
                     sp_window_out(src(b, x)->w, k, stride, pad));
    va_end(ap);
    return r;
}

/* BN, activations, dropout: shape-preserving nodes. */
static int same_shape(sp_arch_builder *b, sp_node *n, int x, const char *fmt, va_list ap)
{
    const sp_node *s = src(b, x);
    return add_node(b, n, fmt, ap, s->c, s->h, s->w);
}

int sp_ab_bn(sp_arch_builder *b, int x, const char *fmt, ...)
{
    if (b->failed || x < 0)
        return -1;
    sp_node n;
    node_init(&n, SP_OP_BN, x);
    n.cout = src(b, x)->c;
    n.eps = 1e-5f;
    n.momentum = 0.1f;
    va_list ap;
    va_start(ap, fmt);
    int r = same_shape(b, &n, x, fmt, ap);
    va_end(ap);
    return r;
}

int sp_ab_act(sp_arch_builder *b, int x, sp_op op, const char *fmt, ...)
{
    if (b->failed || x < 0)
        return -1;
    sp_node n;
    node_init(&n, op, x);
    va_list ap;
    va_start(ap, fmt);
    int r = same_shape(b, &n, x, fmt, ap);
    va_end(ap);
    return r;
}

int sp_ab_dropout(sp_arch_builder *b, int x, float p, const char *fmt, ...)
{
    if (b->failed || x < 0)
        return -1;
    sp_node n;
    node_init(&n, SP_OP_DROPOUT, x);
    n.p = p;
    va_list ap;
    va_start(ap, fmt);
    int r = same_shape(b, &n, x, fmt, ap);
    va_end(ap);
    return r;
}

int sp_ab_maxpool(sp_arch_builder *b, int x, int k, int stride, int pad, const char *fmt, ...)
{
    if (b->failed || x < 0)
        return -1;
    sp_node n;
    node_init(&n, SP_OP_MAXPOOL, x);
    n.kh = n.kw = k;
    n.sh = n.sw = stride;
    n.ph = n.pw = pad;
    va_list ap;
    va_start(ap, fmt);
    int r = add_node(b, &n, fmt, ap, src(b, x)->c, sp_window_out(src(b, x)->h, k, stride, pad),
                     sp_window_out(src(b, x)->w, k, stride, pad));
    va_end(ap);
    return r;
}

int sp_ab_avgpool(sp_arch_builder *b, int x, int kh, int kw, const char *fmt, ...)
{
    if (b->failed || x < 0)
        return -1;
    sp_node n;
    node_init(&n, SP_OP_AVGPOOL, x);
    n.kh = kh ? kh : src(b, x)->h;
    n.kw = kw ? kw : src(b, x)->w;
    n.sh = n.sw = 1;
    va_list ap;
    va_start(ap, fmt);
    int r = add_node(b, &n, fmt, ap, src(b, x)->c, sp_window_out(src(b, x)->h, n.kh, 1, 0),
                     sp_window_out(src(b, x)->w, n.kw, 1, 0));
    va_end(ap);
    return r;
}

int sp_ab_adaptive(sp_arch_builder *b, int x, int oh, int ow, const char *fmt, ...)
{
    if (b->failed || x < 0)
        return -1;
    sp_node n;
    node_init(&n, SP_OP_ADAPTIVE_AVGPOOL, x);
    n.oh = oh;
    n.ow = ow;
    va_list ap;
    va_start(ap, fmt);
    int r = add_node(b, &n, fmt, ap, src(b, x)->c, oh, ow);
    va_end(ap);
    return r;
}

int sp_ab_flatten(sp_arch_builder *b, int x, const char *fmt, ...)
{
    if (b->failed || x < 0)
        return -1;
    sp_node n;
    node_init(&n, SP_OP_FLATTEN, x);
    const sp_node *s = src(b, x);
    va_list ap;
    va_start(ap, fmt);
    int r = add_node(b, &n, fmt, ap, s->c * s->h * s->w, 1, 1);
    va_end(ap);
    return r;
}

int sp_ab_linear(sp_arch_builder *b, int x, int cin, int cout, const char *fmt, ...)
{
    if (b->failed || x < 0)
        return -1;
    sp_node n;
    node_init(&n, SP_OP_LINEAR, x);
    n.cin = cin;
    n.cout = cout;
    n.bias = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n.name, sizeof n.name, fmt, ap);
    va_end(ap);
    const sp_node *s = src(b, x);
    if (s->c != cin) {
        /* The vector came from a flatten: report the map it flattened. */
        const sp_node *m = s->op == SP_OP_FLATTEN && s->in[0] >= 0 ? src(b, s->in[0]) : s;
        const sp_node *in = &b->g->node[0];
        b->failed = 1;
        return sp_errorf("input %dx%dx%d does not fit %s: layer %s takes %d inputs "
                         "but '%s' gives %dx%dx%d", in->cout, in->h, in->w, b->arch,
                         n.name, cin, m->name, m->c, m->h, m->w);
    }
    int i = sp_graph_add(b->g, &n);
    if (i < 0) {
        b->failed = 1;
        return -1;
    }
    b->g->node[i].c = cout;
    b->g->node[i].h = b->g->node[i].w = 1;
    return i;
}

int sp_ab_add(sp_arch_builder *b, int x, int y, const char *fmt, ...)
{
    if (b->failed || x < 0 || y < 0)
        return -1;
    sp_node n;
    node_init(&n, SP_OP_ADD, x);
    n.in[1] = y;
    va_list ap;
    va_start(ap, fmt);
    int r = same_shape(b, &n, x, fmt, ap);
    va_end(ap);
    return r;
}

int sp_ab_pad_shortcut(sp_arch_builder *b, int x, int stride, int cout, const char *fmt, ...)
{
    if (b->failed || x < 0)
        return -1;
    sp_node n;
    node_init(&n, SP_OP_PAD_SHORTCUT, x);
    const sp_node *s = src(b, x);
    int extra = cout - s->c;
    n.sh = n.sw = stride;
    n.pad_lo = extra / 2;
    n.pad_hi = extra - extra / 2;
    va_list ap;
    va_start(ap, fmt);
    int r = add_node(b, &n, fmt, ap, cout, sp_window_out(s->h, 1, stride, 0),
                     sp_window_out(s->w, 1, stride, 0));
    va_end(ap);
    return r;
}

void sp_ab_anchor(sp_arch_builder *b, int id, int x)
{
    if (b->failed || x < 0)
        return;
    sp_block *blk = sp_graph_add_block(b->g, id);
    if (blk->n >= SP_BLOCK_MAX) {
        b->failed = 1;
        sp_errorf("%s: block %d has more than %d anchors", b->arch, id, SP_BLOCK_MAX);
        return;
    }
    blk->anchor[blk->n++] = x;
}
