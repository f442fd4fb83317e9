/* sp-report: the report of a pruning run, as Markdown and as one HTML page.
 *
 * Reads what the other programs wrote about the run, each optional:
 * sp-eval --json of the network before and after pruning (with "seconds",
 * the wall time of that evaluation, added by the pipeline), sp-flops --json
 * --baseline, sp-inspect --blocks --json before and after, and the --log
 * files (JSON lines) of sp-train-mask and sp-finetune.  Writes DIR/report.md
 * with its pictures beside it as DIR/NAME.svg, and DIR/report.html, one
 * self-contained page with the same pictures inline; every file goes
 * through a temporary name.  The pictures (channels per layer, accuracy
 * after each stage, each log's training curves) are drawn by the library's
 * report module (sp/report.h) as SVG. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "sp/cli.h"
#include "sp/report.h"

/* One mask of a stage, window by window (x: the window's step). */
typedef struct mask_track {
    char *name;
    int channels;
    sp_series beta, lambda, kept;
} mask_track;

/* What one --log says. */
typedef struct run_log {
    char *label;
    const char *path;
    int stage;                      /* sp-train-mask's log */
    sp_series loss, acc;            /* per step */
    sp_series top1, top5, epoch;    /* per epoch, x: its last step; epoch: y = its number */
    sp_series window_epoch;         /* per window: y = its epoch */
    mask_track *mask;
    int nmask, best_epoch, skipped;
} run_log;

typedef struct options {
    const char *out, *title, *note;
    const char *eval_before, *eval_after, *flops, *blocks_before, *blocks_after;
    char **setting;
    int nsetting;
    run_log *log;
    int nlog;
} options;

/* ---- command line ----------------------------------------------------- */

static const char usage_text[] =
    "Usage: sp-report [--title TEXT] [--setting KEY=VALUE]... [--note TEXT]\n"
    "                 [--eval-before FILE] [--eval-after FILE] [--flops FILE]\n"
    "                 [--blocks-before FILE] [--blocks-after FILE]\n"
    "                 [--stage LABEL=LOG]... [--train LABEL=LOG]... -o DIR\n"
    "Write the report of a pruning run, DIR/report.md with its pictures as SVG\n"
    "files and DIR/report.html with the pictures inline, from what sp-eval,\n"
    "sp-flops, sp-inspect and the training logs say about it.\n"
    "\n"
    "  -o, --output DIR        the folder to write (made if missing)\n"
    "      --title TEXT        the report's title\n"
    "      --setting K=V       one row of the settings table (repeatable)\n"
    "      --note TEXT         a paragraph under the title\n"
    "      --eval-before FILE  what sp-eval -j said of the network before pruning,\n"
    "                          with \"seconds\", the wall time it took\n"
    "      --eval-after FILE   the same for the pruned network\n"
    "      --flops FILE        what sp-flops -j said of the pruned network with the\n"
    "                          network before as its baseline (-b)\n"
    "      --blocks-before FILE  what sp-inspect -j -b said of the network before\n"
    "      --blocks-after FILE   the same after\n"
    "      --stage LABEL=LOG   the --log of one sp-train-mask stage (repeatable,\n"
    "                          in the order the stages ran)\n"
    "      --train LABEL=LOG   the --log of an sp-finetune run (repeatable)\n"
    "  -h, --help              show this help and exit\n"
    "  -V, --version           show the version and exit\n";

enum { OPT_EVAL_BEFORE = 256, OPT_EVAL_AFTER, OPT_FLOPS, OPT_BLOCKS_BEFORE, OPT_BLOCKS_AFTER,
       OPT_STAGE, OPT_TRAIN, OPT_TITLE, OPT_SETTING, OPT_NOTE };

static void add_log(options *o, const char *arg, int stage)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        sp_die_usage("%s wants LABEL=LOG, not '%s'", stage ? "--stage" : "--train", arg);
    o->log = sp_xrealloc(o->log, (size_t)(o->nlog + 1) * sizeof *o->log);
    run_log *l = &o->log[o->nlog++];
    memset(l, 0, sizeof *l);
    l->label = sp_xasprintf("%.*s", (int)(eq - arg), arg);
    l->path = eq + 1;
    l->stage = stage;
}

