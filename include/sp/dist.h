/* dist.h: data-parallel training over several processes.
 *
 * A program started by mpirun (Open MPI's OMPI_COMM_WORLD_SIZE, or PMI's
 * PMI_SIZE, in its environment) joins the other processes with
 * sp_dist_init; started any other way it is the only one, and everything
 * here costs nothing.  MPI is reached through a plug-in (libsp-mpi.so,
 * common/train/dist_mpi.c), so the programs need no MPI library otherwise.
 *
 * What the processes share (sp-finetune(1), DATA-PARALLEL TRAINING): each
 * reads the same data in the same order and makes only its share of every
 * global batch (sp_dist_share; sp_loader_opts.part), for training and for
 * validation (whose counts the training loop sums); the training executor adds up, across the
 * processes, the batch norm statistics of each training forward, the loss
 * and every parameter gradient, so each process takes the same SGD step
 * and the weights stay equal everywhere; rank 0 alone writes outputs.
 * Device memory is summed with NCCL between GPUs when the CUDA backend
 * was built with it, else through the host with MPI. */
#ifndef SP_DIST_H
#define SP_DIST_H

#include <stddef.h>
#include "sp/backend.h"

/* Join the processes of an MPI launch (once; later calls return at once).
 * 0 on success or without a launch, -1 with an error. */
int sp_dist_init(void);
/* This process's number (0 alone) and the number of processes (1 alone). */
int sp_dist_rank(void);
int sp_dist_size(void);
/* The part [*lo, *hi) of a global batch of n that this process takes:
 * consecutive, sizes differing by at most one; -1 with an error when n is
 * smaller than the number of processes. */
int sp_dist_share(int n, int *lo, int *hi);
/* Sum n floats (is_double: doubles) of b's device memory in place over
 * every process; -1 with an error. */
int sp_dist_sum(sp_backend *b, void *x, size_t n, int is_double);
/* The same for host doubles. */
int sp_dist_sum_host(double *x, size_t n);
/* Leave the launch (at the end of main; nothing without one). */
void sp_dist_finish(void);
/* End every process of the launch with status (a process that fails
 * alone would leave the others waiting for it). */
void sp_dist_abort(int status);

#endif
