/* sp-import: a PyTorch or safetensors state_dict as an sp checkpoint.
 *
 * Reads FILE (or stdin): a checkpoint written by torch.save (zip or legacy
 * serialisation; its pickle is decoded without executing anything) or a
 * safetensors file.  Matches its tensors to a built-in network (named by
 * --arch or detected from the names and shapes, widths from the shapes)
 * and writes the checkpoint (sp-checkpoint(5)) to -o FILE or stdout, with
 * its preprocessing in the metadata: the network's default normalisation
 * (the one its public code trains with) unless --norm, --norm-from,
 * --mean or --std say otherwise, and where it came from.  On any mismatch
 * nothing is written. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/arch.h"
#include "sp/cli.h"
#include "sp/model.h"
#include "sp/torch.h"

typedef struct options {
    const char *input;    /* NULL: stdin */
    const char *output;   /* NULL: stdout */
    const char *arch;     /* NULL: detect */
    int classes;
    int in_c, in_h, in_w; /* 0: from the tensors / the network's default */
    sp_cli_norm norm;
} options;

static const char usage_text[] =
    "Usage: sp-import [--arch NAME] [--classes N] [--input CxHxW]\n"
    "                 [--norm NAME | --norm-from FILE.spd] [--mean V,V,V] [--std V,V,V]\n"
    "                 [-o FILE] [FILE]\n"
    "Convert a PyTorch state_dict (.pth, .pt, .th) or a safetensors file into a\n"
    "checkpoint of a built-in network.\n"
    "\n"
    "  -a, --arch NAME      the network (default: detected from the tensors)\n"
    "  -c, --classes N      number of classes (default: from the last layer)\n"
    "  -i, --input CxHxW    input size, or HxW (default: the network's; channels\n"
    "                       come from the first layer)\n"
    "      --norm NAME      normalise inputs as NAME: imagenet, cifar10, cifar100,\n"
    "                       mnist, fashion-mnist, half (0.5, 0.5), none (default:\n"
    "                       the network's, imagenet for the CIFAR ResNets)\n"
    "      --norm-from FILE.spd  the mean and std of a packed dataset\n"
    "      --mean V,V,V     per-channel mean (over the above)\n"
    "      --std V,V,V      per-channel standard deviation (over the above)\n"
    "  -o, --output FILE    write to FILE instead of standard output\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n";

enum { OPT_NORM = 256, OPT_NORM_FROM, OPT_MEAN, OPT_STD };

static void parse_command_line(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"arch", required_argument, NULL, 'a'},
        {"classes", required_argument, NULL, 'c'},
        {"input", required_argument, NULL, 'i'},
        {"norm", required_argument, NULL, OPT_NORM},
        {"norm-from", required_argument, NULL, OPT_NORM_FROM},
        {"mean", required_argument, NULL, OPT_MEAN},
        {"std", required_argument, NULL, OPT_STD},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":a:c:i:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'a': o->arch = optarg; break;
        case 'c': o->classes = (int)sp_arg_long("--classes", optarg, 1, 1000000); break;
        case 'i': sp_arg_dims("--input", optarg, &o->in_c, &o->in_h, &o->in_w); break;
        case OPT_NORM: o->norm.preset = optarg; break;
        case OPT_NORM_FROM: o->norm.from = optarg; break;
        case OPT_MEAN: o->norm.mean = optarg; break;
        case OPT_STD: o->norm.std = optarg; break;
        case 'o': o->output = optarg; break;
        case 'h': sp_print_help(usage_text);
        case 'V': sp_print_version();
        default: sp_die_bad_option(argv, c);
        }
    }
    o->input = sp_arg_operand(argc, argv, optind);
    if (o->arch && !sp_arch_lookup(o->arch))
        sp_die_usage("unknown network '%s' (sp-init --list shows them)", o->arch);
    sp_cli_norm_check(&o->norm);
}

int main(int argc, char **argv)
{
    options o;
    sp_cli_init("sp-import");
    parse_command_line(argc, argv, &o);
    FILE *f = sp_in_open(o.input);
    sp_tensor *t = NULL;
    int n = 0;
    if (sp_torch_load(f, sp_in_name(o.input), &t, &n) < 0)
        sp_die("%s", sp_error());
    sp_in_close(f);
    sp_import_opts io = {o.arch, o.classes, o.in_h, o.in_w};
    sp_model *m = sp_import_model(t, n, &io, sp_in_name(o.input));
    if (m && o.in_c && m->graph->node[0].c != o.in_c)
        sp_die("'%s': --input asks for %d channel%s, but its first layer reads %d",
               sp_in_name(o.input), o.in_c, SP_PLURAL(o.in_c), m->graph->node[0].c);
    for (int i = 0; i < n; i++)
        sp_tensor_free(&t[i]);
    free(t);
    if (!m)
        sp_die("%s", sp_error());
    sp_cli_norm_apply(m, &o.norm);
    sp_ckpt_save_or_die(m, o.output);
    sp_model_free(m);
    return SP_EXIT_OK;
}
