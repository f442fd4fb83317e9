/* ref_backend.c: the "ref" backend's operation table.  It has no state of
 * its own: every operation works on host memory and finishes before it
 * returns. */
#include "sp/base.h"
#include "ref_priv.h"

sp_backend *sp_ref_backend_create(void)
{
    sp_backend *b = sp_xcalloc(1, sizeof(*b));
    b->name = "ref";
    b->ctx = NULL;

    b->alloc = sp_ref_alloc;
    b->free = sp_ref_free;
    b->upload = sp_ref_upload;
    b->download = sp_ref_download;
    b->copy = sp_ref_copy;
    b->fill = sp_ref_fill;
    b->accumulate = sp_ref_accumulate;
    b->scale = sp_ref_scale;
    b->sync = sp_ref_sync;
    b->destroy = sp_ref_destroy;

    b->conv_fwd = sp_ref_conv_fwd;
    b->conv_fwd_act = sp_ref_conv_fwd_act;
    b->conv_bwd_data = sp_ref_conv_bwd_data;
    b->conv_bwd_filter = sp_ref_conv_bwd_filter;

    b->bn_fwd_train = sp_ref_bn_fwd_train;
    b->bn_fwd_infer = sp_ref_bn_fwd_infer;
    b->bn_fwd_saved = sp_ref_bn_fwd_saved;
    b->bn_act_bwd = sp_ref_bn_act_bwd;
    b->bn_bwd = sp_ref_bn_bwd;

    b->maxpool_ws_bytes = sp_ref_maxpool_ws_bytes;
    b->maxpool_fwd = sp_ref_maxpool_fwd;
    b->maxpool_bwd = sp_ref_maxpool_bwd;
    b->avgpool_fwd = sp_ref_avgpool_fwd;
    b->avgpool_bwd = sp_ref_avgpool_bwd;
    b->adaptive_avgpool_fwd = sp_ref_adaptive_avgpool_fwd;
    b->adaptive_avgpool_bwd = sp_ref_adaptive_avgpool_bwd;

    b->linear_fwd = sp_ref_linear_fwd;
    b->linear_bwd_data = sp_ref_linear_bwd_data;
    b->linear_bwd_weight = sp_ref_linear_bwd_weight;

    b->act_fwd = sp_ref_act_fwd;
    b->act_bwd = sp_ref_act_bwd;
    b->add_fwd = sp_ref_add_fwd;
    b->mask_fwd = sp_ref_mask_fwd;
    b->mask_bwd = sp_ref_mask_bwd;
    b->pad_shortcut_fwd = sp_ref_pad_shortcut_fwd;
    b->pad_shortcut_bwd = sp_ref_pad_shortcut_bwd;
    b->dropout_fwd = sp_ref_dropout_fwd;
    b->dropout_bwd = sp_ref_dropout_bwd;

    b->xent = sp_ref_xent;
    b->sgd = sp_ref_sgd;
    b->fill_normal = sp_ref_fill_normal;
    b->conn_sens = sp_ref_conn_sens;
    return b;
}
