/* cpu_cache.c: the plan cache and the scratch buffers of the CPU backend.
 *
 * A network has a few dozen distinct layer shapes, so a fixed table of
 * chained buckets keyed by (op, shape) is plenty; entries live until the
 * backend is destroyed.  Scratch buffers are shared by all plans (one call
 * runs at a time) and only grow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "cpu_priv.h"

struct sp_cpu_entry {
    int key[SP_CPU_KEY_LEN];
    void *val;
    void (*drop)(void *);
    sp_cpu_entry *next;
};

static unsigned key_hash(const int key[SP_CPU_KEY_LEN])
{
    uint32_t h = 2166136261u;   /* FNV-1a over the key's ints */
    for (int i = 0; i < SP_CPU_KEY_LEN; i++) {
        h ^= (uint32_t)key[i];
        h *= 16777619u;
    }
    return h % SP_COUNT(((sp_cpu_ctx *)0)->buckets);
}

void *sp_cpu_cache_get(sp_cpu_ctx *x, const int key[SP_CPU_KEY_LEN])
{
    for (sp_cpu_entry *e = x->buckets[key_hash(key)]; e; e = e->next)
        if (!memcmp(e->key, key, sizeof e->key))
            return e->val;
    return NULL;
}

void sp_cpu_cache_put(sp_cpu_ctx *x, const int key[SP_CPU_KEY_LEN], void *val,
                      void (*drop)(void *))
{
    unsigned h = key_hash(key);
    sp_cpu_entry *e = sp_xcalloc(1, sizeof *e);
    memcpy(e->key, key, sizeof e->key);
    e->val = val;
    e->drop = drop;
    e->next = x->buckets[h];
    x->buckets[h] = e;
}

void sp_cpu_cache_clear(sp_cpu_ctx *x)
{
    for (size_t i = 0; i < SP_COUNT(x->buckets); i++) {
        sp_cpu_entry *e = x->buckets[i];
        while (e) {
            sp_cpu_entry *next = e->next;
            if (e->drop)
                e->drop(e->val);
            free(e);
            e = next;
        }
        x->buckets[i] = NULL;
    }
    for (int i = 0; i < SP_CPU_SCRATCH_N; i++) {
        free(x->scratch[i]);
        x->scratch[i] = NULL;
        x->scratch_cap[i] = 0;
    }
}

void *sp_cpu_scratch(sp_cpu_ctx *x, int slot, size_t bytes)
{
    if (bytes > x->scratch_cap[slot]) {
        free(x->scratch[slot]);
        size_t n = (bytes + 4095) / 4096 * 4096;
        x->scratch[slot] = aligned_alloc(64, n);
        if (!x->scratch[slot])
            sp_oom(n);
        x->scratch_cap[slot] = n;
    }
    return x->scratch[slot];
}
