/* arch.c: the table of built-in networks, building one by name, the
 * initial weights each public model uses and the preprocessing metadata
 * (input size, normalisation) that sp-init and sp-import record.
 *
 * The builders live beside this file, one per family (arch_vgg.c,
 * arch_resnet.c, arch_mobilenet.c); this file only dispatches.  The
 * initialisation reproduces the public code's rules so that a network
 * trained from sp-init starts where the published one did:
 *   torchvision VGG and MobileNetV2: conv N(0, 2/fan_out), linear
 *     N(0, 0.01^2), biases 0;
 *   torchvision ResNet: conv N(0, 2/fan_out), linear weight and bias
 *     U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's default);
 *   CIFAR ResNet: conv and linear weights N(0, 2/fan_in), linear bias
 *     U(-1/sqrt(fan_in), 1/sqrt(fan_in));
 * and for all of them BN weight 1, bias 0, running mean 0, running
 * variance 1, num_batches_tracked 0, masks 1.  Fans count kernel area
 * times the input (fan_in, per group) or output (fan_out) channels, as
 * torch.nn.init does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/arch.h"
#include "sp/preproc.h"
#include "sp/rng.h"
#include "arch_priv.h"

enum init_rule { INIT_VGG, INIT_TV_RESNET, INIT_CIFAR_RESNET, INIT_MOBILENET };

/* Default normalisations (preproc.h presets): the one the public code of
 * each network trains with.  The CIFAR ResNets' public implementation
 * (the option-A networks of He et al. as published for PyTorch) normalises
 * CIFAR with torchvision's ImageNet statistics, so an imported ResNet-20 or
 * -56 is right without options; for the CIFAR VGGs and the CIFAR ResNet-50
 * no single public code is the reference and 0.5 stays the default. */
#define CIFAR_NORM "half"
#define IMAGENET_NORM "imagenet"

static const sp_arch_info arch_table[] = {
    {"vgg16-cifar", "VGG-16-BN for 32x32 images, one linear layer 512->classes; blocks 0-12",
     10, 3, 32, 32, CIFAR_NORM},
    {"vgg16-cifar-fc", "VGG-16-BN for 32x32 images, head 512->4096->4096->classes; blocks 0-14",
     100, 3, 32, 32, CIFAR_NORM},
    {"vgg16", "torchvision vgg16_bn for 224x224 images; blocks 0-14",
     1000, 3, 224, 224, IMAGENET_NORM},
    {"resnet20", "CIFAR ResNet-20, 3x3 basic blocks, option-A shortcut; stages 0-2",
     10, 3, 32, 32, IMAGENET_NORM},
    {"resnet32", "CIFAR ResNet-32, 5 basic blocks per stage, option-A shortcut; stages 0-2",
     10, 3, 32, 32, IMAGENET_NORM},
    {"resnet44", "CIFAR ResNet-44, 7 basic blocks per stage, option-A shortcut; stages 0-2",
     10, 3, 32, 32, IMAGENET_NORM},
    {"resnet56", "CIFAR ResNet-56, 9 basic blocks per stage, option-A shortcut; stages 0-2",
     10, 3, 32, 32, IMAGENET_NORM},
    {"resnet110", "CIFAR ResNet-110, 18 basic blocks per stage, option-A shortcut; stages 0-2",
     10, 3, 32, 32, IMAGENET_NORM},
    {"resnet50", "torchvision resnet50 (bottlenecks 3-4-6-3) for 224x224 images; groups 0-3",
     1000, 3, 224, 224, IMAGENET_NORM},
    {"resnet50-cifar", "ResNet-50 bottlenecks with a 3x3 stride-1 stem for 32x32 images; "
     "groups 0-3", 10, 3, 32, 32, CIFAR_NORM},
    {"mobilenetv2", "torchvision mobilenet_v2 (x1.0) for 224x224 images; blocks 1-7",
     1000, 3, 224, 224, IMAGENET_NORM},
    {NULL, NULL, 0, 0, 0, 0, NULL},
};

/* Parallel to arch_table. */
static const enum init_rule arch_init[] = {
    INIT_VGG, INIT_VGG, INIT_VGG,
    INIT_CIFAR_RESNET, INIT_CIFAR_RESNET, INIT_CIFAR_RESNET, INIT_CIFAR_RESNET,
    INIT_CIFAR_RESNET,
    INIT_TV_RESNET, INIT_TV_RESNET, INIT_MOBILENET,
};

const sp_arch_info *sp_arch_list(void)
{
    return arch_table;
}

