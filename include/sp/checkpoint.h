/* checkpoint.h: a model's file form, the checkpoint (.spk, sp-checkpoint(5)),
 * read and written strictly sequentially so that it streams through pipes.
 * The reserved metadata keys are listed in model.h. */
#ifndef SP_CHECKPOINT_H
#define SP_CHECKPOINT_H

#include <stdio.h>
#include "sp/model.h"

/* Read a checkpoint strictly sequentially (works on pipes), validating
 * everything before trusting it; `what` names the input in messages. */
sp_model *sp_ckpt_read(FILE *f, const char *what);
/* The same for an input whose first nhead bytes a caller already read
 * (to tell a checkpoint from another format): they are taken as the start
 * of the checkpoint. */
sp_model *sp_ckpt_read_after(FILE *f, const char *what, const void *head, size_t nhead);
/* Write to f (sequential; the caller owns commit/rename). */
int sp_ckpt_write(FILE *f, const sp_model *m);

#endif
