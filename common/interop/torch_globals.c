/* torch_globals.c: what the pickle machine does with globals.
 *
 * A state_dict pickle names a few Python functions and classes: the
 * OrderedDict it is, torch's tensor rebuild functions, the storage types
 * of its persistent references.  They are recognised by name and turned
 * into data (a dict, a tensor view of a storage); they are never imported
 * or called.  A class of torch.nn, or any class that gets instantiated,
 * is a pickled model and is refused with the advice to save its
 * state_dict; any other function is refused at once. */
#include <stdlib.h>
#include <string.h>
#include "sp/torch.h"
#include "torch_priv.h"

typedef enum gkind {
    G_ORDERED_DICT, G_REBUILD_V2, G_REBUILD, G_PARAMETER, G_STORAGE, G_OPAQUE
} gkind;

static const struct allowed {
    const char *name;
    gkind kind;
    sp_dtype dtype;
} allowed[] = {
    { "collections.OrderedDict", G_ORDERED_DICT, SP_F32 },
    { "torch._utils._rebuild_tensor_v2", G_REBUILD_V2, SP_F32 },
    { "torch._utils._rebuild_tensor", G_REBUILD, SP_F32 },
    { "torch._utils._rebuild_parameter", G_PARAMETER, SP_F32 },
    { "torch._utils._rebuild_parameter_with_state", G_PARAMETER, SP_F32 },
    { "torch.FloatStorage", G_STORAGE, SP_F32 },
    { "torch.HalfStorage", G_STORAGE, SP_F16 },
    { "torch.BFloat16Storage", G_STORAGE, SP_BF16 },
    { "torch.DoubleStorage", G_STORAGE, SP_F64 },
    { "torch.LongStorage", G_STORAGE, SP_I64 },
    { "torch.IntStorage", G_STORAGE, SP_I32 },
    { "torch.ByteStorage", G_STORAGE, SP_U8 },
    { "torch.BoolStorage", G_STORAGE, SP_U8 },
    /* numbers saved beside a state_dict (best accuracy, epoch) */
    { "numpy.core.multiarray.scalar", G_OPAQUE, SP_F32 },
    { "numpy.dtype", G_OPAQUE, SP_F32 },
    { "_codecs.encode", G_OPAQUE, SP_F32 },
};

static const struct allowed *allowed_find(const char *name)
{
    for (size_t i = 0; i < SP_COUNT(allowed); i++)
        if (strcmp(allowed[i].name, name) == 0)
            return &allowed[i];
    return NULL;
}

static int is_class_name(const char *full)
{
    const char *dot = strrchr(full, '.');
    const char *last = dot ? dot + 1 : full;
    return *last >= 'A' && *last <= 'Z';
}

static int refuse_module(sp_pkvm *m, const char *cls)
{
    return sp_errorf("'%s' holds a pickled Python object of class %s (a whole model?), "
                     "not a state_dict: save model.state_dict() with torch.save instead",
                     m->what, cls);
}

/* A GLOBAL: allowed names become data; a class of torch.nn is a pickled
 * module; other classes are kept as inert names (refused if called or
 * instantiated); any other function is refused at once. */
static int push_global(sp_pkvm *m, const char *module, const char *name)
{
    char *full = sp_xasprintf("%s.%s", module, name);
    int rc = 0;
    if (allowed_find(full) || (is_class_name(full) && strncmp(full, "torch.nn.", 9) != 0)) {
        sp_pk_value *v = sp_pkvm_value(m, SP_PK_GLOBAL);
        v->s = full;
        v->i = allowed_find(full) == NULL;
        return sp_pkvm_push(m, v);
    }
    if (strncmp(full, "torch.nn.", 9) == 0)
        rc = refuse_module(m, full);
    else
        rc = sp_errorf("'%s': refusing a pickle that refers to %s: a state_dict needs "
                       "only tensors, and sp never runs code from a file", m->what, full);
    free(full);
    return rc;
}

