/* clock.h: the clock of the bench programs that time sp against itself.
 * Wall time, or with SP_BENCH_CLOCK=cpu the process's CPU time: on a busy
 * machine a one-thread run's CPU time still compares two versions. */
#ifndef SP_BENCH_CLOCK_H
#define SP_BENCH_CLOCK_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    const char *clock = getenv("SP_BENCH_CLOCK");
    clock_gettime(clock && !strcmp(clock, "cpu") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC,
                  &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
