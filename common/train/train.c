/* train.c: the training loop of sp_train_run (see train.h).
 *
 * The position of the run is one number, the global step; the epoch and
 * the batch within it follow from it.  Weights go to the host only to save
 * the state, to keep the best epoch and at the end.  The pruning stage runs
 * this same loop with hooks (sp_train_hooks) around each step and epoch.
 *
 * In one of several processes (sp/dist.h) every process reads the same
 * batches and trains on, and validates, its share of each; the executor
 * sums what must be summed, so the processes stay equal, and only rank 0
 * reports progress and writes the resume state. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sp/base.h"
#include "sp/dist.h"
#include "train_state_priv.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void copy_params(sp_model *dst, const sp_model *src)
{
    sp_param_info *info;
    int np = sp_graph_params(src->graph, &info);
    for (int k = 0; k < np; k++) {
        const sp_tensor *s = sp_model_tensor(src, info[k].name);
        memcpy(sp_model_tensor(dst, info[k].name)->data, s->data, sp_tensor_bytes(s));
    }
    free(info);
}

static sp_loader *make_loader(const sp_dataset *d, const sp_train_opts *o, int train)
{
    sp_loader_opts lo;
    memset(&lo, 0, sizeof lo);
    lo.batch = o->batch;
    lo.shuffle = train;
    lo.augment = train ? o->pre.augment : SP_AUG_NONE;
    lo.seed = o->seed;
    lo.c = o->pre.c;
    lo.h = o->pre.h;
    lo.w = o->pre.w;
    memcpy(lo.mean, o->pre.mean, sizeof lo.mean);
    memcpy(lo.std, o->pre.std, sizeof lo.std);
    lo.threads = o->loader_threads > 0 ? o->loader_threads : 2;
    lo.part = sp_dist_rank();   /* each process makes only its share (sp/dist.h) */
    lo.parts = sp_dist_size();
    return sp_loader_new(d, &lo);
}

typedef struct run {
    const sp_train_opts *o;
    sp_exec *e;
    sp_model *m, *best;
    sp_loader *tl, *vl;
    const sp_dataset *train;
    sp_train_pos pos;
    sp_train_progress p;
    float *logits;
} run;

static const sp_train_hooks no_hooks;

static int save(run *r)
{
    if (!r->o->state || sp_dist_rank() != 0)
        return 0;
    if (sp_exec_download(r->e, r->m) < 0)
        return -1;
    return sp_train_state_save(r->o->state, r->m, r->best, r->e, r->o, r->train, &r->pos);
}

/* One training step on the batch in hand: the position advances only when
 * it succeeded. */
static int step(run *r, const float *img, const int32_t *lab, int n, int64_t batch,
                const sp_sgd_opts *sgd, float *loss_out)
{
    const sp_train_hooks *h = r->o->hooks ? r->o->hooks : &no_hooks;
    sp_exec_set_input(r->e, img, lab, n);
    sp_exec_set_dropout(r->e, r->o->seed, (uint64_t)r->pos.step);
    if (h->before_forward &&
        h->before_forward(h->ctx, r->e, img, lab, n, r->pos.step, batch) < 0)
        return -1;
    if (sp_exec_forward(r->e, 1) < 0)
        return -1;
    float loss = sp_exec_loss(r->e);
    if (h->loss)
        loss += (float)h->loss(h->ctx, r->e);
    *loss_out = loss;
    if (!isfinite(loss))
        return sp_errorf("the training loss became %s at epoch %d, step %lld; "
                         "try a lower learning rate", isnan(loss) ? "NaN" : "infinite",
                         r->p.epoch + 1, (long long)r->pos.step + 1);
    if (sp_exec_backward(r->e) < 0)
        return -1;
    sp_exec_sgd(r->e, sgd);
    return h->after_step ? h->after_step(h->ctx, r->e, sgd) : 0;
}

static int train_epoch(run *r, int epoch)
{
    const sp_train_opts *o = r->o;
    int64_t nb = sp_loader_batches(r->tl);
    int64_t first = r->pos.step - (int64_t)epoch * nb;
    int classes = sp_exec_classes(r->e);
    sp_loader_start(r->tl, epoch, first);
    r->p.epoch = epoch;
    if (o->hooks && o->hooks->epoch_begin &&
        o->hooks->epoch_begin(o->hooks->ctx, r->e, epoch, first) < 0)
        return -1;
    const float *img;
    const int32_t *lab;
    int n, rc, report = sp_dist_rank() == 0;
    double t0 = now(), loss_sum = 0;
    int64_t losses = 0;
    while ((rc = sp_loader_next(r->tl, &img, &lab, &n)) > 0) {
        sp_sgd_opts sgd = o->sgd;
        sgd.lr = (float)sp_schedule_lr(o->schedule, o->sgd.lr, r->pos.step, nb, o->epochs,
                                       o->step_every);
        float loss;
        if (n < 1)
            return sp_errorf("a batch of %d images cannot be shared by %d processes",
                             sp_loader_total(r->tl), sp_dist_size());
        if (step(r, img, lab, n, r->pos.step - (int64_t)epoch * nb, &sgd, &loss) < 0)
            return -1;
        r->pos.step++;
        sp_metrics bm;
        memset(&bm, 0, sizeof bm);
        sp_exec_logits(r->e, r->logits);
        sp_metrics_add(&bm, r->logits, lab, n, classes, loss);
        double t1 = now();
        r->p.epoch = epoch;
        r->p.step = r->pos.step;
        r->p.batch = r->pos.step - (int64_t)epoch * nb;
        r->p.loss = loss;
        loss_sum += loss;
        r->p.train_loss = loss_sum / (double)++losses;
        r->p.accuracy = sp_metrics_top1(&bm);
        r->p.lr = sgd.lr;
        r->p.images_per_s = t1 > t0 ? sp_loader_total(r->tl) / (t1 - t0) : 0;
        r->p.validated = 0;
        t0 = t1;
        if (o->on_step && report)
            o->on_step(o->ctx, &r->p);
        if (o->save_every > 0 && r->pos.step % o->save_every == 0 && r->p.batch < nb &&
            save(r) < 0)
            return -1;
    }
    return rc;
}

