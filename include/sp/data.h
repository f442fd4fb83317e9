/* data.h: the packed dataset (.spd, sp-data(5)) and its reader.  The
 * writer is in pack.h, image decoding and resampling in image.h.
 *
 * A dataset is one file: a header, class names, a label array, an offset
 * index, then the records.  Records are either raw u8 images, HWC, all of
 * the header's height x width x channels, or JPEG blobs (height and width 0
 * in the header when the images keep their source sizes).  The reader maps
 * the file read-only; every accessor is safe to call from several threads
 * at once (decoding needs one sp_image per thread). */
#ifndef SP_DATA_H
#define SP_DATA_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include "sp/image.h"

/* The first 8 bytes of every .spd file. */
#define SP_DATA_MAGIC "sp-data\n"
#define SP_DATA_MAGIC_LEN 8
#define SP_DATA_VERSION 1
#define SP_DATA_HEADER_SIZE 128

enum sp_data_encoding { SP_DATA_RAW = 1, SP_DATA_JPEG = 2 };

/* sp-inspect's view of a dataset: the header and label histogram as text
 * or JSON on out, or (record >= 0) that record as a binary PGM/PPM image.
 * Returns 0, or -1 with an error. */
int sp_data_inspect(const char *path, int json, long record, FILE *out);

/* ---- reader ---------------------------------------------------------- */

typedef struct sp_dataset sp_dataset;

/* Map and validate a dataset (header checksum, every table offset, the
 * index, labels < classes).  NULL with an error naming the file on any
 * problem. */
sp_dataset *sp_data_open(const char *path);
void sp_data_close(sp_dataset *d);

const char *sp_data_path(const sp_dataset *d);
int64_t sp_data_count(const sp_dataset *d);
int sp_data_classes(const sp_dataset *d);
const char *sp_data_class_name(const sp_dataset *d, int k);
/* Record size; height and width are 0 for JPEG records of varying size. */
int sp_data_height(const sp_dataset *d);
int sp_data_width(const sp_dataset *d);
int sp_data_channels(const sp_dataset *d);
int sp_data_encoding(const sp_dataset *d);                 /* SP_DATA_RAW / _JPEG */
/* Per-channel mean and standard deviation of the pixel values scaled to
 * [0, 1], over every pixel of every record (channels entries each). */
const float *sp_data_mean(const sp_dataset *d);
const float *sp_data_std(const sp_dataset *d);

int sp_data_label(const sp_dataset *d, int64_t i);          /* 0 <= i < count */
/* The stored bytes of record i (raw pixels or a JPEG file), in the map. */
const uint8_t *sp_data_record(const sp_dataset *d, int64_t i, size_t *len);

/* Check the records' checksum (reads the whole file).  0, or -1 with an
 * error. */
int sp_data_verify(const sp_dataset *d);

/* Decode record i of d into img (c = the dataset's channels).  With
 * min_side > 0 a JPEG is decoded at the smallest DCT scale (1, 1/2, 1/4, 1/8)
 * whose shorter side is still >= min_side: the caller resizes the rest.
 * Raw records are copied.  0, or -1 with an error naming the record. */
int sp_data_decode(const sp_dataset *d, int64_t i, int min_side, sp_image *img);

#endif
