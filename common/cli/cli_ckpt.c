/* cli_ckpt.c: reading and writing checkpoints the way programs do: one
 * sentence and the exit status of cli.h on failure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sp/checkpoint.h"
#include "sp/cli.h"

sp_model *sp_ckpt_load_or_die(const char *path)
{
    FILE *f = sp_in_open(path);
    sp_model *m = sp_ckpt_read(f, sp_in_name(path));
    if (!m)
        sp_die("%s", sp_error());
    sp_in_close(f);
    return m;
}

void sp_ckpt_save_or_die(const sp_model *m, const char *path)
{
    sp_out *o = sp_out_open(path, 1);
    if (sp_ckpt_write(sp_out_file(o), m) < 0) {
        if (errno == EPIPE && (!path || strcmp(path, "-") == 0))
            exit(SP_EXIT_FAIL);     /* the reader went away: nothing to say */
        if (!path || strcmp(path, "-") == 0)
            sp_die("cannot write to standard output: %s", sp_error());
        sp_die("cannot write '%s': %s", path, sp_error());
    }
    sp_out_commit(o);
}
