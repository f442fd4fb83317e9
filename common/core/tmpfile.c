/* tmpfile.c: temporary output names and the removal of those a killed run
 * left behind (tmpfile.h). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sp/base.h"
#include "sp/tmpfile.h"

char *sp_tmp_name(const char *path)
{
    return sp_xasprintf("%s.tmp-%ld", path, (long)getpid());
}

/* The pid in NAME when it is BASE.tmp-PID, else 0. */
static long tmp_pid(const char *name, const char *base, size_t nbase)
{
    if (strncmp(name, base, nbase) != 0 || strncmp(name + nbase, ".tmp-", 5) != 0)
        return 0;
    const char *digits = name + nbase + 5;
    char *end;
    errno = 0;
    long pid = strtol(digits, &end, 10);
    return *digits && !*end && !errno && pid > 0 ? pid : 0;
}

void sp_tmp_sweep(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? sp_xasprintf("%.*s", (int)(slash - path + 1), path) : sp_xstrdup(".");
    const char *base = slash ? slash + 1 : path;
    size_t nbase = strlen(base);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && nbase && (e = readdir(d))) {
        long pid = tmp_pid(e->d_name, base, nbase);
        if (pid && pid != (long)getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
            char *stale = sp_xasprintf("%s%s", slash ? dir : "", e->d_name);
            unlink(stale);
            free(stale);
        }
    }
    if (d)
        closedir(d);
    free(dir);
}
