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
 * the program goes on with the runtime's default.  A mark beside it tells
 * the restarted program that the policy is its own choice, for --verbose
 * (cli_verbose.c); the restarted program takes the mark out again. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sp/cli.h"
#include "cli_priv.h"

#define POLICY "OMP_WAIT_POLICY="
#define MARK "SP_WAIT_POLICY_SET=1"
#define MAX_ENV 4096

static int policy_is_ours;        /* this run's OMP_WAIT_POLICY is sp's */
static int threads_given;         /* --threads */
static int shared_by;             /* processes sharing the machine's cores */

/* Take the mark out of the environment; 1 when it was there. */
static int take_mark(char **envp)
{
    for (char **e = envp; e && *e; e++)
        if (strcmp(*e, MARK) == 0) {
            do
                e[0] = e[1];
            while (*e++);
            return 1;
        }
    return 0;
}

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
    policy_is_ours = take_mark(envp);
    if (set_by_user(envp))
        return;
    static char *env[MAX_ENV + 3];
    int n = 0;
    for (char **e = envp; e && *e; e++) {
        if (n == MAX_ENV)
            return;
        env[n++] = *e;
    }
    env[n++] = (char *)POLICY "passive";
    env[n++] = (char *)MARK;
    env[n] = NULL;
    execve("/proc/self/exe", argv, env);
}

__attribute__((section(".preinit_array"), used))
static void (*const restart_p)(int, char **, char **) = restart_with_policy;

void sp_cli_threads(int n)
{
    if (n)
        omp_set_num_threads(n);
    threads_given = n > 0;
}

void sp_cli_threads_share(int processes)
{
    int n = omp_get_num_procs() / processes;
    omp_set_num_threads(n > 0 ? n : 1);
    shared_by = processes;
}

void sp_cli_threads_origin(char *buf, size_t n)
{
    if (threads_given)
        snprintf(buf, n, "from --threads");
    else if (shared_by)
        snprintf(buf, n, "the machine's %d cores shared by its %d processes",
                 omp_get_num_procs(), shared_by);
    else if (getenv("OMP_NUM_THREADS"))
        snprintf(buf, n, "from OMP_NUM_THREADS");
    else
        snprintf(buf, n, "all the cores this process may use");
}

void sp_cli_wait_policy(char *buf, size_t n)
{
    const char *policy = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
    if (policy_is_ours && policy)
        snprintf(buf, n, "sleep at once (OMP_WAIT_POLICY=%s, set by sp)", policy);
    else if (policy && spin)
        snprintf(buf, n, "OMP_WAIT_POLICY=%s, GOMP_SPINCOUNT=%s (from the environment)", policy,
                 spin);
    else if (policy || spin)
        snprintf(buf, n, "%s=%s (from the environment)",
                 policy ? "OMP_WAIT_POLICY" : "GOMP_SPINCOUNT", policy ? policy : spin);
    else
        snprintf(buf, n, "the OpenMP runtime's default (spin a while, then sleep)");
}
