/* sp-pack: packs a dataset into one .spd file (sp-data(5)).
 *
 * Reads, in place: CIFAR-10/100 binary archives, MNIST-style IDX files, a
 * folder tree ROOT/CLASS/IMAGE, the ILSVRC2012 train and validation
 * archives, or WebDataset shards.  Writes the packed dataset to -o FILE or
 * standard output (not a terminal). */
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sp/cli.h"
#include "sp/data.h"
#include "sp/pack.h"
#include "sp/progress.h"

typedef struct options {
    char *out;
    sp_pack_opts pack;
    char **inputs;
    int ninputs;
} options;

static const char usage_text[] =
    "Usage: sp-pack [OPTIONS] INPUT... [-o FILE]\n"
    "Pack a dataset into one sp dataset file (.spd).\n"
    "\n"
    "INPUT is a CIFAR-10/100 binary archive, an IDX folder or an IDX images and\n"
    "labels file, an image folder ROOT/CLASS/IMAGE, an ILSVRC2012 train or\n"
    "validation archive, or WebDataset shards.\n"
    "\n"
    "  -o, --output FILE        write to FILE (default: standard output)\n"
    "  -f, --format NAME        cifar10, cifar100, idx, folder, ilsvrc-train,\n"
    "                           ilsvrc-val or wds (default: detected)\n"
    "      --split train|test   CIFAR and IDX: which split (default: train)\n"
    "      --labels fine|coarse CIFAR-100: which labels (default: fine)\n"
    "      --labels-file FILE   ILSVRC validation: one label per image\n"
    "      --size HxW           records of H x W pixels (default: source size)\n"
    "      --resize shorter|exact  shorter side to the size then centre crop\n"
    "                           (default), or stretch to exactly H x W\n"
    "      --encoding raw|jpeg  raw pixels or JPEG records (default: raw for a\n"
    "                           fixed size, JPEG for images at source size)\n"
    "  -q, --quality N          quality of re-encoded JPEGs, 1-100 (default: 90)\n"
    "  -n, --limit N            pack at most N records\n"
    "      --classes-from FILE  class names, one per line: the classes to pack\n"
    "                           and their label order\n"
    "  -t, --threads N          decode and resize with N threads (default: 1)\n"
    "      --strict             an image that cannot be decoded is an error\n"
    "      --max-pixels N       skip images of more than N pixels (default:\n"
    "                           100000000); their decoding needs memory\n"
    "  -h, --help               show this help and exit\n"
    "  -V, --version            show the version and exit\n";

static char **read_classes(const char *path, int *n)
{
    FILE *f = sp_in_open_text(path);
    char **names = NULL, *line = NULL;
    size_t cap = 0;
    ssize_t len;
    *n = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = 0;
        if (len == 0)
            continue;
        for (int k = 0; k < *n; k++)
            if (strcmp(names[k], line) == 0)
                sp_die("'%s' lists class '%s' twice", path, line);
        names = sp_xrealloc(names, sizeof(char *) * (size_t)(*n + 1));
        names[(*n)++] = sp_xstrdup(line);
    }
    free(line);
    sp_in_close(f);
    if (*n == 0)
        sp_die("'%s' lists no classes", path);
    return names;
}

static int pick(const char *opt, const char *arg, const char *a, const char *b)
{
    if (strcmp(arg, a) == 0)
        return 0;
    if (strcmp(arg, b) == 0)
        return 1;
    sp_die_usage("%s must be '%s' or '%s', not '%s'", opt, a, b, arg);
}

