/* cli_priv.h: what the files of common/cli share. */
#ifndef SP_CLI_PRIV_H
#define SP_CLI_PRIV_H

/* The progress bar leaves its line on stderr without a newline; every
 * message erases it first, so the two never share a line.  progress.c
 * reports a drawn line, and anything that writes to stderr erases it. */
void sp_cli_status_drawn(void);
void sp_cli_status_erase(void);

#endif