const sp_arch_info *sp_arch_lookup(const char *name)
{
    for (const sp_arch_info *a = arch_table; a->name; a++)
        if (name && strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

static int dispatch(sp_arch_builder *b, const char *name, int classes)
{
    if (strncmp(name, "vgg16", 5) == 0)
        return sp_arch_build_vgg(b, name, classes);
    if (strcmp(name, "resnet50") == 0)
        return sp_arch_build_resnet50(b, 0, classes);
    if (strcmp(name, "resnet50-cifar") == 0)
        return sp_arch_build_resnet50(b, 1, classes);
    if (strcmp(name, "mobilenetv2") == 0)
        return sp_arch_build_mobilenetv2(b, classes);
    return sp_arch_build_resnet_cifar(b, atoi(name + strlen("resnet")), classes);
}

sp_graph *sp_arch_build(const char *name, const sp_arch_opts *opts)
{
    const sp_arch_info *a = sp_arch_lookup(name);
    if (!a) {
        sp_errorf("unknown network '%s'", name ? name : "");
        return NULL;
    }
    sp_arch_opts o = {0, 0, 0, 0};
    if (opts)
        o = *opts;
    int classes = o.classes ? o.classes : a->classes;
    int c = o.in_c ? o.in_c : a->in_c;
    int h = o.in_h ? o.in_h : a->in_h;
    int w = o.in_w ? o.in_w : a->in_w;
    if (classes < 1 || c < 1 || h < 1 || w < 1) {
        sp_errorf("%s needs a positive class count and input size, not %d classes and %dx%dx%d",
                  a->name, classes, c, h, w);
        return NULL;
    }
    sp_graph *g = sp_graph_new(a->name, c, h, w);
    g->classes = classes;
    sp_arch_builder b = {g, a->name, 0};
    /* The builder's own shape tracking and sp_graph_infer must agree; infer
     * is the check that the graph is one the rest of sp accepts. */
    if (dispatch(&b, a->name, classes) < 0 || sp_graph_infer(g) < 0) {
        sp_graph_free(g);
        return NULL;
    }
    return g;
}

static enum init_rule init_rule_of(const char *arch)
{
    for (int i = 0; arch_table[i].name; i++)
        if (strcmp(arch_table[i].name, arch) == 0)
            return arch_init[i];
    return INIT_TV_RESNET;   /* a graph not built here: torchvision's common rule */
}

static void fill_const(sp_tensor *t, float v)
{
    int64_t n = sp_tensor_numel(t);
    if (t->dtype == SP_I64) {
        int64_t *d = t->data;
        for (int64_t i = 0; i < n; i++)
            d[i] = (int64_t)v;
        return;
    }
    float *d = t->data;
    for (int64_t i = 0; i < n; i++)
        d[i] = v;
}

static void init_tensor(sp_rng *r, enum init_rule rule, const sp_node *node,
                        const sp_param_info *p, sp_tensor *t)
{
    float *d = t->data;
    int64_t n = sp_tensor_numel(t);
    int64_t rf = 1;   /* receptive field: kernel area of a conv, 1 for a linear */
    for (int i = 2; i < t->ndim; i++)
        rf *= t->shape[i];
    double fan_out = t->ndim >= 2 ? (double)t->shape[0] * rf : 1;
    double fan_in = t->ndim >= 2 ? (double)t->shape[1] * rf : 1;
    switch (p->kind) {
    case SP_P_RUNNING_VAR:
    case SP_P_MASK:
        fill_const(t, 1);
        return;
    case SP_P_RUNNING_MEAN:
    case SP_P_NUM_BATCHES:
        fill_const(t, 0);
        return;
    default:
        break;
    }
    if (node->op == SP_OP_BN) {
        fill_const(t, p->kind == SP_P_WEIGHT ? 1 : 0);
    } else if (node->op == SP_OP_CONV && p->kind == SP_P_WEIGHT) {
        double fan = rule == INIT_CIFAR_RESNET ? fan_in : fan_out;
        sp_rng_fill_normal(r, d, n, 0, (float)sqrt(2.0 / fan));
    } else if (node->op == SP_OP_LINEAR && p->kind == SP_P_WEIGHT) {
        if (rule == INIT_VGG || rule == INIT_MOBILENET)
            sp_rng_fill_normal(r, d, n, 0, 0.01f);
        else if (rule == INIT_CIFAR_RESNET)
            sp_rng_fill_normal(r, d, n, 0, (float)sqrt(2.0 / fan_in));
        else
            sp_rng_fill_uniform(r, d, n, (float)(-1 / sqrt(fan_in)), (float)(1 / sqrt(fan_in)));
    } else if (node->op == SP_OP_LINEAR && p->kind == SP_P_BIAS &&
               (rule == INIT_TV_RESNET || rule == INIT_CIFAR_RESNET)) {
        double bound = 1 / sqrt((double)node->cin);
        sp_rng_fill_uniform(r, d, n, (float)-bound, (float)bound);
    } else {
        fill_const(t, 0);   /* conv biases; VGG and MobileNetV2 linear biases */
    }
}

void sp_arch_init_weights(sp_model *m, uint64_t seed)
{
    sp_rng r;
    sp_rng_init(&r, seed, SP_RNG_STREAM_INIT);
    enum init_rule rule = init_rule_of(m->graph->arch);
    sp_param_info *p;
    int np = sp_graph_params(m->graph, &p);
    for (int i = 0; i < np; i++) {
        sp_tensor *t = sp_model_tensor(m, p[i].name);
        if (t && t->data)
            init_tensor(&r, rule, &m->graph->node[p[i].node], &p[i], t);
    }
    free(p);
}

void sp_arch_set_preprocessing(sp_model *m, const sp_arch_info *a)
{
    const sp_node *in = &m->graph->node[0];
    char *size = sp_xasprintf("%dx%dx%d", in->c, in->h, in->w);
    sp_preproc p = {.c = in->c, .h = in->h, .w = in->w};
    size_t n;
    if (sp_preproc_use_preset(&p, a->norm) == 0) {
        n = strlen(p.source);
        snprintf(p.source + n, sizeof p.source - n, ", the default of %s", a->name);
    } else {
        sp_preproc_use_preset(&p, "half");    /* any channel count */
        n = strlen(p.source);
        snprintf(p.source + n, sizeof p.source - n, ", the default of a %d-channel %s", p.c,
                 a->name);
    }
    sp_model_set_meta(m, "arch", a->name);
    sp_model_set_meta(m, "input_size", size);
    sp_preproc_set_norm(m, &p);
    free(size);
}
