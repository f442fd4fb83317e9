/* torch_map.c: from a list of named tensors to a built-in network.
 *
 * Reads: the tensors of a state_dict (sp_torch_load).  Produces: a model
 * whose graph is the built-in network with every width taken from the
 * tensor shapes, so that pruned and width-reduced networks import as well
 * as the public ones.  The built-in networks already use the public
 * module names (torchvision, the CIFAR ResNet code), so most layouts need
 * no rename; the original method's VGG names (feature_1.conv1_1,
 * classifier.fc6) and the CIFAR bottleneck names (shortcut, linear) are
 * renamed by position and by rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/arch.h"
#include "sp/torch.h"
#include "model/ops_priv.h"

/* Channel counts read from a tensor's shape, before they reach an int. */
enum { WIDTH_MAX = 1 << 20 };

static int find(const sp_tensor *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (t[i].name && strcmp(t[i].name, name) == 0)
            return i;
    return -1;
}

static const sp_tensor *get(const sp_tensor *t, int n, const char *name)
{
    int i = find(t, n, name);
    return i < 0 ? NULL : &t[i];
}

static void rename_tensor(sp_tensor *t, const char *name)
{
    free(t->name);
    t->name = sp_xstrdup(name);
}

/* Replace `from` by `to` wherever it occurs as a dotted component. */
static void rename_part(sp_tensor *t, int n, const char *from, const char *to)
{
    size_t lf = strlen(from);
    for (int i = 0; i < n; i++) {
        char *p = strstr(t[i].name, from);
        if (!p || (p != t[i].name && p[-1] != '.') || (p[lf] != '.' && p[lf] != 0))
            continue;
        char *s = sp_xasprintf("%.*s%s%s", (int)(p - t[i].name), t[i].name, to, p + lf);
        free(t[i].name);
        t[i].name = s;
    }
}

const char *sp_torch_detect(const sp_tensor *t, int n)
{
    static char depth_name[32];
    const sp_tensor *w;
    if (get(t, n, "feature_1.conv1_1.weight") || get(t, n, "features.1.running_mean")) {
        const char *fc6 = get(t, n, "feature_1.conv1_1.weight") ? "classifier.fc6.weight"
                                                                : "classifier.0.weight";
        const char *fc8 = get(t, n, "feature_1.conv1_1.weight") ? "classifier.fc8.weight"
                                                                : "classifier.6.weight";
        if (!get(t, n, fc8))
            return "vgg16-cifar";
        w = get(t, n, fc6);
        /* a 32x32 input reaches the head as 1x1 maps, a 224x224 one as 7x7 */
        return w && w->ndim == 2 && (w->shape[1] % 49 != 0) ? "vgg16-cifar-fc" : "vgg16";
    }
    if (get(t, n, "features.0.0.weight") && get(t, n, "classifier.1.weight"))
        return "mobilenetv2";
    if (get(t, n, "layer1.0.conv3.weight")) {
        w = get(t, n, "conv1.weight");
        return w && w->ndim == 4 && w->shape[2] == 3 ? "resnet50-cifar" : "resnet50";
    }
    if (get(t, n, "layer1.0.conv1.weight") && get(t, n, "linear.weight")) {
        int blocks = 0;
        for (;; blocks++) {
            char name[64];
            snprintf(name, sizeof name, "layer1.%d.conv1.weight", blocks);
            if (!get(t, n, name))
                break;
        }
        snprintf(depth_name, sizeof depth_name, "resnet%d", 6 * blocks + 2);
        if (sp_arch_lookup(depth_name))
            return depth_name;
        sp_errorf("a CIFAR ResNet with %d blocks per stage is not a built-in network", blocks);
        return NULL;
    }
    sp_errorf("the tensor names (the first is '%s') match no built-in network: name one with --arch",
              n ? t[0].name : "");
    return NULL;
}

/* The original method's VGG names: feature_1.convB_I / bnB_I and
 * classifier.fc6..fc8, mapped to the k-th conv, bn and linear node. */
