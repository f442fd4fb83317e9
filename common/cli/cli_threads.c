/* cli_threads.c: the compute threads of a program that runs a network,
 * and how they wait when idle, chosen before the OpenMP runtime starts.
 *
 * By default an idle thread spins for a while before it sleeps.  On a
 * machine where other work shares the cores, the spinning threads take
 * the cores from the threads with work to do, and a pass can run several
 * times slower.  Sleeping at once costs little on an idle machine, so a
 * program that computes asks for it unless the user chose otherwise.
 *
 * The runtime reads its settings from the environment while it loads,
 * before main() runs and before the C library's environment can be
 * changed.  So the executable's first initialiser (.preinit_array, which
 * runs before any shared library's) starts the program again with
 * OMP_WAIT_POLICY=passive added to its environment, once; if that fails,
 * the program goes on with the runtime's default. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sp/cli.h"

#define POLICY "OMP_WAIT_POLICY="
#define MAX_ENV 4096

static int set_by_user(char **envp)
{
    for (char **e = envp; e && *e; e++)
        if (strncmp(*e, POLICY, sizeof POLICY - 1) == 0 ||
            strncmp(*e, "GOMP_SPINCOUNT=", 15) == 0)
            return 1;
    return 0;
}

static void restart_with_policy(int argc, char **argv, char **envp)
{
    (void)argc;
    if (set_by_user(envp))
        return;
    static char *env[MAX_ENV + 2];
    int n = 0;
    for (char **e = envp; e && *e; e++) {
        if (n == MAX_ENV)
            return;
        env[n++] = *e;
    }
    env[n++] = (char *)POLICY "passive";
    env[n] = NULL;
    execve("/proc/self/exe", argv, env);
}

__attribute__((section(".preinit_array"), used))
static void (*const restart_p)(int, char **, char **) = restart_with_policy;

void sp_cli_threads(int n)
{
    if (n)
        omp_set_num_threads(n);
}
