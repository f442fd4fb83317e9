/* safetensors_priv.h (private to libsp): the generic container under the
 * checkpoint, read strictly sequentially.  checkpoint.c adds the sp layer
 * (reserved metadata, the graph, the CRC). */
#ifndef SP_SAFETENSORS_PRIV_H
#define SP_SAFETENSORS_PRIV_H

#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "sp/tensor.h"

/* Headers longer than this are refused unread: a wrong or hostile length
 * must not make the reader allocate gigabytes. */
#define SP_ST_HEADER_MAX (100u * 1000 * 1000)

typedef struct sp_st_stream {
    FILE *f;
    const unsigned char *head;  /* bytes a caller already took from f (peeking) */
    size_t nhead, hpos;
    uint64_t got;               /* bytes delivered so far, head included */
    int is_file;                /* a regular file: its size is known */
    const char *subj;           /* "'x.spk'" or "standard input", for messages */
} sp_st_stream;

typedef struct sp_st_entry {
    const char *name;           /* points into root */
    sp_dtype dtype;
    int ndim;
    int64_t shape[SP_MAX_DIMS];
    uint64_t begin, end;        /* byte range within the data section */
} sp_st_entry;

typedef struct sp_st_header {
    cJSON *root;
    const cJSON *meta;          /* "__metadata__", NULL when absent */
    int n;
    sp_st_entry *e;             /* header order */
    int *order;                 /* indices of e by increasing begin */
    int *by_name;               /* indices of e by name (strcmp order) */
    uint64_t data_len;
} sp_st_header;

/* How an input is named in messages: a file name quoted, standard input
 * not.  malloc'd. */
char *sp_st_subject(const char *what);

void sp_st_open(sp_st_stream *s, FILE *f, const char *subj, const void *head, size_t nhead);
/* Up to n bytes; fewer only at the end of the input or on a read error. */
size_t sp_st_get(sp_st_stream *s, void *buf, size_t n);
/* Bytes left in a regular file (-1 when unknown: a pipe). */
int64_t sp_st_remaining(const sp_st_stream *s);

/* Read the length and the JSON header and validate every tensor entry:
 * known dtype, shape, a byte range of the right size, and ranges that tile
 * the data section without gaps or overlaps.  The metadata, if present,
 * must map strings to strings. */
int sp_st_read_header(sp_st_stream *s, sp_st_header *h);
void sp_st_header_free(sp_st_header *h);
/* The index in h->e of the entry called name, -1 if none (log n). */
int sp_st_find(const sp_st_header *h, const char *name);

/* Write the length and root's JSON, padded with spaces to a multiple of 8
 * bytes as safetensors writers do. */
int sp_st_write_header(FILE *f, const cJSON *root);
/* An entry's "dtype", "shape" and "data_offsets" into obj. */
void sp_st_add_entry(cJSON *obj, const sp_tensor *t, uint64_t begin);

#endif
