/* dist_plugin_priv.h: what the MPI plug-in (libsp-mpi.so, dist_mpi.c) and
 * the library that opens it (dist.c) agree on.  Every sum is a reduction
 * to rank 0 followed by a broadcast, so all processes hold the same bits
 * (an all-reduce may add in a different order on each). */
#ifndef SP_DIST_PLUGIN_PRIV_H
#define SP_DIST_PLUGIN_PRIV_H

#include <stddef.h>

#define SP_MPI_PLUGIN_VERSION 1
#define SP_MPI_PLUGIN_NAME "libsp-mpi.so"
#define SP_MPI_PLUGIN_SYMBOL "sp_mpi_plugin_table"

typedef struct sp_mpi_plugin {
    int version;
    /* MPI_Init; rank and size; 0, or -1 with a sentence in err */
    int (*init)(int *rank, int *size, char *err, size_t len);
    int (*sum_float)(float *x, size_t n);
    int (*sum_double)(double *x, size_t n);
    int (*bcast)(void *x, size_t bytes);          /* from rank 0 */
    void (*finish)(void);
    void (*abort_all)(int status);                /* ends every process */
} sp_mpi_plugin;

#endif
