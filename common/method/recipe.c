/* recipe.c: the settings of a stage that follow from the network, as the
 * method was published for it (sp-method(7), RECIPES and
 * DIFFERENCES FROM THE ORIGINAL CODE).  Every value can be overridden
 * by an option of sp-train-mask. */
#include <string.h>
#include "sp/base.h"
#include "sp/method.h"

static const sp_recipe recipes[] = {
    /* name, family, epochs, batch, rate, sort_layer, beta0, beta1, gate_mult, pool_split */
    {"vgg-cifar10", SP_FAMILY_VGG, 3, 12, 0.3, 0, 0.1, 10, 1, 0},
    {"vgg-cifar100", SP_FAMILY_VGG, 3, 12, 0.4, 0, 0.01, 10, 1, 1},
    {"vgg-imagenet", SP_FAMILY_VGG, 1, 64, 0.2, 0, 0.1, 10, 1, 0},
    {"resnet-cifar10", SP_FAMILY_RESNET, 8, 12, 0.4, 0, 1, 100, 1, 0},
    {"resnet-cifar100", SP_FAMILY_RESNET, 8, 12, 0.6, 0, 1, 100, 2, 0},
    {"resnet50-imagenet", SP_FAMILY_RESNET, 4, 64, 0.4, 1, 1, 100, 1, 0},
    {"mobilenetv2", SP_FAMILY_MOBILENET, 4, 64, 0.5, 1, 0.05, 5, 1, 0},
    {NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

const sp_recipe *sp_recipe_list(void)
{
    return recipes;
}

const sp_recipe *sp_recipe_lookup(const char *name)
{
    for (const sp_recipe *r = recipes; r->name; r++)
        if (strcmp(r->name, name) == 0)
            return r;
    sp_errorf("unknown recipe '%s'", name);
    return NULL;
}

const sp_recipe *sp_recipe_for(const sp_graph *g)
{
    const char *a = g->arch;
    int hundred = g->classes == 100;
    if (strcmp(a, "vgg16-cifar") == 0)
        return sp_recipe_lookup("vgg-cifar10");
    if (strcmp(a, "vgg16-cifar-fc") == 0)
        return sp_recipe_lookup("vgg-cifar100");
    if (strcmp(a, "vgg16") == 0)
        return sp_recipe_lookup("vgg-imagenet");
    if (strcmp(a, "resnet50") == 0)
        return sp_recipe_lookup("resnet50-imagenet");
    if (strcmp(a, "mobilenetv2") == 0)
        return sp_recipe_lookup("mobilenetv2");
    if (strncmp(a, "resnet", 6) == 0)
        return sp_recipe_lookup(hundred ? "resnet-cifar100" : "resnet-cifar10");
    sp_errorf("the network '%s' has no pruning recipe; name one with --recipe", a[0] ? a : "?");
    return NULL;
}