int sp_pkvm_global(sp_pkvm *m)
{
    const unsigned char *a = m->p, *nl1 = memchr(a, '\n', (size_t)(m->end - a));
    if (!nl1)
        return sp_errorf("'%s': truncated pickle at byte %zu", m->what, sp_pkvm_pos(m));
    const unsigned char *b = nl1 + 1, *nl2 = memchr(b, '\n', (size_t)(m->end - b));
    if (!nl2)
        return sp_errorf("'%s': truncated pickle at byte %zu", m->what, sp_pkvm_pos(m));
    char *module = sp_xasprintf("%.*s", (int)(nl1 - a), (const char *)a);
    char *name = sp_xasprintf("%.*s", (int)(nl2 - b), (const char *)b);
    m->p = nl2 + 1;
    int rc = push_global(m, module, name);
    free(module);
    free(name);
    return rc;
}

int sp_pkvm_stack_global(sp_pkvm *m)
{
    sp_pk_value *name = sp_pkvm_pop(m), *module = name ? sp_pkvm_pop(m) : NULL;
    if (!module)
        return -1;
    if (name->kind != SP_PK_STR || module->kind != SP_PK_STR)
        return sp_errorf("'%s': corrupt pickle: STACK_GLOBAL on non-strings", m->what);
    return push_global(m, module->s, name->s);
}

/* ---- persistent storages and tensor rebuilds ---- */

static int int_tuple(const sp_pk_value *t, int64_t *out, int max, int *n)
{
    if (!t || t->kind != SP_PK_TUPLE || t->n > max)
        return -1;
    for (int i = 0; i < t->n; i++) {
        if (t->item[i]->kind != SP_PK_INT)
            return -1;
        out[i] = t->item[i]->i;
    }
    *n = t->n;
    return 0;
}

/* ('storage', StorageType, key, location, numel[, view_metadata]) */
int sp_pkvm_persid(sp_pkvm *m)
{
    sp_pk_value *pid = sp_pkvm_pop(m);
    if (!pid)
        return -1;
    sp_pk_value **it = pid->item;
    /* the legacy format saves a pickled module's class with its source */
    if (pid->kind == SP_PK_TUPLE && pid->n >= 2 && it[0]->kind == SP_PK_STR &&
        strcmp(it[0]->s, "module") == 0)
        return refuse_module(m, it[1]->kind == SP_PK_GLOBAL ? it[1]->s : "nn.Module");
    if (pid->kind != SP_PK_TUPLE || pid->n < 5 || pid->n > 6 || it[0]->kind != SP_PK_STR ||
        strcmp(it[0]->s, "storage") != 0 || it[1]->kind != SP_PK_GLOBAL ||
        it[2]->kind != SP_PK_STR || it[4]->kind != SP_PK_INT)
        return sp_errorf("'%s': unsupported persistent reference in the pickle at byte %zu "
                         "(only tensor storages are read)", m->what, sp_pkvm_pos(m));
    const struct allowed *a = allowed_find(it[1]->s);
    if (!a || a->kind != G_STORAGE)
        return sp_errorf("'%s': unsupported storage type %s", m->what, it[1]->s);
    sp_pk_value *st = sp_pkvm_value(m, SP_PK_STORAGE);
    st->s = sp_xstrdup(it[2]->s);
    st->dtype = a->dtype;
    st->i = it[4]->i;
    if (pid->n == 6 && it[5]->kind != SP_PK_NONE) {
        const sp_pk_value *vmd = it[5];
        if (vmd->kind != SP_PK_TUPLE || vmd->n != 3 || vmd->item[1]->kind != SP_PK_INT ||
            vmd->item[2]->kind != SP_PK_INT)
            return sp_errorf("'%s': corrupt storage view in the pickle", m->what);
        st->offset = vmd->item[1]->i;
        st->i = vmd->item[2]->i;
    }
    if (st->i < 0 || st->offset < 0)
        return sp_errorf("'%s': storage '%s' has a negative size", m->what, st->s);
    sp_pickle *pk = m->pk;
    if (pk->nstorage == pk->capstorage) {
        pk->capstorage = pk->capstorage ? 2 * pk->capstorage : 64;
        pk->storage = sp_xrealloc(pk->storage, (size_t)pk->capstorage * sizeof(*pk->storage));
    }
    pk->storage[pk->nstorage++] = st;
    return sp_pkvm_push(m, st);
}