static void parse_command_line(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"title", required_argument, NULL, OPT_TITLE},
        {"setting", required_argument, NULL, OPT_SETTING},
        {"note", required_argument, NULL, OPT_NOTE},
        {"eval-before", required_argument, NULL, OPT_EVAL_BEFORE},
        {"eval-after", required_argument, NULL, OPT_EVAL_AFTER},
        {"flops", required_argument, NULL, OPT_FLOPS},
        {"blocks-before", required_argument, NULL, OPT_BLOCKS_BEFORE},
        {"blocks-after", required_argument, NULL, OPT_BLOCKS_AFTER},
        {"stage", required_argument, NULL, OPT_STAGE},
        {"train", required_argument, NULL, OPT_TRAIN},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof *o);
    o->title = "Pruning report";
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case OPT_TITLE: o->title = optarg; break;
        case OPT_SETTING:
            if (!strchr(optarg, '=') || optarg[0] == '=')
                sp_die_usage("--setting wants KEY=VALUE, not '%s'", optarg);
            o->setting = sp_xrealloc(o->setting, (size_t)(o->nsetting + 1) * sizeof *o->setting);
            o->setting[o->nsetting++] = optarg;
            break;
        case OPT_NOTE: o->note = optarg; break;
        case OPT_EVAL_BEFORE: o->eval_before = optarg; break;
        case OPT_EVAL_AFTER: o->eval_after = optarg; break;
        case OPT_FLOPS: o->flops = optarg; break;
        case OPT_BLOCKS_BEFORE: o->blocks_before = optarg; break;
        case OPT_BLOCKS_AFTER: o->blocks_after = optarg; break;
        case OPT_STAGE: add_log(o, optarg, 1); break;
        case OPT_TRAIN: add_log(o, optarg, 0); break;
        case 'h': sp_print_help(usage_text);
        case 'V': sp_print_version();
        default: sp_die_bad_option(argv, c);
        }
    }
    sp_arg_none(argc, argv, optind);
    if (!o->out)
        sp_die_usage("where should the report go? (-o DIR)");
}

/* ---- reading ---------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = sp_in_open(path);
    sp_text t = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sp_text_add(&t, chunk, n);
    if (ferror(f))
        sp_die("cannot read '%s': %s", path, strerror(errno));
    sp_in_close(f);
    if (!t.p)
        sp_text_puts(&t, "");
    return t.p;
}

/* A JSON file written by an sp program, or NULL when not asked for. */
static cJSON *read_json(const char *path, const char *what)
{
    if (!path)
        return NULL;
    char *text = slurp(path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(j))
        sp_die("'%s' is not the JSON object of %s", path, what);
    return j;
}

static double num(const cJSON *j, const char *key)
{
    const cJSON *v = j ? cJSON_GetObjectItemCaseSensitive(j, key) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static mask_track *find_mask(run_log *l, const char *name, int channels)
{
    for (int k = 0; k < l->nmask; k++)
        if (strcmp(l->mask[k].name, name) == 0)
            return &l->mask[k];
    l->mask = sp_xrealloc(l->mask, (size_t)(l->nmask + 1) * sizeof *l->mask);
    mask_track *m = &l->mask[l->nmask++];
    memset(m, 0, sizeof *m);
    m->name = sp_xstrdup(name);
    m->channels = channels;
    return m;
}

/* One line of a log: a window, an epoch or a step.  A record at or before
 * one already read comes from a resumed run: it replaces what the killed
 * run had logged from there on. */
static void log_line(run_log *l, const cJSON *j)
{
    const cJSON *masks = cJSON_GetObjectItemCaseSensitive(j, "masks"), *m;
    if (cJSON_IsArray(masks)) {
        double step = num(j, "window");
        sp_series_cut(&l->window_epoch, step);
        sp_series_add(&l->window_epoch, step, num(j, "epoch"));
        for (int k = 0; k < l->nmask; k++) {
            sp_series_cut(&l->mask[k].beta, step);
            sp_series_cut(&l->mask[k].lambda, step);
            sp_series_cut(&l->mask[k].kept, step);
        }
        cJSON_ArrayForEach(m, masks) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "mask");
            if (!cJSON_IsString(name))
                continue;
            mask_track *t = find_mask(l, name->valuestring, (int)num(m, "channels"));
            sp_series_add(&t->beta, step, num(m, "beta"));
            sp_series_add(&t->lambda, step, num(m, "lambda"));
            sp_series_add(&t->kept, step, num(m, "kept"));
        }
    } else if (cJSON_GetObjectItemCaseSensitive(j, "val_top1")) {
        double e = num(j, "epoch"), step = num(j, "step");
        while (l->epoch.n > 0 && l->epoch.y[l->epoch.n - 1] >= e)
            l->epoch.n--, l->top1.n--, l->top5.n--;
        sp_series_add(&l->epoch, step, e);
        sp_series_add(&l->top1, step, num(j, "val_top1"));
        sp_series_add(&l->top5, step, num(j, "val_top5"));
        l->best_epoch = (int)num(j, "best_epoch");
    } else if (cJSON_GetObjectItemCaseSensitive(j, "loss")) {
        double step = num(j, "step");
        sp_series_cut(&l->loss, step);
        sp_series_cut(&l->acc, step);
        sp_series_add(&l->loss, step, num(j, "loss"));
        sp_series_add(&l->acc, step, num(j, "accuracy"));
    }
}

