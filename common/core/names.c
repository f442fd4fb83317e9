/* names.c: a sorted index of names (names.h). */
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/names.h"

static int by_name(const void *a, const void *b)
{
    const sp_name_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->at > y->at) - (x->at < y->at);
}

void sp_names_init(sp_names *ix, const void *items, int n,
                   const char *(*name_of)(const void *items, int i))
{
    ix->n = n > 0 ? n : 0;
    ix->r = sp_xmalloc((size_t)(ix->n > 0 ? ix->n : 1) * sizeof *ix->r);
    for (int i = 0; i < ix->n; i++) {
        ix->r[i].name = name_of(items, i);
        ix->r[i].at = i;
    }
    qsort(ix->r, (size_t)ix->n, sizeof *ix->r, by_name);
}

void sp_names_free(sp_names *ix)
{
    free(ix->r);
    ix->r = NULL;
    ix->n = 0;
}

int sp_names_pos(const sp_names *ix, const char *name)
{
    int lo = 0, hi = ix->n;     /* the first entry not below name */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(ix->r[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && strcmp(ix->r[lo].name, name) == 0 ? lo : -1;
}

int sp_names_find(const sp_names *ix, const char *name)
{
    int pos = sp_names_pos(ix, name);
    return pos < 0 ? -1 : ix->r[pos].at;
}

int sp_names_dup(const sp_names *ix)
{
    int first = -1;
    for (int i = 1; i < ix->n; i++)
        if (strcmp(ix->r[i - 1].name, ix->r[i].name) == 0 &&
            (first < 0 || ix->r[i].at < first))
            first = ix->r[i].at;
    return first;
}