static void rename_original_vgg(sp_tensor *t, int n, const sp_graph *g)
{
    static const int per_block[5] = { 2, 2, 3, 3, 3 };
    for (int i = 0; i < n; i++) {
        int blk, idx, fc, len = 0;
        char kind[8], rest[40];
        sp_op op;
        int k;
        if (sscanf(t[i].name, "feature_1.%4[a-z]%d_%d.%39s%n", kind, &blk, &idx, rest, &len) == 4 &&
            (strcmp(kind, "conv") == 0 || strcmp(kind, "bn") == 0) && blk >= 1 && blk <= 5 &&
            idx >= 1 && idx <= per_block[blk - 1]) {
            k = idx - 1;
            for (int b = 0; b < blk - 1; b++)
                k += per_block[b];
            op = kind[0] == 'c' ? SP_OP_CONV : SP_OP_BN;
        } else if (sscanf(t[i].name, "classifier.fc%d.%39s%n", &fc, rest, &len) == 2 &&
                   fc >= 6 && fc <= 8) {
            k = fc - 6;
            op = SP_OP_LINEAR;
        } else {
            continue;
        }
        for (int j = 0; j < g->n; j++) {
            if (g->node[j].op != op || k-- != 0)
                continue;
            char *s = sp_xasprintf("%s.%s", g->node[j].name, rest);
            rename_tensor(&t[i], s);
            free(s);
            break;
        }
    }
}

/* Channels of each node's output before sp_graph_infer has run: enough to
 * size the option-A shortcuts, which own no tensor to read a width from:
 * each pads its input to the width of the other operand of its sum. */
static void fit_shortcuts(sp_graph *g)
{
    int *ch = sp_xcalloc((size_t)g->n, sizeof(int));
    ch[0] = g->node[0].c;
    for (int i = 1; i < g->n; i++) {
        sp_node *nd = &g->node[i];
        const sp_op_desc *d = sp_op_desc_of(nd->op);
        int cin = nd->in[0] >= 0 ? ch[nd->in[0]] : 0;
        if (nd->op == SP_OP_PAD_SHORTCUT) {
            ch[i] = cin + nd->pad_lo + nd->pad_hi;
        } else if (nd->op == SP_OP_ADD) {
            for (int k = 0; k < 2; k++) {
                sp_node *p = &g->node[nd->in[k]];
                int other = ch[nd->in[1 - k]], pin = ch[p->in[0]];
                if (p->op == SP_OP_PAD_SHORTCUT && other >= pin) {
                    p->pad_lo = (other - pin) / 2;
                    p->pad_hi = other - pin - p->pad_lo;
                    ch[nd->in[k]] = other;
                }
            }
            ch[i] = ch[nd->in[0]];
        } else if (d && (d->attrs & (SP_ATTR_COUT | SP_ATTR_CHANNELS))) {
            ch[i] = nd->cout;   /* a width of its own */
        } else {
            ch[i] = cin;
        }
    }
    free(ch);
}

/* Node nd's weight as the operation declares it, or NULL if it has none. */
static const sp_param_info *weight_of(const sp_node *nd, sp_param_info *p)
{
    const sp_op_desc *d = sp_op_desc_of(nd->op);
    int np = d && d->params ? d->params(nd, p) : 0;
    for (int k = 0; k < np; k++)
        if (p[k].kind == SP_P_WEIGHT)
            return &p[k];
    return NULL;
}

/* Set each layer's width from its weight's shape, PyTorch's layout for
 * every layer: dimension 0 is the output width, dimension 1 the input
 * width per group.  A depthwise conv stays depthwise. */