/* A line the resumed run began right after the killed run's half line:
 * the first object in it that parses to the end of the line. */
static cJSON *glued_line(const char *line)
{
    for (const char *p = strstr(line + 1, "{\""); p; p = strstr(p + 1, "{\"")) {
        cJSON *j = cJSON_ParseWithOpts(p, NULL, 1);
        if (cJSON_IsObject(j))
            return j;
        cJSON_Delete(j);
    }
    return NULL;
}

/* A log of JSON lines.  A run killed while writing leaves a half line, which
 * is counted and skipped; the resumed run's first line may follow it on the
 * same line. */
static void read_log(run_log *l)
{
    char *text = slurp(l->path);
    for (char *line = text, *next; *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        else
            next = line + strlen(line);
        if (!line[strspn(line, " \t\r")])
            continue;
        cJSON *j = cJSON_ParseWithOpts(line, NULL, 1);
        if (!cJSON_IsObject(j)) {
            cJSON_Delete(j);
            l->skipped++;
            j = glued_line(line);
        }
        if (j)
            log_line(l, j);
        cJSON_Delete(j);
    }
    free(text);
    if (l->skipped)
        sp_warning("%s: skipped %d line%s that %s not JSON (a run killed while logging)",
                   l->path, l->skipped, l->skipped == 1 ? "" : "s",
                   l->skipped == 1 ? "is" : "are");
}

/* The epoch the stage kept: its index in the per-epoch series, or -1. */
static int best_index(const run_log *l)
{
    for (int i = l->epoch.n - 1; i >= 0; i--)
        if ((int)l->epoch.y[i] == l->best_epoch)
            return i;
    return l->epoch.n - 1;
}

/* The channels a mask kept: its last window of the kept epoch. */
static int kept_channels(const run_log *l, const mask_track *m)
{
    int at = m->kept.n - 1;
    for (int w = 0; w < l->window_epoch.n && w < m->kept.n; w++)
        if ((int)l->window_epoch.y[w] == l->best_epoch)
            at = w;
    return at >= 0 ? (int)m->kept.y[at] : 0;
}

/* Every prunable layer of sp-inspect --blocks --json, with the widths the
 * "after" file gives it (the same when it is not there). */
static sp_bar_row *read_layers(const cJSON *before, const cJSON *after, int *n)
{
    sp_bar_row *row = NULL;
    const cJSON *src = before ? before : after, *b, *a, *name;
    const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(src, "blocks");
    const cJSON *blocks_after = cJSON_GetObjectItemCaseSensitive(after, "blocks");
    *n = 0;
    cJSON_ArrayForEach(b, blocks) {
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(b, "anchors")) {
            name = cJSON_GetObjectItemCaseSensitive(a, "name");
            if (!cJSON_IsString(name))
                continue;
            row = sp_xrealloc(row, (size_t)(*n + 1) * sizeof *row);
            double c = num(a, before ? "channels" : "original");
            row[(*n)++] = (sp_bar_row){name->valuestring, (int)num(b, "id"), c, c};
        }
    }
    cJSON_ArrayForEach(b, blocks_after) {
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(b, "anchors")) {
            name = cJSON_GetObjectItemCaseSensitive(a, "name");
            for (int i = 0; cJSON_IsString(name) && i < *n; i++)
                if (strcmp(row[i].name, name->valuestring) == 0)
                    row[i].after = num(a, "channels");
        }
    }
    return row;
}

