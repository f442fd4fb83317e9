/* data.h: the packed dataset (.spd, sp-data(5)) and its reader.
 * (Owned by the sp-pack work; this stub fixes what other modules rely on.) */
#ifndef SP_DATA_H
#define SP_DATA_H

#include <stdio.h>

/* The first 8 bytes of every .spd file. */
#define SP_DATA_MAGIC "sp-data\n"
#define SP_DATA_MAGIC_LEN 8

/* sp-inspect's view of a dataset: the header and label histogram as text
 * or JSON on out, or (record >= 0) that record as a binary PGM/PPM image.
 * Returns 0, or -1 with an error. */
int sp_data_inspect(const char *path, int json, long record, FILE *out);

#endif
