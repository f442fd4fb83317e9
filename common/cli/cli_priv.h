/* cli_priv.h: what the files of common/cli share. */
#ifndef SP_CLI_PRIV_H
#define SP_CLI_PRIV_H

#include <stddef.h>

/* The progress bar leaves its line on stderr without a newline; every
 * message erases it first, so the two never share a line.  progress.c
 * reports a drawn line, and anything that writes to stderr erases it. */
void sp_cli_status_drawn(void);
void sp_cli_status_erase(void);

/* The compute threads (cli_threads.c): under mpirun, the machine's cores
 * shared by its processes; and for --verbose (cli_verbose.c), a few words
 * on where their number came from and how idle threads wait. */
void sp_cli_threads_share(int processes);
void sp_cli_threads_origin(char *buf, size_t n);
void sp_cli_wait_policy(char *buf, size_t n);

#endif
