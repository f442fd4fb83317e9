/* augment_priv.h: the per-thread state of sample preparation (augment.c),
 * shared with the loader's workers (loader.c). */
#ifndef SP_AUGMENT_PRIV_H
#define SP_AUGMENT_PRIV_H

#include "sp/loader.h"

typedef struct sp_augment_state {
    sp_image img;             /* decoded record */
    uint8_t *crop, *tmp;      /* u8 HWC working images */
    size_t crop_cap, tmp_cap;
} sp_augment_state;

int sp_augment_into(sp_augment_state *s, const sp_dataset *d, int64_t index,
                    const sp_loader_opts *o, int epoch, float *out);
void sp_augment_state_free(sp_augment_state *s);

#endif
