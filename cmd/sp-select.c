/* sp-select: a pruning stage chosen by a classic one-shot criterion.
 *
 * Reads a checkpoint (FILE or stdin).  For each masked activation of
 * --block it scores the output channels of the producing conv or linear
 * layer by --by (l1 or l2 norm of the channel's weights, |gamma| of its
 * batch norm, or a seeded random draw) and keeps the highest
 * max(1, floor(C * rate)), or as many as --widths-from kept.  Writes the
 * checkpoint to -o FILE or stdout as sp-train-mask would: the block's
 * mask nodes holding the 0/1 channel index and the stage.* metadata, so
 * that sp-eval measures it and sp-compress removes the channels. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/cli.h"
#include "sp/model.h"
#include "sp/select.h"

typedef struct options {
    const char *input;        /* NULL: stdin */
    const char *output;       /* NULL: stdout */
    const char *widths_from;  /* NULL: keep by --rate */
    sp_criterion by;
    int have_by;
    double rate;              /* 0: not given */
    int block;                /* -1: not given */
    uint64_t seed;
    int round;                /* 0: not given */
} options;

static const char usage_text[] =
    "Usage: sp-select --by l1|l2|bn|random --block K (--rate R | --widths-from FILE)\n"
    "                 [--round N] [--seed S] [-o FILE] [FILE]\n"
    "Mask the channels of one block that a one-shot criterion ranks lowest: read\n"
    "the checkpoint FILE (or standard input) and write it with the block's masks\n"
    "holding the 0/1 channel index, a trained stage for sp-compress.\n"
    "\n"
    "      --by CRITERION   l1 or l2 norm of each channel's weights, bn (|gamma| of\n"
    "                       its batch norm), or random\n"
    "  -k, --block K        the block to prune\n"
    "      --rate R         keep max(1, floor(C*R)) channels of each layer, 0 < R <= 1\n"
    "  -w, --widths-from FILE\n"
    "                       keep as many channels per layer as the checkpoint FILE\n"
    "                       kept in the same block\n"
    "      --round N        keep a multiple of N channels in each layer, the count\n"
    "                       rounded up (default 1: as --rate or --widths-from say)\n"
    "  -s, --seed S         seed of the random criterion (default 0)\n"
    "  -o, --output FILE    write to FILE instead of standard output\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n";

enum { OPT_BY = 256, OPT_RATE };

static void parse_command_line(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"by", required_argument, NULL, OPT_BY},
        {"block", required_argument, NULL, 'k'},
        {"rate", required_argument, NULL, OPT_RATE},
        {"widths-from", required_argument, NULL, 'w'},
        {"seed", required_argument, NULL, 's'},
        {"round", required_argument, NULL, 'R'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->block = -1;
    opterr = 0;   /* one message of ours instead of getopt's */
    int c;
    while ((c = getopt_long(argc, argv, ":k:w:s:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_BY:
            if (sp_criterion_parse(optarg, &o->by) < 0)
                sp_die_usage("%s", sp_error());
            o->have_by = 1;
            break;
        case 'k': o->block = (int)sp_arg_long("--block", optarg, 0, 1000000); break;
        case OPT_RATE:
            o->rate = sp_arg_double("--rate", optarg, 0, 1);
            if (!(o->rate > 0))
                sp_die_usage("--rate: '%s' is not in (0, 1]", optarg);
            break;
        case 'w': o->widths_from = optarg; break;
        case 'R': o->round = (int)sp_arg_long("--round", optarg, 1, 4096); break;
        case 's': o->seed = (uint64_t)sp_arg_long("--seed", optarg, 0, LONG_MAX); break;
        case 'o': o->output = optarg; break;
        case 'h': sp_print_help(usage_text);
        case 'V': sp_print_version();
        default: sp_die_bad_option(argv, c);
        }
    }
    o->input = sp_arg_operand(argc, argv, optind);
    if (!o->have_by)
        sp_die_usage("--by is required");
    if (o->block < 0)
        sp_die_usage("--block is required");
    if (!o->rate == !o->widths_from)
        sp_die_usage(o->widths_from ? "--rate and --widths-from exclude each other"
                                    : "--rate or --widths-from is required");
    int in_stdin = !o->input || strcmp(o->input, "-") == 0;
    if (o->widths_from && strcmp(o->widths_from, "-") == 0 && in_stdin)
        sp_die_usage("the checkpoint and --widths-from cannot both be standard input");
}

int main(int argc, char **argv)
{
    options o;
    sp_cli_init("sp-select");
    parse_command_line(argc, argv, &o);
    sp_model *m = sp_ckpt_load_or_die(o.input);
    sp_select_opts so = {.block = o.block, .by = o.by, .rate = o.rate, .seed = o.seed,
                         .round = o.round};
    int *kept = NULL;
    if (o.widths_from) {
        sp_model *ref = sp_ckpt_load_or_die(o.widths_from);
        char *what = strcmp(o.widths_from, "-") == 0 ? sp_xstrdup(SP_STDIN_NAME)
                                                     : sp_xasprintf("'%s'", o.widths_from);
        int rc = sp_select_widths(m, ref, what, o.block, &kept);
        free(what);
        sp_model_free(ref);
        if (rc < 0)
            sp_die("%s", sp_error());
        so.kept = kept;
    }
    if (sp_select_stage(m, &so) < 0)
        sp_die("%s", sp_error());
    sp_ckpt_save_or_die(m, o.output);
    free(kept);
    sp_model_free(m);
    return SP_EXIT_OK;
}
