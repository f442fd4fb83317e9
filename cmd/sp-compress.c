/* sp-compress: the smaller network a trained pruning stage describes.
 *
 * Reads a checkpoint (FILE or stdin) whose stage.state is "trained" (the
 * output of sp-train-mask or sp-select).  For every masked activation of
 * stage.block it removes the channels whose mask is 0 (the producer's
 * rows, its batch norm, the readers' input channels), then removes every
 * mask node and the stage's gen/ and soft/ tensors; the kept channels
 * continue at scale 1.  Writes the checkpoint to -o FILE or stdout with
 * stage.state "compressed" and the block appended to stage.compressed;
 * every other tensor and key is carried through. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/cli.h"
#include "sp/model.h"
#include "sp/select.h"

typedef struct options {
    const char *input;    /* NULL: stdin */
    const char *output;   /* NULL: stdout */
} options;

static const char usage_text[] =
    "Usage: sp-compress [-o FILE] [FILE]\n"
    "Remove the channels a trained pruning stage masked out: read the checkpoint\n"
    "FILE (or standard input) and write the smaller network.\n"
    "\n"
    "  -o, --output FILE    write to FILE instead of standard output\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n";

static void parse_command_line(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    opterr = 0;   /* one message of ours instead of getopt's */
    int c;
    while ((c = getopt_long(argc, argv, ":o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 'h': sp_print_help(usage_text);
        case 'V': sp_print_version();
        default: sp_die_bad_option(argv, c);
        }
    }
    o->input = sp_arg_operand(argc, argv, optind);
}

int main(int argc, char **argv)
{
    options o;
    sp_cli_init("sp-compress");
    parse_command_line(argc, argv, &o);
    sp_model *m = sp_ckpt_load_or_die(o.input);
    if (sp_stage_compress(m) < 0)
        sp_die("%s", sp_error());
    sp_ckpt_save_or_die(m, o.output);
    sp_model_free(m);
    return SP_EXIT_OK;
}
