/* loader.c: background workers filling a ring of batches.
 *
 * Batch b of the current epoch always goes to slot b % nslot; a worker
 * claims the next unclaimed batch when its slot is free, fills it without
 * holding the lock, and marks it ready.  The consumer takes batches in
 * order and frees a slot when it asks for the following batch.  Restarting
 * an epoch bumps a generation number, waits for the batches being filled
 * to finish and discards them, so the permutation can be redrawn safely. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sp/base.h"
#include "sp/rng.h"
#include "augment_priv.h"

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY };

typedef struct slot {
    int state;
    int64_t batch;
    int n, total;             /* this share's samples, the whole batch's */
    float *images;
    int32_t *labels;
    char *error;              /* a worker's failure, reported by next() */
} slot;

struct sp_loader {
    const sp_dataset *d;
    sp_loader_opts o;
    int64_t count, nbatches;
    int64_t *perm;
    int epoch;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int nslot;
    slot *slot;
    int64_t next_claim, next_take;
    uint64_t generation;
    int active, stop, held;   /* held: the slot the consumer is reading, -1 none */
    int nthread;
    pthread_t *thread;
    int total;                /* the whole batch last returned */
};

static void fill(sp_loader *l, slot *s, sp_augment_state *st)
{
    size_t per = (size_t)l->o.c * l->o.h * l->o.w;
    int64_t first = s->batch * l->o.batch;
    int64_t last = first + l->o.batch < l->count ? first + l->o.batch : l->count;
    s->total = (int)(last - first);
    if (l->o.parts > 1) {
        int64_t whole = last - first;
        last = first + whole * (l->o.part + 1) / l->o.parts;
        first += whole * l->o.part / l->o.parts;
    }
    s->n = (int)(last - first);
    for (int64_t k = first; k < last; k++) {
        int64_t idx = l->perm[k];
        float *dst = s->images + (size_t)(k - first) * per;
        s->labels[k - first] = sp_data_label(l->d, idx);
        if (sp_augment_into(st, l->d, idx, &l->o, l->epoch, dst) < 0) {
            s->error = sp_xstrdup(sp_error());
            return;
        }
    }
}

static void *worker(void *arg)
{
    sp_loader *l = arg;
    sp_augment_state st;
    memset(&st, 0, sizeof st);
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        slot *s = NULL;
        if (l->active && l->next_claim < l->nbatches) {
            s = &l->slot[l->next_claim % l->nslot];
            if (s->state != SLOT_FREE)
                s = NULL;
        }
        if (!s) {
            pthread_cond_wait(&l->cv, &l->mu);
            continue;
        }
        s->state = SLOT_FILLING;
        s->batch = l->next_claim++;
        free(s->error);
        s->error = NULL;
        uint64_t gen = l->generation;
        pthread_mutex_unlock(&l->mu);
        fill(l, s, &st);
        pthread_mutex_lock(&l->mu);
        s->state = gen == l->generation ? SLOT_READY : SLOT_FREE;
        pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    sp_augment_state_free(&st);
    return NULL;
}

sp_loader *sp_loader_new(const sp_dataset *d, const sp_loader_opts *o)
{
    if (sp_data_channels(d) != o->c) {
        sp_errorf("'%s' has %d channel%s per image, the network takes %d",
                  sp_data_path(d), sp_data_channels(d), SP_PLURAL(sp_data_channels(d)), o->c);
        return NULL;
    }
    if (sp_data_count(d) < 1 || o->batch < 1) {
        sp_errorf("'%s' holds no records", sp_data_path(d));
        return NULL;
    }
    sp_loader *l = sp_xcalloc(1, sizeof *l);
    l->d = d;
    l->o = *o;
    if (l->o.threads < 1)
        l->o.threads = 1;
    l->count = sp_data_count(d);
    l->nbatches = o->drop_last && l->count >= o->batch ? l->count / o->batch
                                                       : (l->count + o->batch - 1) / o->batch;
    l->perm = sp_xmalloc((size_t)l->count * sizeof *l->perm);
    l->held = -1;
    l->nslot = l->o.threads + 2;
    l->slot = sp_xcalloc((size_t)l->nslot, sizeof *l->slot);
    size_t per = (size_t)o->c * o->h * o->w;
    for (int i = 0; i < l->nslot; i++) {
        l->slot[i].images = sp_xmalloc((size_t)o->batch * per * sizeof(float));
        l->slot[i].labels = sp_xmalloc((size_t)o->batch * sizeof(int32_t));
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->nthread = l->o.threads;
    l->thread = sp_xcalloc((size_t)l->nthread, sizeof *l->thread);
    for (int i = 0; i < l->nthread; i++)
        if (pthread_create(&l->thread[i], NULL, worker, l) != 0) {
            l->nthread = i;
            sp_loader_free(l);
            sp_errorf("cannot start the data loading threads");
            return NULL;
        }
    return l;
}

void sp_loader_free(sp_loader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->nthread; i++)
        pthread_join(l->thread[i], NULL);
    for (int i = 0; i < l->nslot; i++) {
        free(l->slot[i].images);
        free(l->slot[i].labels);
        free(l->slot[i].error);
    }
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l->thread);
    free(l->slot);
    free(l->perm);
    free(l);
}

int64_t sp_loader_batches(const sp_loader *l)
{
    return l->nbatches;
}

void sp_loader_start(sp_loader *l, int epoch, int64_t first)
{
    pthread_mutex_lock(&l->mu);
    l->generation++;
    l->active = 0;
    for (;;) {
        int busy = 0;
        for (int i = 0; i < l->nslot; i++)
            busy |= l->slot[i].state == SLOT_FILLING;
        if (!busy)
            break;
        pthread_cond_wait(&l->cv, &l->mu);
    }
    for (int i = 0; i < l->nslot; i++)
        l->slot[i].state = SLOT_FREE;
    l->held = -1;
    l->epoch = epoch;
    for (int64_t i = 0; i < l->count; i++)
        l->perm[i] = i;
    if (l->o.shuffle) {
        sp_rng r;
        sp_rng_init(&r, l->o.seed, 0x5348554646000000ull ^ (uint64_t)epoch);
        for (int64_t i = l->count - 1; i > 0; i--) {
            int64_t j = (int64_t)(sp_rng_u64(&r) % (uint64_t)(i + 1));
            int64_t t = l->perm[i];
            l->perm[i] = l->perm[j];
            l->perm[j] = t;
        }
    }
    l->next_claim = l->next_take = first;
    l->active = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

int sp_loader_next(sp_loader *l, const float **images, const int32_t **labels, int *n)
{
    pthread_mutex_lock(&l->mu);
    if (l->held >= 0) {
        l->slot[l->held].state = SLOT_FREE;
        l->held = -1;
        pthread_cond_broadcast(&l->cv);
    }
    if (!l->active || l->next_take >= l->nbatches) {
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    int k = (int)(l->next_take % l->nslot);
    slot *s = &l->slot[k];
    while (!(s->state == SLOT_READY && s->batch == l->next_take))
        pthread_cond_wait(&l->cv, &l->mu);
    l->next_take++;
    l->held = k;
    pthread_mutex_unlock(&l->mu);
    if (s->error) {
        sp_errorf("%s", s->error);
        return -1;
    }
    *images = s->images;
    *labels = s->labels;
    *n = s->n;
    l->total = s->total;
    return 1;
}

int sp_loader_total(const sp_loader *l)
{
    return l->total;
}