/* ---- numbers ------------------------------------------------------------ */

/* 12,345,678 */
static void fmt_count(char *s, size_t n, double v)
{
    char digits[32];
    size_t k = 0;
    if (!isfinite(v) || n < 32) {
        snprintf(s, n, "-");
        return;
    }
    snprintf(digits, sizeof digits, "%.0f", fabs(v));
    size_t len = strlen(digits);
    if (v < 0)
        s[k++] = '-';
    for (size_t i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            s[k++] = ',';
        s[k++] = digits[i];
    }
    s[k] = 0;
}

static void fmt_fixed(char *s, size_t n, double v, int dec)
{
    if (isfinite(v))
        snprintf(s, n, "%.*f", dec, v);
    else
        snprintf(s, n, "-");
}

static double images_per_s(const cJSON *eval)
{
    double images = num(eval, "images"), secs = num(eval, "seconds");
    return secs > 0 ? images / secs : NAN;
}

/* ---- the sections ----------------------------------------------------- */

static void write_file(const char *dir, const char *name, const sp_text *t)
{
    char *path = sp_xasprintf("%s/%s", dir, name);
    sp_out *o = sp_out_open(path, 0);
    sp_out_write(o, t->p, t->n);
    sp_out_commit(o);
    free(path);
}

/* A picture: DIR/FILE for the Markdown, inline in the HTML. */
static void figure(sp_doc *d, const char *dir, const char *file, const char *alt, sp_text *svg)
{
    write_file(dir, file, svg);
    sp_doc_figure(d, file, alt, svg);
    sp_text_free(svg);
}

static void summary(sp_doc *d, const cJSON *eb, const cJSON *ea, const cJSON *fl)
{
    static const char *const head[] = {"", "before", "after", "change"};
    static const char *const keys[] = {"top1", "top5", "flops_thop", "macs", "params"};
    static const char *const names[] = {"top-1 accuracy, %", "top-5 accuracy, %",
                                        "FLOPs (thop convention)", "MACs", "parameters"};
    char b[48], a[48], c[64];
    const char *row[4] = {NULL, b, a, c};
    if (!eb && !ea && !fl)
        return;
    sp_doc_heading(d, 2, "Summary");
    sp_doc_table(d, "lrrr", head);
    for (int k = 0; k < 5; k++) {
        const cJSON *before = k < 2 ? eb : fl ? cJSON_GetObjectItemCaseSensitive(fl, "baseline") : NULL;
        double vb = num(before, keys[k]), va = num(k < 2 ? ea : fl, keys[k]);
        if (!isfinite(vb) && !isfinite(va))
            continue;
        if (k < 2) {
            fmt_fixed(b, sizeof b, vb, 2);
            fmt_fixed(a, sizeof a, va, 2);
            snprintf(c, sizeof c, isfinite(va - vb) ? "%+.2f points" : "-", va - vb);
        } else {
            fmt_count(b, sizeof b, vb);
            fmt_count(a, sizeof a, va);
            snprintf(c, sizeof c, vb > 0 ? "-%.2f %%" : "-", 100 * (vb - va) / vb);
        }
        row[0] = names[k];
        sp_doc_row(d, row);
    }
    double sb = images_per_s(eb), sa = images_per_s(ea);
    if (isfinite(sb) || isfinite(sa)) {
        fmt_fixed(b, sizeof b, sb, 1);
        fmt_fixed(a, sizeof a, sa, 1);
        snprintf(c, sizeof c, sb > 0 && isfinite(sa) ? "%.2fx speed-up" : "-", sa / sb);
        row[0] = "inference, images/s";
        sp_doc_row(d, row);
    }
    sp_doc_table_end(d);
    if (eb || ea) {
        char *s = sp_xasprintf("Accuracy and speed: sp-eval over the %.0f images of the "
                               "validation set; images/s is the wall time of that whole run "
                               "(loading the checkpoint, reading and normalising the images, "
                               "the forward passes).  FLOPs, MACs and parameters: sp-flops, "
                               "for one image.", ea ? num(ea, "images") : num(eb, "images"));
        sp_doc_para(d, s);
        free(s);
    }
}