static int rebuild_tensor(sp_pkvm *m, const sp_pk_value *args, int min_args)
{
    if (args->n < min_args || args->item[0]->kind != SP_PK_STORAGE ||
        args->item[1]->kind != SP_PK_INT)
        return sp_errorf("'%s': malformed tensor record in the pickle at byte %zu", m->what, sp_pkvm_pos(m));
    sp_pk_value *t = sp_pkvm_value(m, SP_PK_TENSOR);
    int ns = 0, nt = 0;
    if (int_tuple(args->item[2], t->shape, SP_MAX_DIMS, &ns) < 0 ||
        int_tuple(args->item[3], t->stride, SP_MAX_DIMS, &nt) < 0 || ns != nt)
        return sp_errorf("'%s': unsupported tensor shape in the pickle at byte %zu "
                         "(at most %d dimensions are read)", m->what, sp_pkvm_pos(m), SP_MAX_DIMS);
    t->ndim = ns;
    t->storage = args->item[0];
    t->dtype = t->storage->dtype;
    t->offset = args->item[1]->i;
    return sp_pkvm_push(m, t);
}

int sp_pkvm_reduce(sp_pkvm *m)
{
    sp_pk_value *args = sp_pkvm_pop(m), *fn = args ? sp_pkvm_pop(m) : NULL;
    if (!fn)
        return -1;
    if (fn->kind != SP_PK_GLOBAL)
        return sp_errorf("'%s': refusing REDUCE on a non-function at byte %zu", m->what, sp_pkvm_pos(m));
    const struct allowed *a = allowed_find(fn->s);
    if (!a || a->kind == G_STORAGE)
        return sp_errorf("'%s': refusing to call %s from the pickle: a state_dict never "
                         "needs it, and sp never runs code from a file", m->what, fn->s);
    if (args->kind != SP_PK_TUPLE)
        return sp_errorf("'%s': corrupt pickle: REDUCE arguments are not a tuple", m->what);
    switch (a->kind) {
    case G_ORDERED_DICT: {
        sp_pk_value *d = sp_pkvm_value(m, SP_PK_DICT);
        if (args->n == 1 && args->item[0]->kind == SP_PK_LIST) {
            for (int i = 0; i < args->item[0]->n; i++) {
                sp_pk_value *kv = args->item[0]->item[i];
                if (kv->kind != SP_PK_TUPLE || kv->n != 2)
                    return sp_errorf("'%s': corrupt OrderedDict items", m->what);
                sp_pkvm_append(d, kv->item[0]);
                sp_pkvm_append(d, kv->item[1]);
            }
        }
        return sp_pkvm_push(m, d);
    }
    case G_REBUILD_V2:
        return rebuild_tensor(m, args, 6);
    case G_REBUILD:
        return rebuild_tensor(m, args, 4);
    case G_PARAMETER:
        if (args->n < 1 || args->item[0]->kind != SP_PK_TENSOR)
            return sp_errorf("'%s': malformed parameter record in the pickle", m->what);
        return sp_pkvm_push(m, args->item[0]);
    default:
        return sp_pkvm_push(m, sp_pkvm_value(m, SP_PK_OPAQUE));
    }
}

int sp_pkvm_build(sp_pkvm *m)
{
    sp_pk_value *state = sp_pkvm_pop(m), *obj = state ? sp_pkvm_top(m) : NULL;
    if (!obj)
        return -1;
    /* an OrderedDict's _metadata, a numpy scalar's dtype state: not needed */
    if (obj->kind == SP_PK_DICT || obj->kind == SP_PK_OPAQUE || obj->kind == SP_PK_TENSOR)
        return 0;
    return sp_errorf("'%s': refusing BUILD on an object at byte %zu", m->what, sp_pkvm_pos(m));
}

int sp_pkvm_newobj(sp_pkvm *m)
{
    sp_pk_value *args = sp_pkvm_pop(m), *cls = args ? sp_pkvm_pop(m) : NULL;
    if (!cls)
        return -1;
    if (cls->kind == SP_PK_GLOBAL)
        return refuse_module(m, cls->s);
    return sp_errorf("'%s': refusing NEWOBJ at byte %zu", m->what, sp_pkvm_pos(m));
}
