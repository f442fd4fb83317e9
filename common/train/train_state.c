/* train_state.c: the resume state of a training run (see train.h), written
 * atomically and read back with the checks that keep a resumed run from
 * silently training something else. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sp/base.h"
#include "sp/tmpfile.h"
#include "train_state_priv.h"

static char *opts_key(const sp_train_opts *o, const sp_dataset *train)
{
    return sp_xasprintf("epochs=%d batch=%d lr=%.9g momentum=%.9g wd=%.9g nesterov=%d "
                        "schedule=%s step_every=%d seed=%llu augment=%s records=%lld%s%s",
                        o->epochs, o->batch, (double)o->sgd.lr, (double)o->sgd.momentum,
                        (double)o->sgd.weight_decay, o->sgd.nesterov,
                        sp_schedule_name(o->schedule), o->step_every,
                        (unsigned long long)o->seed, sp_augment_name(o->pre.augment),
                        (long long)sp_data_count(train), o->hooks && o->hooks->key ? " " : "",
                        o->hooks && o->hooks->key ? o->hooks->key : "");
}

static void copy_params(sp_model *dst, const char *prefix, const sp_model *src)
{
    sp_param_info *info;
    int np = sp_graph_params(src->graph, &info);
    for (int k = 0; k < np; k++) {
        const sp_tensor *t = sp_model_tensor(src, info[k].name);
        char *name = sp_xasprintf("%s%s", prefix, info[k].name);
        sp_tensor *d = sp_model_add_tensor(dst, name, t->dtype, t->ndim, t->shape);
        memcpy(d->data, t->data, sp_tensor_bytes(t));
        free(name);
    }
    free(info);
}

/* Flush, sync and close f, each whatever the one before gave (the file is
 * closed in every case); nonzero when one of them failed. */
static int finish_file(FILE *f)
{
    int bad = fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    return bad;
}

int sp_train_state_save(const char *path, const sp_model *cur, const sp_model *best,
                        sp_exec *e, const sp_train_opts *o, const sp_dataset *train,
                        const sp_train_pos *pos)
{
    sp_model *s = sp_model_clone(cur);
    copy_params(s, "best/", best);
    for (int i = 0; i < sp_exec_nlearnable(e); i++) {
        char *name = sp_xasprintf("momentum/%s", sp_exec_learnable_name(e, i));
        int64_t n = (int64_t)sp_exec_learnable_numel(e, i);
        sp_tensor *t = sp_model_add_tensor(s, name, SP_F32, 1, &n);
        sp_exec_get_momentum(e, i, t->data);
        free(name);
    }
    char *key = opts_key(o, train);
    char *num = sp_xasprintf("%d %lld %d %.17g", pos->epoch, (long long)pos->step,
                             pos->best_epoch, pos->best_top1);
    sp_model_set_meta(s, "resume.options", key);
    sp_model_set_meta(s, "resume.position", num);
    free(key);
    free(num);
    if (o->hooks && o->hooks->save && o->hooks->save(o->hooks->ctx, s) < 0) {
        sp_model_free(s);
        return -1;
    }

    sp_tmp_sweep(path);
    char *tmp = sp_tmp_name(path);
    FILE *f = fopen(tmp, "wb");
    int rc = -1;
    if (!f) {
        sp_errorf("cannot write the resume state '%s': %s", path, strerror(errno));
    } else if (sp_ckpt_write(f, s) < 0) {
        sp_error_prefix("cannot write the resume state '%s'", path);
        fclose(f);
        unlink(tmp);
    } else if (finish_file(f) != 0) {
        sp_errorf("cannot write the resume state '%s': %s", path, strerror(errno));
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        sp_errorf("cannot write the resume state '%s': %s", path, strerror(errno));
        unlink(tmp);
    } else {
        rc = 0;
    }
    free(tmp);
    sp_model_free(s);
    return rc;
}

static int take_params(sp_model *dst, const char *prefix, const sp_model *src, const char *path)
{
    sp_param_info *info;
    int np = sp_graph_params(dst->graph, &info), rc = 0;
    for (int k = 0; k < np && rc == 0; k++) {
        char *name = sp_xasprintf("%s%s", prefix, info[k].name);
        const sp_tensor *t = sp_model_tensor(src, name);
        sp_tensor *d = sp_model_tensor(dst, info[k].name);
        if (!t || !d || sp_tensor_bytes(t) != sp_tensor_bytes(d))
            rc = sp_errorf("the resume state '%s' lacks tensor '%s' of the right size", path, name);
        else
            memcpy(d->data, t->data, sp_tensor_bytes(t));
        free(name);
    }
    free(info);
    return rc;
}

int sp_train_state_load(const char *path, sp_model *cur, sp_model *best, sp_exec *e,
                        const sp_train_opts *o, const sp_dataset *train, sp_train_pos *pos)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sp_errorf("cannot open the resume state '%s': %s", path, strerror(errno));
    sp_model *s = sp_ckpt_read(f, path);
    fclose(f);
    if (!s)
        return -1;
    int rc = -1;
    char *key = opts_key(o, train);
    const char *saved = sp_model_meta(s, "resume.options");
    const char *num = sp_model_meta(s, "resume.position");
    long long step;
    char *gs = sp_graph_to_json(s->graph), *gc = sp_graph_to_json(cur->graph);
    if (!saved || !num || sscanf(num, "%d %lld %d %lg", &pos->epoch, &step, &pos->best_epoch,
                                 &pos->best_top1) != 4) {
        sp_errorf("'%s' is not a resume state", path);
    } else if (strcmp(saved, key) != 0) {
        sp_errorf("the resume state '%s' was made with other options (%s)", path, saved);
    } else if (strcmp(gs, gc) != 0) {
        sp_errorf("the resume state '%s' holds another network", path);
    } else if (take_params(cur, "", s, path) == 0 && take_params(best, "best/", s, path) == 0) {
        pos->step = step;
        rc = sp_exec_upload(e, cur);
        for (int i = 0; rc == 0 && i < sp_exec_nlearnable(e); i++) {
            char *name = sp_xasprintf("momentum/%s", sp_exec_learnable_name(e, i));
            const sp_tensor *t = sp_model_tensor(s, name);
            if (!t || (size_t)sp_tensor_numel(t) != sp_exec_learnable_numel(e, i))
                rc = sp_errorf("the resume state '%s' lacks tensor '%s'", path, name);
            else
                sp_exec_set_momentum(e, i, t->data);
            free(name);
        }
        if (rc == 0 && o->hooks && o->hooks->load)
            rc = o->hooks->load(o->hooks->ctx, s);
    }
    free(gs);
    free(gc);
    free(key);
    sp_model_free(s);
    return rc;
}