static void settings(sp_doc *d, const options *o)
{
    static const char *const head[] = {"setting", "value"};
    if (!o->nsetting)
        return;
    sp_doc_heading(d, 2, "Settings");
    sp_doc_table(d, "ll", head);
    for (int i = 0; i < o->nsetting; i++) {
        const char *eq = strchr(o->setting[i], '=');
        char *key = sp_xasprintf("%.*s", (int)(eq - o->setting[i]), o->setting[i]);
        const char *row[2] = {key, eq + 1};
        sp_doc_row(d, row);
        free(key);
    }
    sp_doc_table_end(d);
}

/* The stages' table, and the top-1 from the baseline through every stage's
 * kept epoch to the pruned network. */
static void stages(sp_doc *d, const options *o, const cJSON *eb, const cJSON *ea)
{
    static const char *const head[] = {"stage", "masks", "channels kept", "kept epoch",
                                       "top-1, %", "top-5, %"};
    const char **label = sp_xcalloc((size_t)o->nlog + 2, sizeof *label);
    double *top1 = sp_xcalloc((size_t)o->nlog + 2, sizeof *top1);
    int n = 0, nstage = 0;
    label[n] = "baseline";
    top1[n++] = num(eb, "top1");
    for (int i = 0; i < o->nlog; i++) {
        const run_log *l = &o->log[i];
        if (!l->stage)
            continue;
        if (nstage++ == 0) {
            sp_doc_heading(d, 2, "Stages");
            sp_doc_table(d, "lrrrrr", head);
        }
        int bi = best_index(l), kept = 0, chans = 0;
        for (int k = 0; k < l->nmask; k++) {
            kept += kept_channels(l, &l->mask[k]);
            chans += l->mask[k].channels;
        }
        char nm[16], kc[48], be[32], t1[16], t5[16];
        snprintf(nm, sizeof nm, "%d", l->nmask);
        snprintf(kc, sizeof kc, "%d of %d", kept, chans);
        snprintf(be, sizeof be, "%d of %d", l->best_epoch, l->epoch.n);
        fmt_fixed(t1, sizeof t1, bi >= 0 ? l->top1.y[bi] : NAN, 2);
        fmt_fixed(t5, sizeof t5, bi >= 0 ? l->top5.y[bi] : NAN, 2);
        const char *row[6] = {l->label, nm, kc, be, t1, t5};
        sp_doc_row(d, row);
        label[n] = l->label;
        top1[n++] = bi >= 0 ? l->top1.y[bi] : NAN;
    }
    if (nstage) {
        sp_doc_table_end(d);
        sp_doc_para(d, "Top-1 and top-5 of each stage: its kept epoch, validated with the hard "
                       "channel index in place of the masks, which is what sp-compress keeps.");
    }
    label[n] = "final";
    top1[n++] = num(ea, "top1");
    if (nstage || eb || ea) {
        sp_text svg = {0};
        sp_svg_categories(&svg, "top-1 accuracy after each stage, % (validation set)", label,
                          top1, n);
        figure(d, o->out, "accuracy.svg", "top-1 after each stage", &svg);
    }
    free(label);
    free(top1);
}

static void channels(sp_doc *d, const options *o, const cJSON *bb, const cJSON *ba)
{
    static const char *const head[] = {"block", "layer", "before", "after", "kept, %"};
    int n;
    sp_bar_row *r = read_layers(bb, ba, &n);
    if (!n)
        return;
    sp_doc_heading(d, 2, "Channels per layer");
    sp_text svg = {0};
    sp_svg_bars(&svg, "channels per layer, before and after", r, n);
    figure(d, o->out, "channels.svg", "channels per layer", &svg);
    sp_doc_table(d, "lrrrr", head);
    for (int i = 0; i < n; i++) {
        char blk[16], b[24], a[24], k[16];
        snprintf(blk, sizeof blk, "%d", r[i].group);
        snprintf(b, sizeof b, "%.0f", r[i].before);
        snprintf(a, sizeof a, "%.0f", r[i].after);
        fmt_fixed(k, sizeof k, r[i].before > 0 ? 100 * r[i].after / r[i].before : NAN, 1);
        const char *row[5] = {blk, r[i].name, b, a, k};
        sp_doc_row(d, row);
    }
    sp_doc_table_end(d);
    free(r);
}