static int fit_widths(sp_graph *g, const sp_tensor *t, int n, const char *what)
{
    for (int i = 1; i < g->n; i++) {
        sp_node *nd = &g->node[i];
        sp_param_info p[SP_OP_PARAMS_MAX];
        char name[SP_NAME_MAX + 16];
        snprintf(name, sizeof name, "%s.weight", nd->name);
        const sp_tensor *w = get(t, n, name);
        const sp_param_info *wp = weight_of(nd, p);
        if (!w || !wp || wp->ndim != w->ndim)
            continue;
        unsigned attrs = sp_op_desc_of(nd->op)->attrs;
        int groups = attrs & SP_ATTR_GROUPS ? nd->groups : 1;
        int depthwise = groups > 1 && groups == nd->cin && nd->cin == nd->cout;
        int64_t cin;
        if (w->shape[0] < 1 || w->shape[0] > WIDTH_MAX ||
            (w->ndim > 1 && (sp_mul_i64(&cin, w->shape[1], depthwise ? w->shape[0] : groups) < 0 ||
                             cin < 1 || cin > WIDTH_MAX)))
            return sp_errorf("'%s': tensor '%s' has an impossible shape for a layer", what, name);
        if (attrs & (SP_ATTR_COUT | SP_ATTR_CHANNELS))
            nd->cout = (int)w->shape[0];
        if (depthwise)
            nd->groups = groups = nd->cout;
        if (attrs & SP_ATTR_CIN)
            nd->cin = (int)w->shape[1] * groups;
    }
    fit_shortcuts(g);
    return 0;
}

static const sp_node *last_of(const sp_graph *g, sp_op op, int first)
{
    const sp_node *found = NULL;
    for (int i = 1; i < g->n; i++)
        if (g->node[i].op == op) {
            found = &g->node[i];
            if (first)
                break;
        }
    return found;
}

/* Classes and input channels from the first conv and the last linear;
 * fc receives the last linear weight's name. */
static void dims_from_tensors(const char *arch, const sp_tensor *t, int n, sp_arch_opts *ao,
                              char *fc_name, size_t fc_size)
{
    sp_graph *g = sp_arch_build(arch, NULL);
    if (!g)
        return;
    char name[SP_NAME_MAX + 16];
    const sp_node *conv = last_of(g, SP_OP_CONV, 1), *fc = last_of(g, SP_OP_LINEAR, 0);
    const sp_tensor *w;
    snprintf(name, sizeof name, "%s.weight", conv ? conv->name : "");
    if ((w = get(t, n, name)) && w->ndim == 4 && w->shape[1] <= WIDTH_MAX)
        ao->in_c = (int)w->shape[1];
    snprintf(fc_name, fc_size, "%s.weight", fc ? fc->name : "");
    if ((w = get(t, n, fc_name)) && w->ndim == 2 && w->shape[0] <= WIDTH_MAX)
        ao->classes = (int)w->shape[0];
    sp_graph_free(g);
}

/* Every parameter present (num_batches_tracked may be missing); unless
 * presence_only, each with its shape and nothing left over. */
static int check_tensors(const sp_graph *g, sp_tensor *t, int n, const char *what,
                         int presence_only)
{
    sp_param_info *p;
    int np = sp_graph_params(g, &p), rc = 0;
    char a[64], b[64];
    unsigned char *used = sp_xcalloc((size_t)(n ? n : 1), 1);
    for (int i = 0; i < np && rc == 0; i++) {
        if (p[i].kind == SP_P_MASK)
            continue;
        int k = find(t, n, p[i].name);
        sp_shape_str(b, sizeof b, p[i].ndim, p[i].shape);
        if (k < 0) {
            if (p[i].kind != SP_P_NUM_BATCHES)
                rc = sp_errorf("'%s': tensor '%s' is missing (%s expects shape %s)",
                               what, p[i].name, g->arch, b);
            continue;
        }
        used[k] = 1;
        if (presence_only || (p[i].kind == SP_P_NUM_BATCHES && sp_tensor_numel(&t[k]) == 1))
            continue;
        if (!sp_shape_equal(t[k].ndim, t[k].shape, p[i].ndim, p[i].shape))
            rc = sp_errorf("'%s': tensor '%s' has shape %s, %s expects %s", what, p[i].name,
                           sp_shape_str(a, sizeof a, t[k].ndim, t[k].shape), g->arch, b);
    }
    for (int k = 0; k < n && rc == 0 && !presence_only; k++)
        if (!used[k])
            rc = sp_errorf("'%s': unexpected tensor '%s' (shape %s) for %s", what, t[k].name,
                           sp_shape_str(a, sizeof a, t[k].ndim, t[k].shape), g->arch);
    free(used);
    free(p);
    return rc;
}

