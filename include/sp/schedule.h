/* schedule.h: learning-rate schedules. */
#ifndef SP_SCHEDULE_H
#define SP_SCHEDULE_H

#include <stdint.h>

typedef enum sp_schedule { SP_SCHED_STEP, SP_SCHED_COSINE } sp_schedule;

int sp_schedule_parse(const char *s, sp_schedule *k);
const char *sp_schedule_name(sp_schedule k);
/* The learning rate of global step `step` (0-based): step decay x0.1 at
 * every multiple of step_every epochs (0: floor(epochs/3), no decay if
 * that is 0), or cosine annealing per iteration to 0 over every step. */
double sp_schedule_lr(sp_schedule k, double lr, int64_t step, int64_t steps_per_epoch,
                      int epochs, int step_every);

#endif