static void parse_command_line(int argc, char **argv, options *o)
{
    enum { OPT_SPLIT = 256, OPT_LABELS, OPT_LABELS_FILE, OPT_RESIZE, OPT_CLASSES, OPT_STRICT,
           OPT_SIZE, OPT_ENCODING, OPT_MAX_PIXELS };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},    {"format", required_argument, NULL, 'f'},
        {"split", required_argument, NULL, OPT_SPLIT}, {"labels", required_argument, NULL, OPT_LABELS},
        {"labels-file", required_argument, NULL, OPT_LABELS_FILE},
        {"size", required_argument, NULL, OPT_SIZE},      {"resize", required_argument, NULL, OPT_RESIZE},
        {"encoding", required_argument, NULL, OPT_ENCODING},  {"quality", required_argument, NULL, 'q'},
        {"limit", required_argument, NULL, 'n'},     {"classes-from", required_argument, NULL, OPT_CLASSES},
        {"threads", required_argument, NULL, 't'},   {"strict", no_argument, NULL, OPT_STRICT},
        {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
        {"help", no_argument, NULL, 'h'},            {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    sp_pack_opts *p = &o->pack;
    const char *classes_file = NULL;
    p->threads = 1;
    p->quality = 90;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:f:q:n:t:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'f':
            p->format = sp_pack_format_parse(optarg);
            if (p->format <= 0)
                sp_die_usage("unknown format '%s'", optarg);
            break;
        case OPT_SPLIT: p->test_split = pick("--split", optarg, "train", "test"); break;
        case OPT_LABELS: p->coarse = pick("--labels", optarg, "fine", "coarse"); break;
        case OPT_LABELS_FILE: p->labels_file = optarg; break;
        case OPT_SIZE: {
            int ch = 0;
            sp_arg_dims("--size", optarg, &ch, &p->height, &p->width);
            if (ch)
                sp_die_usage("--size takes HxW, not '%s'", optarg);
            break;
        }
        case OPT_RESIZE: p->resize = pick("--resize", optarg, "shorter", "exact"); break;
        case OPT_ENCODING: p->encoding = pick("--encoding", optarg, "raw", "jpeg") ? SP_DATA_JPEG : SP_DATA_RAW; break;
        case 'q': p->quality = (int)sp_arg_long("--quality", optarg, 1, 100); break;
        case 'n': p->limit = sp_arg_long("--limit", optarg, 1, (long)1 << 40); break;
        case OPT_CLASSES: classes_file = optarg; break;
        case 't': p->threads = (int)sp_arg_long("--threads", optarg, 1, 64); break;
        case OPT_STRICT: p->strict = 1; break;
        case OPT_MAX_PIXELS:
            p->max_pixels = (uint64_t)sp_arg_long("--max-pixels", optarg, 1, (long)1 << 40);
            break;
        case 'h': sp_print_help(usage_text);
        case 'V': sp_print_version();
        default: sp_die_bad_option(argv, c);
        }
    }
    if (optind == argc)
        sp_die_usage("no input given");
    o->inputs = argv + optind;
    o->ninputs = argc - optind;
    if (classes_file)
        p->classes = read_classes(classes_file, &p->nclasses);
}

/* The callbacks of sp_pack_opts take no context. */
static sp_progress *bar;

static void warn(const char *msg)
{
    sp_warning("%s", msg);
}

static void progress(int64_t done, int64_t total)
{
    sp_progress_update(bar, done, total, NULL);
}

int main(int argc, char **argv)
{
    options o;
    sp_cli_init("sp-pack");
    parse_command_line(argc, argv, &o);
    bar = sp_progress_new("img");
    o.pack.warn = warn;
    o.pack.progress = progress;
    char *dir = NULL;
    if (o.out && strcmp(o.out, "-") != 0) {
        char *copy = sp_xstrdup(o.out);
        dir = sp_xstrdup(dirname(copy));
        free(copy);
    }
    o.pack.spool_dir = dir;
    for (int k = 0; k < o.ninputs; k++)
        sp_cli_input(o.inputs[k]);
    sp_cli_input(o.pack.labels_file);
    sp_out *out = sp_out_open(o.out, 1);
    const char *name = o.out && strcmp(o.out, "-") ? o.out : "standard output";
    int64_t records = 0, skipped = 0;
    int r = sp_pack_run(o.inputs, o.ninputs, &o.pack, sp_out_file(out), name, &records, &skipped);
    sp_progress_free(bar);
    if (r < 0)
        sp_die("%s", sp_error());
    sp_out_commit(out);
    if (skipped)
        sp_warning("skipped %lld image%s that could not be decoded", (long long)skipped,
                   skipped == 1 ? "" : "s");
    for (int k = 0; k < o.pack.nclasses; k++)
        free(o.pack.classes[k]);
    free(o.pack.classes);
    free(dir);
    return SP_EXIT_OK;
}
