/* evaluate.c: preprocessing stored in a checkpoint, accuracy and loss
 * bookkeeping, and one evaluation pass over a dataset. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/base.h"
#include "sp/train.h"

int sp_floats_parse(const char *s, float *v, int n)
{
    const char *p = s;
    for (int i = 0; i < n; i++) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || !isfinite(x))
            return -1;
        v[i] = (float)x;
        p = end;
        if (i + 1 < n) {
            if (*p != ',')
                return -1;
            p++;
        }
    }
    return *p == '\0' ? 0 : -1;
}

int sp_preproc_override(sp_preproc *p, const char *mean, const char *std, const char *who)
{
    const char *opt[2] = {"--mean", "--std"}, *val[2] = {mean, std};
    float *dst[2] = {p->mean, p->std};
    for (int k = 0; k < 2; k++)
        if (val[k] && sp_floats_parse(val[k], dst[k], p->c) < 0)
            return sp_errorf("option '%s' needs %d comma-separated numbers, not '%s'", opt[k],
                             p->c, val[k]);
    char before[sizeof p->source];
    snprintf(before, sizeof before, "%s", p->source);
    if (mean && std)
        snprintf(p->source, sizeof p->source, "--mean and --std given to %s", who);
    else if (mean || std)
        snprintf(p->source, sizeof p->source, "%s given to %s, the %s from %.100s",
                 mean ? "--mean" : "--std", who, mean ? "std" : "mean", before);
    return 0;
}

int sp_preproc_get(const sp_model *m, const sp_dataset *d, sp_preproc *p)
{
    const sp_node *in = &m->graph->node[0];
    memset(p, 0, sizeof *p);
    p->c = in->c;
    p->h = in->h;
    p->w = in->w;
    if (p->c > 3)
        return sp_errorf("the network takes %d input channels; sp normalises at most 3", p->c);
    const char *keys[2] = {"mean", "std"};
    float *dst[2] = {p->mean, p->std};
    const char *recorded = sp_model_meta(m, "norm_source");
    if (sp_model_meta(m, "mean") || sp_model_meta(m, "std"))
        snprintf(p->source, sizeof p->source, "%s", recorded ? recorded : "the checkpoint");
    else if (d)
        snprintf(p->source, sizeof p->source, "statistics of %s", sp_data_path(d));
    else
        snprintf(p->source, sizeof p->source, "0.5 and 0.5, for want of any other");
    for (int k = 0; k < 2; k++) {
        const char *s = sp_model_meta(m, keys[k]);
        if (s) {
            if (sp_floats_parse(s, dst[k], p->c) < 0)
                return sp_errorf("the checkpoint's '%s' \"%s\" is not %d comma-separated numbers",
                                 keys[k], s, p->c);
        } else {
            const float *ds = d ? (k ? sp_data_std(d) : sp_data_mean(d)) : NULL;
            for (int c = 0; c < p->c; c++)
                dst[k][c] = ds ? ds[c] : 0.5f;
        }
    }
    for (int c = 0; c < p->c; c++)
        if (!(p->std[c] > 0))
            return sp_errorf("the standard deviation of channel %d is not positive", c);
    const char *aug = sp_model_meta(m, "augment");
    if (aug && sp_augment_parse(aug, &p->augment) < 0)
        return sp_errorf("the checkpoint's augmentation '%s' is unknown", aug);
    return 0;
}

/* "v,v,v", each value in the fewest digits that read back as the same
 * float (0.485, not 0.485000014). */
static char *floats_str(const float *v, int n)
{
    char *s = sp_xcalloc((size_t)n, 24);
    for (int i = 0; i < n; i++) {
        char one[24];
        for (int digits = 6; digits <= 9; digits++) {
            snprintf(one, sizeof one, "%.*g", digits, (double)v[i]);
            if (strtof(one, NULL) == v[i])
                break;
        }
        sprintf(s + strlen(s), "%s%s", i ? "," : "", one);
    }
    return s;
}

void sp_preproc_set_norm(sp_model *m, const sp_preproc *p)
{
    char *mean = floats_str(p->mean, p->c), *std = floats_str(p->std, p->c);
    sp_model_set_meta(m, "mean", mean);
    sp_model_set_meta(m, "std", std);
    sp_model_set_meta(m, "norm_source", p->source[0] ? p->source : NULL);
    free(mean);
    free(std);
}

void sp_preproc_set(sp_model *m, const sp_preproc *p)
{
    char *size = sp_xasprintf("%dx%dx%d", p->c, p->h, p->w);
    sp_model_set_meta(m, "input_size", size);
    sp_preproc_set_norm(m, p);
    sp_model_set_meta(m, "augment", sp_augment_name(p->augment));
    free(size);
}

void sp_metrics_add(sp_metrics *s, const float *logits, const int32_t *labels, int n,
                    int classes, double loss)
{
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * classes;
        float target = z[labels[i]];
        int above = 0;
        /* rank of the true class; ties count against it, so a constant
         * output is never "correct" */
        for (int k = 0; k < classes; k++)
            if (k != labels[i] && (z[k] > target || (z[k] == target && k < labels[i])))
                above++;
        s->top1 += above < 1;
        s->top5 += above < 5;
    }
    s->n += n;
    s->loss_sum += loss * n;
}

double sp_metrics_top1(const sp_metrics *s)
{
    return s->n ? 100.0 * (double)s->top1 / (double)s->n : 0;
}

double sp_metrics_top5(const sp_metrics *s)
{
    return s->n ? 100.0 * (double)s->top5 / (double)s->n : 0;
}

double sp_metrics_loss(const sp_metrics *s)
{
    return s->n ? s->loss_sum / (double)s->n : 0;
}

int sp_evaluate(sp_exec *e, sp_loader *l, sp_metrics *out, float *logits,
                const sp_eval_progress *progress)
{
    int64_t total = sp_loader_batches(l), done = 0;
    int classes = sp_exec_classes(e);
    float *z = logits;
    float *buf = NULL;
    memset(out, 0, sizeof *out);
    sp_loader_start(l, 0, 0);
    const float *img;
    const int32_t *lab;
    int n, rc;
    while ((rc = sp_loader_next(l, &img, &lab, &n)) > 0) {
        if (n == 0)   /* a process's empty share of a small batch (sp/dist.h) */
            continue;
        if (!logits) {
            buf = sp_xrealloc(buf, (size_t)n * classes * sizeof *buf);
            z = buf;
        }
        if (sp_exec_set_input(e, img, lab, n) < 0 || sp_exec_forward(e, 0) < 0) {
            rc = -1;
            break;
        }
        double loss = sp_exec_loss(e);
        sp_exec_logits(e, z);
        sp_metrics_add(out, z, lab, n, classes, loss);
        if (progress && progress->fn)
            progress->fn(progress->ctx, ++done, total);
        if (logits)
            z += (size_t)n * classes;
    }
    free(buf);
    return rc < 0 ? -1 : 0;
}
