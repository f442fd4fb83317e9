/* schedule.c: learning-rate schedules (sp-method(7), FINE-TUNING). */
#include <math.h>
#include <string.h>

#include "sp/train.h"

int sp_schedule_parse(const char *s, sp_schedule *k)
{
    if (strcmp(s, "step") == 0)
        *k = SP_SCHED_STEP;
    else if (strcmp(s, "cosine") == 0)
        *k = SP_SCHED_COSINE;
    else
        return -1;
    return 0;
}

const char *sp_schedule_name(sp_schedule k)
{
    return k == SP_SCHED_COSINE ? "cosine" : "step";
}

double sp_schedule_lr(sp_schedule k, double lr, int64_t step, int64_t steps_per_epoch,
                      int epochs, int step_every)
{
    if (k == SP_SCHED_COSINE) {
        /* as CosineAnnealingLR stepped every iteration, eta_min 0 */
        double total = (double)steps_per_epoch * epochs;
        return total > 0 ? 0.5 * lr * (1.0 + cos(M_PI * (double)step / total)) : lr;
    }
    if (step_every <= 0)
        step_every = epochs / 3;
    if (step_every <= 0 || steps_per_epoch <= 0)
        return lr;
    int64_t drops = step / steps_per_epoch / step_every;
    return lr * pow(0.1, (double)drops);
}
