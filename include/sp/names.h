/* names.h: a sorted index of names, so that finding a name costs log n and
 * checking n names for duplicates n log n, never the n^2 of comparing
 * every pair (a graph of 65,536 nodes, a header of 300,000 tensors). */
#ifndef SP_NAMES_H
#define SP_NAMES_H

typedef struct sp_name_ref {
    const char *name;
    int at;                   /* the item's index */
} sp_name_ref;

typedef struct sp_names {
    int n;
    sp_name_ref *r;           /* by name (strcmp order), then by index */
} sp_names;

/* Index n items: name_of(items, i) is item i's name, which must outlive
 * the index. */
void sp_names_init(sp_names *ix, const void *items, int n,
                   const char *(*name_of)(const void *items, int i));
void sp_names_free(sp_names *ix);
/* The first item named name, -1 if none. */
int sp_names_find(const sp_names *ix, const char *name);
/* Where in r the items named name begin, -1 if none (they follow each
 * other, by index). */
int sp_names_pos(const sp_names *ix, const char *name);
/* The first item whose name an earlier item has already, -1 if none: the
 * one a loop over all pairs would report. */
int sp_names_dup(const sp_names *ix);

#endif