static void copy_values(sp_tensor *dst, const sp_tensor *src)
{
    int64_t n = sp_tensor_numel(dst);
    for (int64_t i = 0; i < n && i < sp_tensor_numel(src); i++) {
        double v = src->dtype == SP_I64 ? (double)((const int64_t *)src->data)[i]
                                        : ((const float *)src->data)[i];
        if (dst->dtype == SP_I64)
            ((int64_t *)dst->data)[i] = (int64_t)v;
        else
            ((float *)dst->data)[i] = (float)v;
    }
}

sp_model *sp_import_model(sp_tensor *t, int n, const sp_import_opts *o, const char *what)
{
    /* the CIFAR bottleneck code names the projection and the head so */
    if (get(t, n, "layer1.0.conv3.weight")) {
        rename_part(t, n, "shortcut", "downsample");
        if (get(t, n, "linear.weight"))
            rename_part(t, n, "linear", "fc");
    }
    const char *arch = o && o->arch ? o->arch : sp_torch_detect(t, n);
    if (!arch) {
        sp_error_prefix("'%s'", what);
        return NULL;
    }
    const sp_arch_info *a = sp_arch_lookup(arch);
    if (!a) {
        sp_errorf("unknown network '%s'", arch);
        return NULL;
    }
    sp_arch_opts ao = { 0, 0, 0, 0 };
    if (get(t, n, "feature_1.conv1_1.weight")) {
        sp_graph *g0 = sp_arch_build(arch, NULL);
        if (!g0)
            return NULL;
        rename_original_vgg(t, n, g0);
        sp_graph_free(g0);
    }
    char fc[SP_NAME_MAX + 16];
    dims_from_tensors(arch, t, n, &ao, fc, sizeof fc);
    if (o && o->classes && ao.classes && o->classes != ao.classes) {
        sp_errorf("'%s': %d classes asked for, but tensor '%s' has %d outputs", what,
                  o->classes, fc, ao.classes);
        return NULL;
    }
    if (o && o->classes)
        ao.classes = o->classes;
    if (o) {
        ao.in_h = o->in_h;
        ao.in_w = o->in_w;
    }
    sp_graph *g = sp_arch_build(arch, &ao);
    if (!g) {
        sp_error_prefix("'%s'", what);
        return NULL;
    }
    if (check_tensors(g, t, n, what, 1) < 0) {
        sp_graph_free(g);
        return NULL;
    }
    if (fit_widths(g, t, n, what) < 0) {
        sp_graph_free(g);
        return NULL;
    }
    if (sp_graph_infer(g) < 0) {
        sp_error_prefix("'%s': its tensors do not fit %s", what, arch);
        sp_graph_free(g);
        return NULL;
    }
    if (check_tensors(g, t, n, what, 0) < 0) {
        sp_graph_free(g);
        return NULL;
    }
    sp_model *m = sp_model_new(g);
    for (int i = 0; i < m->n; i++) {
        int k = find(t, n, m->t[i].name);
        if (k < 0)
            continue;
        if (t[k].dtype == m->t[i].dtype && sp_tensor_numel(&t[k]) == sp_tensor_numel(&m->t[i])) {
            /* move rather than copy: a VGG-16 is half a gigabyte */
            free(m->t[i].data);
            m->t[i].data = t[k].data;
            t[k].data = NULL;
        } else {
            copy_values(&m->t[i], &t[k]);
        }
    }
    sp_arch_set_preprocessing(m, a);
    return m;
}
