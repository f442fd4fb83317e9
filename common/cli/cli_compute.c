/* cli_compute.c: the set-up every program that runs a network repeats:
 * datasets, backend, preprocessing, the resume state (see
 * cli.h).  Each dies with the library's sentence, as every program did. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sp/backend.h"
#include "sp/cli.h"
#include "sp/data.h"
#include "sp/dist.h"
#include "sp/preproc.h"
#include "cli_priv.h"

static int dist_ended;

/* A process that exits before sp_cli_dist_end (sp_die) ends the others. */
static void dist_exit(void)
{
    if (dist_ended)
        sp_dist_finish();
    else
        sp_dist_abort(1);
}

void sp_cli_dist_end(void)
{
    dist_ended = 1;
    sp_dist_finish();
}

int sp_cli_dist(int threads, const char *input)
{
    if (sp_dist_init() < 0)
        sp_die("%s", sp_error());
    if (sp_dist_size() < 2)
        return 0;
    atexit(dist_exit);
    if (sp_dist_rank() > 0 && (!input || strcmp(input, "-") == 0))
        sp_die_usage("under mpirun the input checkpoint must be a FILE operand: only the "
                     "first process reads standard input");
    /* the processes of one machine share its cores */
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    int share = local ? atoi(local) : 1;
    if (threads == 0 && share > 1)
        sp_cli_threads_share(share);
    return sp_dist_rank();
}

sp_dataset *sp_data_open_or_die(const char *path)
{
    sp_dataset *d = sp_data_open(path);
    if (!d)
        sp_die("%s", sp_error());
    sp_cli_input(path);
    return d;
}

sp_backend *sp_backend_create_or_die(const char *device)
{
    sp_backend *b = sp_backend_create(device);
    if (!b)
        sp_die("%s", sp_error());
    return b;
}

void sp_preproc_or_die(sp_preproc *pre, const sp_model *m, const sp_dataset *d,
                       const char *input, const char *mean, const char *std)
{
    if (sp_preproc_get(m, d, pre) < 0)
        sp_die("%s: %s", sp_in_name(input), sp_error());
    if (sp_preproc_override(pre, mean, std, sp_progname()) < 0)
        sp_die_usage("%s", sp_error());
}

char *sp_cli_resume_state(const char *output, int *resume)
{
    if (!output || strcmp(output, "-") == 0)
        return NULL;
    sp_out_check(output);
    char *state = sp_xasprintf("%s.resume", output);
    if (*resume && access(state, F_OK) != 0)
        *resume = 0;
    return state;
}
