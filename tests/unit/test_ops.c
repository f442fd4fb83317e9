/* test_ops.c: the table of graph operations (common/model/ops.c) and the
 * shared output-size formula.  The table's users (inference, JSON,
 * counting, channel groups, import) rely on the invariants checked here, so
 * a new entry that breaks one fails here first, by name. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "sp/base.h"
#include "sp/backend.h"
#include "sp/graph.h"
#include "model/ops_priv.h"
#include "testlib.h"

static void test_entries(void)
{
    for (int i = 0; i < SP_OP_COUNT; i++) {
        const sp_op_desc *d = sp_op_desc_of((sp_op)i);
        char name[64];
        snprintf(name, sizeof name, "entry_%d", i);
        if (!CHECKF(d && d->name && d->name[0], name, "op %d has no entry", i))
            continue;
        snprintf(name, sizeof name, "entry_%s", d->name);
        CHECKF(d->inputs >= 0 && d->inputs <= 2 && (d->inputs == 0) == (i == SP_OP_INPUT),
               name, "inputs %d: only the input has none, none has more than two", d->inputs);
        CHECKF(!(d->chan & SP_CHAN_OWNS) || (d->chan & SP_CHAN_PASS), name,
               "owns per-channel tensors without passing channels through");
        CHECKF(!(d->chan & (SP_CHAN_FLAT_OK | SP_CHAN_TIED)) || (d->chan & SP_CHAN_LAYER),
               name, "FLAT_OK or TIED without LAYER");
        /* the importer reads a layer's width from dimension 0 of its weight */
        sp_node n;
        sp_param_info p[SP_OP_PARAMS_MAX];
        memset(&n, 0, sizeof n);
        n.op = (sp_op)i;
        snprintf(n.name, sizeof n.name, "x");
        n.cin = n.cout = n.kh = n.kw = n.groups = n.bias = 1;
        int np = d->params ? d->params(&n, p) : 0;
        int weight = 0;
        for (int k = 0; k < np; k++)
            weight |= p[k].kind == SP_P_WEIGHT;
        CHECKF(np <= SP_OP_PARAMS_MAX && (!weight || (d->attrs & (SP_ATTR_COUT |
                                                                  SP_ATTR_CHANNELS))),
               name, "%d parameters; a weight needs a cout or channels attribute", np);
    }
    CHECK(sp_op_desc_of(SP_OP_COUNT) == NULL && sp_op_desc_of((sp_op)-1) == NULL &&
          strcmp(sp_op_name(SP_OP_COUNT), "?") == 0, "entry_out_of_range");
}

static void test_window_out(void)
{
    CHECK(sp_window_out(32, 3, 1, 1) == 32, "window_same");
    CHECK(sp_window_out(224, 7, 2, 3) == 112, "window_stem");
    CHECK(sp_window_out(7, 3, 2, 0) == 3, "window_floor");
    CHECK(sp_window_out(2, 3, 1, 0) == 0, "window_no_fit");
    CHECK(sp_window_out(1, 4, 2, 0) == -1, "window_floor_below_zero");
    CHECK(sp_window_out(5, 3, 0, 1) == 0, "window_stride_zero");
    /* the option-A shortcut: every second row of 5 is rows 0, 2, 4 */
    CHECK(sp_window_out(5, 1, 2, 0) == 3, "window_shortcut");
    CHECK(sp_window_out(INT_MAX, 1, 1, INT_MAX / 2) == INT_MAX, "window_no_overflow");
    sp_conv_shape c = { .h = 9, .w = 8, .kh = 3, .kw = 2, .sh = 2, .sw = 3, .ph = 1, .pw = 0 };
    sp_conv_shape_out(&c);
    sp_pool_shape p = { .h = 9, .w = 8, .kh = 3, .kw = 2, .sh = 2, .sw = 3, .ph = 1, .pw = 0 };
    sp_pool_shape_out(&p);
    CHECK(c.oh == 5 && c.ow == 3 && p.oh == 5 && p.ow == 3, "window_backend_shapes");
}

static void test_describe(void)
{
    sp_node n;
    char buf[160];
    memset(&n, 0, sizeof n);
    n.op = SP_OP_CONV;
    n.cin = n.cout = n.groups = 8;
    n.kh = n.kw = 3;
    n.sh = n.sw = n.ph = n.pw = 1;
    sp_node_describe(&n, buf, sizeof buf);
    CHECKF(strcmp(buf, "8->8 k3x3 s1x1 p1x1 depthwise") == 0, "describe_conv", "'%s'", buf);
    n.op = SP_OP_RELU;
    sp_node_describe(&n, buf, sizeof buf);
    CHECKF(buf[0] == 0, "describe_relu", "'%s'", buf);
    n.op = SP_OP_COUNT;
    sp_node_describe(&n, buf, sizeof buf);
    CHECKF(buf[0] == 0, "describe_unknown", "'%s'", buf);
}

static void test_chan(void)
{
    sp_node n;
    memset(&n, 0, sizeof n);
    n.op = SP_OP_CONV;
    n.cin = n.cout = n.groups = 8;
    CHECK(sp_op_chan(&n) == (SP_CHAN_PASS | SP_CHAN_OWNS), "chan_depthwise");
    n.groups = 2;
    CHECK(sp_op_chan(&n) == (SP_CHAN_LAYER | SP_CHAN_TIED), "chan_grouped");
    n.groups = 1;
    CHECK(sp_op_chan(&n) == SP_CHAN_LAYER, "chan_conv");
    n.op = SP_OP_ADD;
    CHECK(sp_op_chan(&n) == 0, "chan_add");
    n.op = SP_OP_COUNT;
    CHECK(sp_op_chan(&n) == 0, "chan_unknown");
}

int main(void)
{
    test_entries();
    test_window_out();
    test_describe();
    test_chan();
    return t_done();
}
