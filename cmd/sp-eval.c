/* sp-eval: the accuracy and loss of a network on a dataset.
 *
 * Reads a checkpoint (FILE or standard input) and a packed dataset
 * (--data), preprocesses every record as the checkpoint says (input size,
 * mean, std), and prints top-1, top-5 and the mean cross-entropy on
 * standard output, as text or one JSON object; with --logits, also writes
 * the N x classes float32 logits as a NumPy .npy file.  A progress bar
 * is drawn on stderr when it is a terminal. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/backend.h"
#include "sp/cli.h"
#include "sp/data.h"
#include "sp/exec.h"
#include "sp/loader.h"
#include "sp/model.h"
#include "sp/progress.h"
#include "sp/train.h"

typedef struct options {
    const char *input, *data, *logits, *device, *mean, *std;
    int batch, json, threads, verbose;
} options;

static const char usage_text[] =
    "Usage: sp-eval --data FILE.spd [--batch B] [--json] [--logits FILE.npy]\n"
    "               [--mean V,V,V] [--std V,V,V] [--device NAME] [--threads N]\n"
    "               [--verbose] [FILE]\n"
    "Print the top-1 and top-5 accuracy and the mean cross-entropy loss of the\n"
    "network in a checkpoint (FILE, or standard input) on a packed dataset.\n"
    "\n"
    "  -d, --data FILE      the dataset (.spd, as written by sp-pack)\n"
    "  -b, --batch B        images per forward pass (default 128)\n"
    "  -j, --json           print one JSON object instead of text\n"
    "      --logits FILE    also write the logits, N x classes float32, as .npy\n"
    "      --mean V,V,V     per-channel mean (default: the checkpoint's)\n"
    "      --std V,V,V      per-channel standard deviation (default: the checkpoint's)\n"
    "      --device NAME    auto (default: a GPU when there is one, else cpu),\n"
    "                       cpu, cuda, cuda:N (GPU N) or ref\n"
    "  -t, --threads N      compute threads (default: all cores)\n"
    "      --verbose        say which device, instruction set, threads and activation\n"
    "                       order it uses\n"
    "                       and how idle threads wait (on standard error)\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n";

enum { OPT_MEAN = 256, OPT_STD, OPT_DEVICE, OPT_LOGITS, OPT_VERBOSE };

static void parse_command_line(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},
        {"batch", required_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'j'},
        {"logits", required_argument, NULL, OPT_LOGITS},
        {"mean", required_argument, NULL, OPT_MEAN},
        {"std", required_argument, NULL, OPT_STD},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"threads", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, OPT_VERBOSE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof *o);
    o->batch = 128;
    o->device = "auto";
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:b:jt:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o->data = optarg; break;
        case 'b': o->batch = (int)sp_arg_long("--batch", optarg, 1, 65536); break;
        case 'j': o->json = 1; break;
        case OPT_LOGITS: o->logits = optarg; break;
        case OPT_MEAN: o->mean = optarg; break;
        case OPT_STD: o->std = optarg; break;
        case OPT_DEVICE: o->device = optarg; break;
        case 't': o->threads = (int)sp_arg_long("--threads", optarg, 1, 4096); break;
        case OPT_VERBOSE: o->verbose = 1; break;
        case 'h': sp_print_help(usage_text);
        case 'V': sp_print_version();
        default: sp_die_bad_option(argv, c);
        }
    }
    o->input = sp_arg_operand_why(argc, argv, optind, "only one checkpoint is read");
    if (!o->data)
        sp_die_usage("no dataset given (--data FILE.spd)");
}

/* NumPy format 1.0: magic, version, header length, a Python dict literal
 * padded with spaces to a multiple of 64 bytes, then C-order data. */
static void write_npy(const char *path, const float *x, int64_t n, int classes)
{
    char dict[128];
    int len = snprintf(dict, sizeof dict,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %d), }",
                       (long long)n, classes);
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    sp_out *out = sp_out_open(path, 1);
    FILE *f = sp_out_file(out);
    unsigned hl = (unsigned)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)(hl & 0xff), f);
    fputc((int)(hl >> 8), f);
    fwrite(dict, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(x, sizeof *x, (size_t)n * classes, f);
    sp_out_commit(out);
}

int main(int argc, char **argv)
{
    options o;
    sp_cli_init("sp-eval");
    parse_command_line(argc, argv, &o);
    sp_cli_threads(o.threads);
    sp_model *m = sp_ckpt_load_or_die(o.input);
    sp_dataset *d = sp_data_open_or_die(o.data);
    sp_out_check(o.logits);
    int classes = m->graph->node[m->graph->n - 1].c;
    if (sp_data_classes(d) != classes)
        sp_die("'%s' has %d class%s but the network in %s has %d output%s", o.data,
               sp_data_classes(d), sp_data_classes(d) == 1 ? "" : "es", sp_in_name(o.input),
               classes, SP_PLURAL(classes));
    sp_preproc pre;
    sp_preproc_or_die(&pre, m, d, o.input, o.mean, o.std);
    sp_backend *b = sp_backend_create_or_die(o.device);
    if (o.verbose)
        sp_cli_verbose(o.device);
    sp_exec *e = sp_exec_new(b, m, o.batch, 0, 0);
    if (!e)
        sp_die("%s", sp_error());
    if (o.verbose)
        sp_cli_verbose_exec(NULL, e);
    sp_loader_opts lo = {o.batch, 0, 0, SP_AUG_NONE, 0, pre.c, pre.h, pre.w,
                         {pre.mean[0], pre.mean[1], pre.mean[2]},
                         {pre.std[0], pre.std[1], pre.std[2]}, 2, 0, 0};
    sp_loader *l = sp_loader_new(d, &lo);
    if (!l)
        sp_die("%s", sp_error());
    int64_t n = sp_data_count(d);
    float *logits = o.logits ? sp_xmalloc((size_t)n * classes * sizeof(float)) : NULL;
    sp_metrics s;
    sp_progress *bar = sp_progress_new("batch");
    sp_eval_progress progress = {sp_progress_eval, bar};
    if (sp_evaluate(e, l, &s, logits, &progress) < 0)
        sp_die("%s", sp_error());
    sp_progress_free(bar);
    if (o.logits)
        write_npy(o.logits, logits, n, classes);
    if (o.json)
        printf("{\"images\": %lld, \"top1\": %.4f, \"top5\": %.4f, \"loss\": %.6f}\n",
               (long long)s.n, sp_metrics_top1(&s), sp_metrics_top5(&s), sp_metrics_loss(&s));
    else
        printf("top-1 %.2f%%  top-5 %.2f%%  loss %.4f  (%lld images)\n", sp_metrics_top1(&s),
               sp_metrics_top5(&s), sp_metrics_loss(&s), (long long)s.n);
    sp_stdout_close();
    free(logits);
    sp_loader_free(l);
    sp_exec_free(e);
    sp_backend_destroy(b);
    sp_data_close(d);
    sp_model_free(m);
    return SP_EXIT_OK;
}
