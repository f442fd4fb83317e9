/* dist_mpi.c: the MPI plug-in, libsp-mpi.so (built with mpicc where it is
 * found; see dist_plugin_priv.h).  Counts above INT_MAX go in pieces. */
#include <limits.h>
#include <stdio.h>
#include <mpi.h>
#include "dist_plugin_priv.h"

#define PIECE ((size_t)1 << 28)

static int init(int *rank, int *size, char *err, size_t len)
{
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready && MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        snprintf(err, len, "cannot join the other processes of the launch (MPI_Init failed)");
        return -1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    return 0;
}

static int sum(void *x, size_t n, MPI_Datatype t, size_t width)
{
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    for (size_t done = 0; done < n; done += PIECE) {
        int k = (int)(n - done < PIECE ? n - done : PIECE);
        char *p = (char *)x + done * width;
        if (MPI_Reduce(rank == 0 ? MPI_IN_PLACE : p, p, k, t, MPI_SUM, 0, MPI_COMM_WORLD) !=
                MPI_SUCCESS ||
            MPI_Bcast(p, k, t, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
            return -1;
    }
    return 0;
}

static int sum_float(float *x, size_t n)
{
    return sum(x, n, MPI_FLOAT, sizeof *x);
}

static int sum_double(double *x, size_t n)
{
    return sum(x, n, MPI_DOUBLE, sizeof *x);
}

static int bcast(void *x, size_t bytes)
{
    for (size_t done = 0; done < bytes; done += PIECE) {
        int k = (int)(bytes - done < PIECE ? bytes - done : PIECE);
        if (MPI_Bcast((char *)x + done, k, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
            return -1;
    }
    return 0;
}

static void finish(void)
{
    int done = 0;
    MPI_Finalized(&done);
    if (!done)
        MPI_Finalize();
}

static void abort_all(int status)
{
    MPI_Abort(MPI_COMM_WORLD, status);
}

__attribute__((visibility("default"))) extern const sp_mpi_plugin sp_mpi_plugin_table;
const sp_mpi_plugin sp_mpi_plugin_table = {SP_MPI_PLUGIN_VERSION, init, sum_float, sum_double,
                                           bcast, finish, abort_all};
