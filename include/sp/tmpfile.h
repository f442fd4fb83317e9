/* tmpfile.h: the temporary names under which outputs are written before
 * they are renamed to their final name. */
#ifndef SP_TMPFILE_H
#define SP_TMPFILE_H

/* "PATH.tmp-PID" for this process (free it). */
char *sp_tmp_name(const char *path);

/* Remove the temporaries of PATH left by processes that no longer run (a
 * run killed with SIGKILL has no chance to remove its own); those of
 * running processes are left alone.  Best effort: errors are ignored. */
void sp_tmp_sweep(const char *path);

#endif