/* One log's curves against the step: loss and accuracy, their running
 * means over the raw values, the validation top-1 per epoch; for a stage
 * also every mask's beta, lambda and kept channels. */
static void curves(sp_doc *d, const options *o, const run_log *l, int index)
{
    int w = l->loss.n / 40 > 1 ? l->loss.n / 40 : 1, np = 2;
    char mean[64], names[SP_PLOT_LINES][96], file[32], *alt, *title;
    sp_series loss = sp_series_smooth(&l->loss, w), acc = sp_series_smooth(&l->acc, w);
    sp_plot_panel p[5];
    memset(p, 0, sizeof p);
    snprintf(mean, sizeof mean, w > 1 ? "batches, mean of %d" : "per batch", w);
    p[0] = (sp_plot_panel){"loss (training)", {{&l->loss, NULL, "#1f77b4", 1, 0},
                                              {&loss, mean, "#1f77b4", 0, 0}}, 2};
    p[1] = (sp_plot_panel){"accuracy, %", {{&l->acc, NULL, "#1f77b4", 1, 0},
                                          {&acc, mean, "#1f77b4", 0, 0},
                                          {&l->top1, l->stage ? "validation top-1, hard masks"
                                                              : "validation top-1",
                                           "#ff7f0e", 0, 1}}, 3};
    static const char *const titles[3] = {"beta (mask sharpness)",
                                          "lambda (mask regulariser weight)",
                                          "channels kept by the window's vote"};
    for (int q = 0; l->stage && l->nmask && q < 3; q++, np++) {
        p[np].title = titles[q];
        for (int k = 0; k < l->nmask && k < SP_PLOT_LINES; k++, p[np].n++) {
            const mask_track *m = &l->mask[k];
            char *cut;
            snprintf(names[k], sizeof names[k], "%s", m->name);
            if ((cut = strstr(names[k], ".m.mask")))   /* layer2.0.relu1.m.mask */
                *cut = 0;
            p[np].line[k].s = q == 0 ? &m->beta : q == 1 ? &m->lambda : &m->kept;
            p[np].line[k].name = names[k];
        }
    }
    sp_text svg = {0};
    title = sp_xasprintf("training curves: %s", l->label);
    sp_svg_panels(&svg, title, p, np, "step");
    snprintf(file, sizeof file, "curves-%d.svg", index);
    alt = sp_xasprintf("training curves, %s", l->label);
    figure(d, o->out, file, alt, &svg);
    free(title);
    free(alt);
    sp_series_free(&loss);
    sp_series_free(&acc);
}

static void make_dir(const char *dir)
{
    char *p = sp_xstrdup(dir);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s)
            continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            sp_die("cannot make the folder '%s': %s", p, strerror(errno));
        if (!(*s = c))
            break;
    }
    free(p);
}

int main(int argc, char **argv)
{
    options o;
    sp_cli_init("sp-report");
    parse_command_line(argc, argv, &o);
    cJSON *eb = read_json(o.eval_before, "sp-eval --json");
    cJSON *ea = read_json(o.eval_after, "sp-eval --json");
    cJSON *fl = read_json(o.flops, "sp-flops --json");
    cJSON *bb = read_json(o.blocks_before, "sp-inspect --blocks --json");
    cJSON *ba = read_json(o.blocks_after, "sp-inspect --blocks --json");
    for (int i = 0; i < o.nlog; i++)
        read_log(&o.log[i]);
    make_dir(o.out);

    sp_doc d;
    sp_doc_begin(&d, o.title);
    if (o.note)
        sp_doc_para(&d, o.note);
    summary(&d, eb, ea, fl);
    settings(&d, &o);
    stages(&d, &o, eb, ea);
    channels(&d, &o, bb, ba);
    if (o.nlog)
        sp_doc_heading(&d, 2, "Training curves");
    for (int i = 0; i < o.nlog; i++) {
        sp_doc_heading(&d, 3, o.log[i].label);
        curves(&d, &o, &o.log[i], i + 1);
    }
    sp_doc_end(&d);
    write_file(o.out, "report.md", &d.md);
    write_file(o.out, "report.html", &d.html);
    sp_doc_free(&d);
    cJSON_Delete(eb);
    cJSON_Delete(ea);
    cJSON_Delete(fl);
    cJSON_Delete(bb);
    cJSON_Delete(ba);
    return SP_EXIT_OK;
}
