/* sp-export: a checkpoint as a file other tools load.
 *
 * Reads a checkpoint (sp-checkpoint(5)) from FILE or stdin.  Writes to -o
 * FILE or stdout, by --format: safetensors or pth (PyTorch's zip
 * serialisation), both a plain state_dict under the public tensor names
 * with the current (pruned) widths; or onnx, the inference graph with
 * batch norm folded into the convolutions (unless --no-fold) and the
 * preprocessing in its metadata. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/cli.h"
#include "sp/model.h"
#include "sp/safetensors.h"
#include "sp/export.h"
#include "sp/torch.h"

typedef enum format { FMT_NONE, FMT_SAFETENSORS, FMT_PTH, FMT_ONNX } format;

typedef struct options {
    const char *input;    /* NULL: stdin */
    const char *output;   /* NULL: stdout */
    format fmt;
    int fold;
} options;

static const char usage_text[] =
    "Usage: sp-export --format safetensors|pth|onnx [--no-fold] [-o FILE] [FILE]\n"
    "Write a checkpoint as a safetensors or PyTorch state_dict, or as an ONNX model.\n"
    "\n"
    "  -f, --format FMT     safetensors, pth or onnx\n"
    "      --no-fold        onnx: keep batch norm as separate nodes\n"
    "  -o, --output FILE    write to FILE instead of standard output\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n";

static format parse_format(const char *s)
{
    if (strcmp(s, "safetensors") == 0)
        return FMT_SAFETENSORS;
    if (strcmp(s, "pth") == 0)
        return FMT_PTH;
    if (strcmp(s, "onnx") == 0)
        return FMT_ONNX;
    sp_die_usage("unknown format '%s' (safetensors, pth or onnx)", s);
}

enum { OPT_NO_FOLD = 256 };

static void parse_command_line(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"no-fold", no_argument, NULL, OPT_NO_FOLD},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->fold = 1;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":f:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o->fmt = parse_format(optarg); break;
        case OPT_NO_FOLD: o->fold = 0; break;
        case 'o': o->output = optarg; break;
        case 'h': sp_print_help(usage_text);
        case 'V': sp_print_version();
        default: sp_die_bad_option(argv, c);
        }
    }
    o->input = sp_arg_operand(argc, argv, optind);
    if (o->fmt == FMT_NONE)
        sp_die_usage("--format is required");
}

/* Write the whole export to memory first: a failure (a mask left in the
 * network) must leave no output behind, not even on a pipe. */
static void export_to(const sp_model *m, const options *o, char **buf, size_t *len)
{
    FILE *mf = open_memstream(buf, len);
    if (!mf)
        sp_die("out of memory");
    int rc;
    if (o->fmt == FMT_ONNX) {
        rc = sp_onnx_write(mf, m, o->fold);
    } else {
        sp_tensor *t;
        int n;
        rc = sp_export_tensors(m, &t, &n);
        if (rc == 0) {
            sp_meta_entry fmt = {"format", "pt"};
            rc = o->fmt == FMT_PTH ? sp_pth_write(mf, t, n)
                                   : sp_safetensors_write(mf, t, n, &fmt, 1);
            for (int i = 0; i < n; i++)
                sp_tensor_free(&t[i]);
            free(t);
        }
    }
    if (fclose(mf) != 0 && rc == 0)
        rc = sp_errorf("out of memory");
    if (rc < 0)
        sp_die("%s", sp_error());
}

int main(int argc, char **argv)
{
    options o;
    sp_cli_init("sp-export");
    parse_command_line(argc, argv, &o);
    sp_model *m = sp_ckpt_load_or_die(o.input);
    char *buf = NULL;
    size_t len = 0;
    export_to(m, &o, &buf, &len);
    sp_out *out = sp_out_open(o.output, 1);
    sp_out_write(out, buf, len);
    sp_out_commit(out);
    free(buf);
    sp_model_free(m);
    return SP_EXIT_OK;
}
