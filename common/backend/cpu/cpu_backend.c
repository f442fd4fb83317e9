/* cpu_backend.c: the "cpu" backend table.  The context holds the oneDNN
 * engine and stream, the plan cache and the scratch buffers; destroy
 * releases them all with the backend. */
#include <stdlib.h>
#include "sp/base.h"
#include "cpu_priv.h"
#include "../ref/ref_priv.h"

static void cpu_destroy(sp_backend *b)
{
    if (!b)
        return;
    sp_cpu_ctx *x = b->ctx;
    if (x) {
        sp_cpu_cache_clear(x);
        if (x->stream)
            dnnl_stream_destroy(x->stream);
        if (x->engine)
            dnnl_engine_destroy(x->engine);
        free(x);
    }
    free(b);
}

static void cpu_fill_table(sp_backend *b)
{
    b->alloc = sp_cpu_alloc;
    /* device memory is host memory, as in the reference backend */
    b->free = sp_ref_free;
    b->upload = sp_ref_upload;
    b->download = sp_ref_download;
    b->copy = sp_ref_copy;
    b->fill = sp_cpu_fill;
    b->accumulate = sp_cpu_accumulate;
    b->scale = sp_cpu_scale;
    b->sync = sp_ref_sync;
    b->destroy = cpu_destroy;
    b->conv_fwd = sp_cpu_conv_fwd;
    b->conv_fwd_act = sp_cpu_conv_fwd_act;
    b->conv_chain = sp_cpu_conv_chain;
    b->conv_fwd_own = sp_cpu_conv_fwd_own;
    b->nhwc.preferred = sp_cpu_conv_nhwc_preferred;
    b->nhwc.reorder = sp_cpu_nhwc_reorder;
    b->nhwc.conv_fwd = sp_cpu_conv_fwd_nhwc;
    b->nhwc.maxpool_fwd = sp_cpu_maxpool_fwd_nhwc;
    b->nhwc.avgpool_fwd = sp_cpu_avgpool_fwd_nhwc;
    b->nhwc.adaptive_avgpool_fwd = sp_cpu_adaptive_avgpool_fwd_nhwc;
    b->nhwc.pad_shortcut_fwd = sp_cpu_pad_shortcut_fwd_nhwc;
    b->nhwc.mask_fwd = sp_cpu_mask_fwd_nhwc;
    b->nhwc_train.conv_bwd_data = sp_cpu_conv_bwd_data_nhwc;
    b->nhwc_train.conv_bwd_filter = sp_cpu_conv_bwd_filter_nhwc;
    b->nhwc_train.bn_fwd_train = sp_cpu_bn_fwd_train_nhwc;
    b->nhwc_train.bn_fwd_saved = sp_cpu_bn_fwd_saved_nhwc;
    b->nhwc_train.bn_act_bwd = sp_cpu_bn_act_bwd_nhwc;
    b->nhwc_train.bn_bwd = sp_cpu_bn_bwd_nhwc;
    b->nhwc_train.bn_fwd_infer = sp_cpu_bn_fwd_infer_nhwc;
    b->nhwc_train.maxpool_fwd = sp_cpu_maxpool_fwd_train_nhwc;
    b->nhwc_train.maxpool_bwd = sp_cpu_maxpool_bwd_nhwc;
    b->nhwc_train.avgpool_bwd = sp_cpu_avgpool_bwd_nhwc;
    b->nhwc_train.adaptive_avgpool_bwd = sp_cpu_adaptive_avgpool_bwd_nhwc;
    b->nhwc_train.pad_shortcut_bwd = sp_cpu_pad_shortcut_bwd_nhwc;
    b->nhwc_train.mask_bwd = sp_cpu_mask_bwd_nhwc;
    b->nhwc_train.bn_sums = sp_cpu_bn_sums_nhwc;
    b->nhwc_train.bn_fwd_sums = sp_cpu_bn_fwd_sums_nhwc;
    b->nhwc_train.bn_bwd_sums = sp_cpu_bn_bwd_sums_nhwc;
    b->nhwc_train.bn_bwd_from_sums = sp_cpu_bn_bwd_from_sums_nhwc;
    b->conv_bwd_data = sp_cpu_conv_bwd_data;
    b->conv_bwd_filter = sp_cpu_conv_bwd_filter;
    b->bn_fwd_train = sp_cpu_bn_fwd_train;
    b->bn_fwd_infer = sp_cpu_bn_fwd_infer;
    b->bn_fwd_saved = sp_cpu_bn_fwd_saved;
    b->bn_act_bwd = sp_cpu_bn_act_bwd;
    b->bn_bwd = sp_cpu_bn_bwd;
    b->bn_sums = sp_cpu_bn_sums;
    b->bn_fwd_sums = sp_cpu_bn_fwd_sums;
    b->bn_bwd_sums = sp_cpu_bn_bwd_sums;
    b->bn_bwd_from_sums = sp_cpu_bn_bwd_from_sums;
    b->maxpool_ws_bytes = sp_cpu_maxpool_ws_bytes;
    b->maxpool_fwd = sp_cpu_maxpool_fwd;
    b->maxpool_bwd = sp_cpu_maxpool_bwd;
    b->avgpool_fwd = sp_cpu_avgpool_fwd;
    b->avgpool_bwd = sp_cpu_avgpool_bwd;
    b->adaptive_avgpool_fwd = sp_cpu_adaptive_avgpool_fwd;
    b->adaptive_avgpool_bwd = sp_cpu_adaptive_avgpool_bwd;
    b->linear_fwd = sp_cpu_linear_fwd;
    b->linear_bwd_data = sp_cpu_linear_bwd_data;
    b->linear_bwd_weight = sp_cpu_linear_bwd_weight;
    b->act_fwd = sp_cpu_act_fwd;
    b->act_bwd = sp_cpu_act_bwd;
    b->add_fwd = sp_cpu_add_fwd;
    b->mask_fwd = sp_cpu_mask_fwd;
    b->mask_bwd = sp_cpu_mask_bwd;
    b->pad_shortcut_fwd = sp_cpu_pad_shortcut_fwd;
    b->pad_shortcut_bwd = sp_cpu_pad_shortcut_bwd;
    b->dropout_fwd = sp_cpu_dropout_fwd;
    b->dropout_bwd = sp_cpu_dropout_bwd;
    b->xent = sp_cpu_xent;
    b->sgd = sp_cpu_sgd;
    b->fill_normal = sp_cpu_fill_normal;
    b->conn_sens = sp_cpu_conn_sens;
}

sp_backend *sp_cpu_backend_create(void)
{
    sp_cpu_ctx *x = sp_xcalloc(1, sizeof *x);
    if (dnnl_engine_create(&x->engine, dnnl_cpu, 0) != dnnl_success) {
        free(x);
        sp_errorf("cannot create the oneDNN CPU engine");
        return NULL;
    }
    if (dnnl_stream_create(&x->stream, x->engine, dnnl_stream_default_flags) != dnnl_success) {
        dnnl_engine_destroy(x->engine);
        free(x);
        sp_errorf("cannot create the oneDNN CPU stream");
        return NULL;
    }
    sp_backend *b = sp_xcalloc(1, sizeof *b);
    b->name = "cpu";
    b->ctx = x;
    cpu_fill_table(b);
    return b;
}