static int validate(run *r, int epoch)
{
    const sp_train_hooks *h = r->o->hooks ? r->o->hooks : &no_hooks;
    if (h->before_validate && h->before_validate(h->ctx, r->e) < 0)
        return -1;
    if (r->vl && sp_evaluate(r->e, r->vl, &r->p.val, NULL, &r->o->validating) < 0)
        return -1;
    /* each process validated its share of every batch */
    double sums[4] = {(double)r->p.val.n, r->p.val.loss_sum, (double)r->p.val.top1,
                      (double)r->p.val.top5};
    if (sp_dist_sum_host(sums, 4) < 0)
        return -1;
    r->p.val.n = (int64_t)sums[0];
    r->p.val.loss_sum = sums[1];
    r->p.val.top1 = (int64_t)sums[2];
    r->p.val.top5 = (int64_t)sums[3];
    if (sp_exec_download(r->e, r->m) < 0)
        return -1;
    /* without a validation set, the last epoch is the result */
    double top1 = r->vl ? sp_metrics_top1(&r->p.val) : 0;
    if (r->pos.best_epoch < 0 || top1 > r->pos.best_top1 || !r->vl) {
        r->pos.best_epoch = epoch;
        r->pos.best_top1 = top1;
        copy_params(r->best, r->m);
        if (h->best)
            h->best(h->ctx);
    }
    r->p.validated = r->vl != NULL;
    r->p.best_epoch = r->pos.best_epoch;
    r->p.best_top1 = r->pos.best_top1;
    if (r->o->on_epoch && sp_dist_rank() == 0)
        r->o->on_epoch(r->o->ctx, &r->p);
    return 0;
}

static void record(sp_model *m, const run *r)
{
    char buf[64];
    sp_preproc_set(m, &r->o->pre);
    snprintf(buf, sizeof buf, "%d", r->o->epochs);
    sp_model_set_meta(m, "train.epochs", buf);
    snprintf(buf, sizeof buf, "%d", r->pos.best_epoch + 1);
    sp_model_set_meta(m, "train.best_epoch", buf);
    snprintf(buf, sizeof buf, "%.4f", r->pos.best_top1);
    sp_model_set_meta(m, "train.best_top1", r->vl ? buf : NULL);
}

static int check_classes(const sp_dataset *d, int classes)
{
    if (sp_data_classes(d) != classes)
        return sp_errorf("'%s' has %d class%s but the network has %d output%s",
                         sp_data_path(d), sp_data_classes(d),
                         sp_data_classes(d) == 1 ? "" : "es", classes, SP_PLURAL(classes));
    return 0;
}

int sp_train_run(sp_backend *b, sp_model *m, const sp_dataset *train, const sp_dataset *val,
                 const sp_train_opts *o)
{
    int classes = m->graph->node[m->graph->n - 1].c;
    if (check_classes(train, classes) < 0 || (val && check_classes(val, classes) < 0))
        return -1;
    if (o->epochs < 1 || o->batch < 1)
        return sp_errorf("training needs at least one epoch and one image per batch");
    run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.m = m;
    r.train = train;
    r.pos.best_epoch = -1;
    r.p.best_epoch = -1;
    int rc = -1;
    r.e = sp_exec_new(b, m, o->batch, 1, o->mask_grads);
    if (r.e && o->on_start)
        o->on_start(o->ctx, r.e);
    r.tl = r.e ? make_loader(train, o, 1) : NULL;
    r.vl = r.tl && val ? make_loader(val, o, 0) : NULL;
    if (!r.tl || (val && !r.vl))
        goto out;
    r.best = sp_model_clone(m);
    r.logits = sp_xmalloc((size_t)o->batch * classes * sizeof(float));
    if (o->resume && sp_train_state_load(o->state, m, r.best, r.e, o, train, &r.pos) < 0)
        goto out;
    r.p.epochs = o->epochs;
    r.p.batches = sp_loader_batches(r.tl);
    r.p.steps = r.p.batches * o->epochs;
    r.p.best_epoch = r.pos.best_epoch;
    r.p.best_top1 = r.pos.best_top1;
    for (int epoch = r.pos.epoch; epoch < o->epochs; epoch++) {
        if (train_epoch(&r, epoch) < 0 || validate(&r, epoch) < 0)
            goto out;
        r.pos.epoch = epoch + 1;
        if (save(&r) < 0)
            goto out;
    }
    copy_params(m, r.best);
    record(m, &r);
    if (o->hooks && o->hooks->finish && o->hooks->finish(o->hooks->ctx, m) < 0)
        goto out;
    rc = 0;
out:
    sp_exec_free(r.e);
    sp_loader_free(r.tl);
    sp_loader_free(r.vl);
    if (r.best)
        sp_model_free(r.best);
    free(r.logits);
    return rc;
}
