/* cli_norm.c: the normalisation options of the programs that write a new
 * network (sp-init, sp-import): --norm NAME, --norm-from FILE.spd,
 * --mean and --std, applied over the network's default (see cli.h). */
#include <stdlib.h>
#include <string.h>

#include "sp/cli.h"
#include "sp/data.h"
#include "sp/preproc.h"

/* "imagenet, cifar10, ..." for the unknown-name message. */
static char *preset_names(void)
{
    size_t n = 1;
    for (const sp_norm_preset *p = sp_norm_presets(); p->name; p++)
        n += strlen(p->name) + 2;
    char *s = sp_xcalloc(1, n);
    for (const sp_norm_preset *p = sp_norm_presets(); p->name; p++) {
        if (*s)
            strcat(s, ", ");
        strcat(s, p->name);
    }
    return s;
}

void sp_cli_norm_check(const sp_cli_norm *n)
{
    if (n->preset && n->from)
        sp_die_usage("--norm and --norm-from both name a normalisation; give one");
    if (n->preset && !sp_norm_preset_lookup(n->preset))
        sp_die_usage("unknown normalisation '%s' (known: %s)", n->preset, preset_names());
}

void sp_cli_norm_apply(struct sp_model *m, const sp_cli_norm *n)
{
    sp_preproc p;
    if (sp_preproc_get(m, NULL, &p) < 0)
        sp_die("%s", sp_error());
    if (n->preset && sp_preproc_use_preset(&p, n->preset) < 0)
        sp_die_usage("--norm %s: %s", n->preset, sp_error());
    if (n->from) {
        sp_dataset *d = sp_data_open_or_die(n->from);
        if (sp_preproc_use_dataset(&p, d) < 0)
            sp_die("%s", sp_error());
        sp_data_close(d);
    }
    if (sp_preproc_override(&p, n->mean, n->std, sp_progname()) < 0)
        sp_die_usage("%s", sp_error());
    sp_preproc_set_norm(m, &p);
}
