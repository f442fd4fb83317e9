/* sp-init: a freshly initialised built-in network.
 *
 * Reads nothing.  Builds the network named by --arch (its layers, tensor
 * names and pruning blocks, see sp-init(1)), draws its weights from --seed
 * with the initialisation its public implementation uses, and writes the
 * checkpoint (sp-checkpoint(5)) to -o FILE or stdout, with the network's
 * default preprocessing in the metadata. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/arch.h"
#include "sp/cli.h"
#include "sp/model.h"

typedef struct options {
    const char *arch;
    const char *output;   /* NULL: stdout */
    int classes;
    int in_c, in_h, in_w;
    uint64_t seed;
    int list;
} options;

static const char usage_text[] =
    "Usage: sp-init --arch NAME [--classes N] [--input CxHxW] [--seed S] [-o FILE]\n"
    "       sp-init --list\n"
    "Write a freshly initialised built-in network as a checkpoint.\n"
    "\n"
    "  -a, --arch NAME      the network (see --list)\n"
    "  -c, --classes N      number of classes (default: the network's)\n"
    "  -i, --input CxHxW    input channels and size, or HxW (default: the network's)\n"
    "  -s, --seed S         random seed of the initial weights (default 0)\n"
    "  -o, --output FILE    write to FILE instead of standard output\n"
    "  -l, --list           list the networks and exit\n"
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

static void parse_command_line(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"arch", required_argument, NULL, 'a'},
        {"classes", required_argument, NULL, 'c'},
        {"input", required_argument, NULL, 'i'},
        {"seed", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'},
        {"list", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":a:c:i:s:o:lhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'a': o->arch = optarg; break;
        case 'c': o->classes = (int)sp_arg_long("--classes", optarg, 1, 1000000); break;
        case 'i': sp_arg_dims("--input", optarg, &o->in_c, &o->in_h, &o->in_w); break;
        case 's': o->seed = (uint64_t)sp_arg_long("--seed", optarg, 0, LONG_MAX); break;
        case 'o': o->output = optarg; break;
        case 'l': o->list = 1; break;
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
    sp_arch_opts ao = {o.classes, o.in_c, o.in_h, o.in_w};
    sp_graph *g = sp_arch_build(o.arch, &ao);
    if (!g)
        sp_die("%s", sp_error());
    sp_model *m = sp_model_new(g);
    sp_arch_init_weights(m, o.seed);
    sp_arch_set_preprocessing(m, sp_arch_lookup(o.arch));
    sp_ckpt_save_or_die(m, o.output);
    sp_model_free(m);
    return SP_EXIT_OK;
}
