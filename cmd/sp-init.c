/* sp-init: a freshly initialised built-in network.
 *
 * Reads nothing.  Builds the network named by --arch (its layers, tensor
 * names and pruning blocks, see sp-init(1)), draws its weights from --seed
 * with the initialisation its public implementation uses, and writes the
 * checkpoint (sp-checkpoint(5)) to -o FILE or stdout, with its
 * preprocessing in the metadata.  Given --data, the network is made for
 * that dataset: its classes, its image size and its normalisation (the
 * statistics in its header); otherwise the network's defaults apply.
 * --norm, --norm-from, --mean and --std choose the normalisation. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/arch.h"
#include "sp/cli.h"
#include "sp/data.h"
#include "sp/model.h"

typedef struct options {
    const char *arch;
    const char *output;   /* NULL: stdout */
    const char *data;     /* NULL: the network's defaults */
    sp_cli_norm norm;
    int classes;
    int in_c, in_h, in_w;
    uint64_t seed;
    int list;
} options;

static const char usage_text[] =
    "Usage: sp-init --arch NAME [--data FILE.spd] [--classes N] [--input CxHxW]\n"
    "               [--norm NAME | --norm-from FILE.spd] [--mean V,V,V] [--std V,V,V]\n"
    "               [--seed S] [-o FILE]\n"
    "       sp-init --list\n"
    "Write a freshly initialised built-in network as a checkpoint.\n"
    "\n"
    "  -a, --arch NAME      the network (see --list)\n"
    "  -d, --data FILE.spd  make it for this dataset: its classes, image size\n"
    "                       and normalisation (its mean and std)\n"
    "  -c, --classes N      number of classes (default: the dataset's, else the\n"
    "                       network's)\n"
    "  -i, --input CxHxW    input channels and size, or HxW (default: the\n"
    "                       dataset's, else the network's)\n"
    "      --norm NAME      normalise inputs as NAME: imagenet, cifar10, cifar100,\n"
    "                       mnist, fashion-mnist, half (0.5, 0.5), none (default:\n"
    "                       the dataset's statistics, else the network's)\n"
    "      --norm-from FILE.spd  the mean and std of a packed dataset\n"
    "      --mean V,V,V     per-channel mean (over the above)\n"
    "      --std V,V,V      per-channel standard deviation (over the above)\n"
    "  -s, --seed S         random seed of the initial weights (default 0)\n"
    "  -o, --output FILE    write to FILE instead of standard output\n"
    "      --list           list the networks and exit\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n";

/* "vgg16-cifar, vgg16-cifar-fc, ..." for the unknown-network message. */
static char *arch_names(void)
{
    size_t n = 1;
    for (const sp_arch_info *a = sp_arch_list(); a->name; a++)
        n += strlen(a->name) + 2;
    char *s = calloc(1, n);
    if (!s)
        sp_die("out of memory");
    for (const sp_arch_info *a = sp_arch_list(); a->name; a++) {
        if (*s)
            strcat(s, ", ");
        strcat(s, a->name);
    }
    return s;
}

enum { OPT_LIST = 256, OPT_NORM, OPT_NORM_FROM, OPT_MEAN, OPT_STD };

static void parse_command_line(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"arch", required_argument, NULL, 'a'},
        {"classes", required_argument, NULL, 'c'},
        {"input", required_argument, NULL, 'i'},
        {"data", required_argument, NULL, 'd'},
        {"norm", required_argument, NULL, OPT_NORM},
        {"norm-from", required_argument, NULL, OPT_NORM_FROM},
        {"mean", required_argument, NULL, OPT_MEAN},
        {"std", required_argument, NULL, OPT_STD},
        {"seed", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'},
        {"list", no_argument, NULL, OPT_LIST},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":a:c:i:d:s:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'a': o->arch = optarg; break;
        case 'c': o->classes = (int)sp_arg_long("--classes", optarg, 1, 1000000); break;
        case 'i': sp_arg_dims("--input", optarg, &o->in_c, &o->in_h, &o->in_w); break;
        case 's': o->seed = (uint64_t)sp_arg_long("--seed", optarg, 0, LONG_MAX); break;
        case 'o': o->output = optarg; break;
        case 'd': o->data = optarg; break;
        case OPT_NORM: o->norm.preset = optarg; break;
        case OPT_NORM_FROM: o->norm.from = optarg; break;
        case OPT_MEAN: o->norm.mean = optarg; break;
        case OPT_STD: o->norm.std = optarg; break;
        case OPT_LIST: o->list = 1; break;
        case 'h': sp_print_help(usage_text);
        case 'V': sp_print_version();
        default: sp_die_bad_option(argv, c);
        }
    }
    sp_arg_none(argc, argv, optind);
    if (o->list)
        return;
    if (!o->arch)
        sp_die_usage("--arch is required");
    if (!sp_arch_lookup(o->arch))
        sp_die_usage("unknown network '%s' (known: %s)", o->arch, arch_names());
    sp_cli_norm_check(&o->norm);
}

/* What --data says of the network: the classes and image size not given
 * on the command line, and the normalisation when none is named. */
static void fit_to_data(options *o)
{
    sp_dataset *d = sp_data_open_or_die(o->data);
    if (!o->classes)
        o->classes = sp_data_classes(d);
    if (!o->in_c)
        o->in_c = sp_data_channels(d);
    if (!o->in_h && sp_data_height(d)) {
        o->in_h = sp_data_height(d);
        o->in_w = sp_data_width(d);
    }
    if (!o->norm.preset && !o->norm.from)
        o->norm.from = o->data;
    sp_data_close(d);
}

static void list_networks(void)
{
    for (const sp_arch_info *a = sp_arch_list(); a->name; a++)
        printf("%-15s %s (%dx%dx%d, %d classes)\n", a->name, a->summary, a->in_c, a->in_h,
               a->in_w, a->classes);
    sp_stdout_close();
}

int main(int argc, char **argv)
{
    options o;
    sp_cli_init("sp-init");
    parse_command_line(argc, argv, &o);
    if (o.list) {
        list_networks();
        return SP_EXIT_OK;
    }
    if (o.data)
        fit_to_data(&o);
    sp_arch_opts ao = {o.classes, o.in_c, o.in_h, o.in_w};
    sp_graph *g = sp_arch_build(o.arch, &ao);
    if (!g)
        sp_die("%s", sp_error());
    sp_model *m = sp_model_new(g);
    sp_arch_init_weights(m, o.seed);
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o.seed);
    sp_model_set_meta(m, "init.seed", seed);
    sp_arch_set_preprocessing(m, sp_arch_lookup(o.arch));
    sp_cli_norm_apply(m, &o.norm);
    sp_ckpt_save_or_die(m, o.output);
    sp_model_free(m);
    return SP_EXIT_OK;
}
