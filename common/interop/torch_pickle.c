/* torch_pickle.c: a pickle virtual machine restricted to state_dicts.
 *
 * Python's pickle format is a small stack language whose GLOBAL and REDUCE
 * opcodes import and call arbitrary functions: loading an untrusted .pth in
 * Python runs whatever it says.  This machine implements only the data
 * opcodes here, and interprets the handful of globals a saved state_dict
 * uses (OrderedDict, torch's tensor rebuild functions, storage types) as
 * data constructors in torch_globals.c.  Everything else is refused with
 * a sentence naming it; nothing is ever imported or called.
 *
 * Values live in an arena freed as a whole, so memo references and shared
 * objects need no reference counting. */
#include <stdlib.h>
#include <string.h>
#include "sp/torch.h"
#include "torch_priv.h"

/* Bounds that keep a small hostile pickle from allocating without limit:
 * every value costs about a hundred bytes however few bytes of pickle made
 * it, a pickler numbers its memo entries in the order of the objects it
 * wrote, and a state_dict nests only a few levels deep. */
enum { VALUES_MAX = 1 << 21, STACK_MAX = 1 << 20 };

sp_pk_value *sp_pkvm_value(sp_pkvm *m, sp_pk_kind kind)
{
    sp_pickle *pk = m->pk;
    if (pk->nall == pk->capall) {
        pk->capall = pk->capall ? 2 * pk->capall : 256;
        pk->all = sp_xrealloc(pk->all, (size_t)pk->capall * sizeof(*pk->all));
    }
    sp_pk_value *v = sp_xcalloc(1, sizeof(*v));
    v->kind = kind;
    pk->all[pk->nall++] = v;
    return v;
}

void sp_pkvm_append(sp_pk_value *c, sp_pk_value *item)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 8;
        c->item = sp_xrealloc(c->item, (size_t)c->cap * sizeof(*c->item));
    }
    c->item[c->n++] = item;
}

void sp_pickle_free(sp_pickle *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nall; i++) {
        free(p->all[i]->s);
        free(p->all[i]->item);
        free(p->all[i]);
    }
    free(p->all);
    free(p->storage);
    free(p);
}

const sp_pk_value *sp_pickle_root(const sp_pickle *p) { return p->root; }

sp_pk_value *const *sp_pickle_storages(const sp_pickle *p, int *n)
{
    *n = p->nstorage;
    return p->storage;
}

const sp_pk_value *sp_pk_dict_get(const sp_pk_value *d, const char *key)
{
    if (!d || d->kind != SP_PK_DICT)
        return NULL;
    for (int i = 0; i + 1 < d->n; i += 2)
        if (d->item[i]->kind == SP_PK_STR && strcmp(d->item[i]->s, key) == 0)
            return d->item[i + 1];
    return NULL;
}

size_t sp_pkvm_pos(const sp_pkvm *m) { return (size_t)(m->p - m->start); }

int sp_pkvm_push(sp_pkvm *m, sp_pk_value *v)
{
    if (m->sp == m->capstack) {
        m->capstack = m->capstack ? 2 * m->capstack : 64;
        m->stack = sp_xrealloc(m->stack, (size_t)m->capstack * sizeof(*m->stack));
    }
    m->stack[m->sp++] = v;
    return 0;
}

sp_pk_value *sp_pkvm_pop(sp_pkvm *m)
{
    if (m->sp == 0 || m->stack[m->sp - 1]->kind == SP_PK_MARK) {
        sp_errorf("'%s': corrupt pickle: stack underflow at byte %zu", m->what, sp_pkvm_pos(m));
        return NULL;
    }
    return m->stack[--m->sp];
}

sp_pk_value *sp_pkvm_top(sp_pkvm *m)
{
    if (m->sp == 0 || m->stack[m->sp - 1]->kind == SP_PK_MARK) {
        sp_errorf("'%s': corrupt pickle: empty stack at byte %zu", m->what, sp_pkvm_pos(m));
        return NULL;
    }
    return m->stack[m->sp - 1];
}

/* Index of the topmost MARK, -1 with an error if none. */
static int find_mark(sp_pkvm *m)
{
    for (int i = m->sp - 1; i >= 0; i--)
        if (m->stack[i]->kind == SP_PK_MARK)
            return i;
    return sp_errorf("'%s': corrupt pickle: no MARK before byte %zu", m->what, sp_pkvm_pos(m));
}

static const unsigned char *take(sp_pkvm *m, size_t n)
{
    if ((size_t)(m->end - m->p) < n) {
        sp_errorf("'%s': truncated pickle at byte %zu", m->what, sp_pkvm_pos(m));
        return NULL;
    }
    const unsigned char *q = m->p;
    m->p += n;
    return q;
}

static uint64_t le(const unsigned char *q, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | q[i];
    return v;
}

static int push_int(sp_pkvm *m, int64_t i)
{
    sp_pk_value *v = sp_pkvm_value(m, SP_PK_INT);
    v->i = i;
    return sp_pkvm_push(m, v);
}

static int push_text(sp_pkvm *m, sp_pk_kind kind, int lenbytes)
{
    const unsigned char *q = take(m, (size_t)lenbytes);
    if (!q)
        return -1;
    uint64_t len = le(q, lenbytes);
    if (len > (uint64_t)(m->end - m->p))
        return sp_errorf("'%s': truncated pickle: a string of %llu bytes at byte %zu",
                         m->what, (unsigned long long)len, sp_pkvm_pos(m));
    sp_pk_value *v = sp_pkvm_value(m, kind);
    v->s = sp_xmalloc((size_t)len + 1);
    memcpy(v->s, m->p, (size_t)len);
    v->s[len] = 0;
    v->len = (size_t)len;
    m->p += len;
    return sp_pkvm_push(m, v);
}

/* The sequence from the topmost MARK to the top becomes one tuple (or the
 * items of c when c is given); the MARK is removed. */
static sp_pk_value *collect(sp_pkvm *m, sp_pk_value *c)
{
    int mk = find_mark(m);
    if (mk < 0)
        return NULL;
    if (!c)
        c = sp_pkvm_value(m, SP_PK_TUPLE);
    for (int i = mk + 1; i < m->sp; i++)
        sp_pkvm_append(c, m->stack[i]);
    m->sp = mk;
    return c;
}

static int memo_put(sp_pkvm *m, size_t idx)
{
    sp_pk_value *v = sp_pkvm_top(m);
    if (!v)
        return -1;
    if (idx > (size_t)m->pk->nall)
        return sp_errorf("'%s': corrupt pickle: memo index %zu is beyond the %d objects read "
                         "so far", m->what, idx, m->pk->nall);
    if (idx >= m->nmemo) {
        size_t nn = idx + 1 > 2 * m->nmemo ? idx + 1 : 2 * m->nmemo;
        m->memo = sp_xrealloc(m->memo, nn * sizeof(*m->memo));
        memset(m->memo + m->nmemo, 0, (nn - m->nmemo) * sizeof(*m->memo));
        m->nmemo = nn;
    }
    if (!m->memo[idx])
        m->nset++;
    m->memo[idx] = v;
    return 0;
}

static int memo_get(sp_pkvm *m, size_t idx)
{
    if (idx >= m->nmemo || !m->memo[idx])
        return sp_errorf("'%s': corrupt pickle: memo entry %zu is unset", m->what, idx);
    return sp_pkvm_push(m, m->memo[idx]);
}

/* Items stack[from..sp) go into the container at stack[at]. */
static int setitems(sp_pkvm *m, int at, int from)
{
    if (at < 0 || (m->sp - from) % 2)
        return sp_errorf("'%s': corrupt pickle: odd SETITEMS at byte %zu", m->what, sp_pkvm_pos(m));
    sp_pk_value *d = m->stack[at];
    if (d->kind != SP_PK_DICT)
        return sp_errorf("'%s': corrupt pickle: SETITEM on a non-dict at byte %zu", m->what, sp_pkvm_pos(m));
    for (int i = from; i < m->sp; i++)
        sp_pkvm_append(d, m->stack[i]);
    return 0;
}

static int appends(sp_pkvm *m, int at, int from)
{
    if (at < 0 || m->stack[at]->kind != SP_PK_LIST)
        return sp_errorf("'%s': corrupt pickle: APPEND on a non-list at byte %zu", m->what, sp_pkvm_pos(m));
    for (int i = from; i < m->sp; i++)
        sp_pkvm_append(m->stack[at], m->stack[i]);
    return 0;
}

static int push_tuple_n(sp_pkvm *m, int k)
{
    if (m->sp < k)
        return sp_errorf("'%s': corrupt pickle: stack underflow at byte %zu", m->what, sp_pkvm_pos(m));
    sp_pk_value *t = sp_pkvm_value(m, SP_PK_TUPLE);
    for (int i = m->sp - k; i < m->sp; i++) {
        if (m->stack[i]->kind == SP_PK_MARK)
            return sp_errorf("'%s': corrupt pickle at byte %zu", m->what, sp_pkvm_pos(m));
        sp_pkvm_append(t, m->stack[i]);
    }
    m->sp -= k;
    return sp_pkvm_push(m, t);
}

static int step(sp_pkvm *m, int op, int *stop)
{
    const unsigned char *q;
    sp_pk_value *v;
    int mk;
    switch (op) {
    case 0x80: return take(m, 1) ? 0 : -1;                  /* PROTO */
    case 0x95: return take(m, 8) ? 0 : -1;                  /* FRAME */
    case '.': *stop = 1; return 0;                          /* STOP */
    case '}': return sp_pkvm_push(m, sp_pkvm_value(m, SP_PK_DICT));       /* EMPTY_DICT */
    case ']': return sp_pkvm_push(m, sp_pkvm_value(m, SP_PK_LIST));       /* EMPTY_LIST */
    case ')': return sp_pkvm_push(m, sp_pkvm_value(m, SP_PK_TUPLE));      /* EMPTY_TUPLE */
    case '(': return sp_pkvm_push(m, sp_pkvm_value(m, SP_PK_MARK));       /* MARK */
    case '0': return sp_pkvm_pop(m) ? 0 : -1;                       /* POP */
    case '1':                                               /* POP_MARK */
        if ((mk = find_mark(m)) < 0)
            return -1;
        m->sp = mk;
        return 0;
    case '2': return (v = sp_pkvm_top(m)) ? sp_pkvm_push(m, v) : -1;        /* DUP */
    case 'q': return (q = take(m, 1)) ? memo_put(m, q[0]) : -1;              /* BINPUT */
    case 'r': return (q = take(m, 4)) ? memo_put(m, (size_t)le(q, 4)) : -1;  /* LONG_BINPUT */
    case 0x94: return memo_put(m, m->nset);                 /* MEMOIZE */
    case 'h': return (q = take(m, 1)) ? memo_get(m, q[0]) : -1;              /* BINGET */
    case 'j': return (q = take(m, 4)) ? memo_get(m, (size_t)le(q, 4)) : -1;  /* LONG_BINGET */
    case 'J': return (q = take(m, 4)) ? push_int(m, (int32_t)(uint32_t)le(q, 4)) : -1;
    case 'K': return (q = take(m, 1)) ? push_int(m, q[0]) : -1;
    case 'M': return (q = take(m, 2)) ? push_int(m, (int64_t)le(q, 2)) : -1;
    case 0x8a: {                                            /* LONG1 */
        if (!(q = take(m, 1)))
            return -1;
        int n = q[0];
        if (n > 8)
            return sp_errorf("'%s': integer of %d bytes in the pickle is too large", m->what, n);
        if (!(q = take(m, (size_t)n)))
            return -1;
        uint64_t u = le(q, n);
        if (n > 0 && n < 8 && (q[n - 1] & 0x80))
            u |= ~(uint64_t)0 << (8 * n);
        return push_int(m, (int64_t)u);
    }
    case 'G': {                                             /* BINFLOAT, big-endian */
        if (!(q = take(m, 8)))
            return -1;
        uint64_t u = 0;
        for (int i = 0; i < 8; i++)
            u = u << 8 | q[i];
        v = sp_pkvm_value(m, SP_PK_FLOAT);
        memcpy(&v->f, &u, 8);
        return sp_pkvm_push(m, v);
    }
    case 0x8c: return push_text(m, SP_PK_STR, 1);           /* SHORT_BINUNICODE */
    case 'X': return push_text(m, SP_PK_STR, 4);            /* BINUNICODE */
    case 0x8d: return push_text(m, SP_PK_STR, 8);           /* BINUNICODE8 */
    case 'U': return push_text(m, SP_PK_STR, 1);            /* SHORT_BINSTRING */
    case 'T': return push_text(m, SP_PK_STR, 4);            /* BINSTRING */
    case 'C': return push_text(m, SP_PK_BYTES, 1);          /* SHORT_BINBYTES */
    case 'B': return push_text(m, SP_PK_BYTES, 4);          /* BINBYTES */
    case 0x8e: return push_text(m, SP_PK_BYTES, 8);         /* BINBYTES8 */
    case 0x85: return push_tuple_n(m, 1);                   /* TUPLE1 */
    case 0x86: return push_tuple_n(m, 2);                   /* TUPLE2 */
    case 0x87: return push_tuple_n(m, 3);                   /* TUPLE3 */
    case 't': return (v = collect(m, NULL)) ? sp_pkvm_push(m, v) : -1; /* TUPLE */
    case 'l': return (v = collect(m, sp_pkvm_value(m, SP_PK_LIST))) ? sp_pkvm_push(m, v) : -1; /* LIST */
    case 'd':                                               /* DICT */
        if ((mk = find_mark(m)) < 0)
            return -1;
        v = sp_pkvm_value(m, SP_PK_DICT);
        if ((m->sp - mk - 1) % 2)
            return sp_errorf("'%s': corrupt pickle: odd DICT at byte %zu", m->what, sp_pkvm_pos(m));
        for (int i = mk + 1; i < m->sp; i++)
            sp_pkvm_append(v, m->stack[i]);
        m->sp = mk;
        return sp_pkvm_push(m, v);
    case 's':                                               /* SETITEM */
        if (m->sp < 3)
            return sp_errorf("'%s': corrupt pickle: stack underflow at byte %zu", m->what, sp_pkvm_pos(m));
        if (setitems(m, m->sp - 3, m->sp - 2) < 0)
            return -1;
        m->sp -= 2;
        return 0;
    case 'u': case 'e':                                     /* SETITEMS, APPENDS */
        if ((mk = find_mark(m)) < 0)
            return -1;
        if ((op == 'u' ? setitems(m, mk - 1, mk + 1) : appends(m, mk - 1, mk + 1)) < 0)
            return -1;
        m->sp = mk;
        return 0;
    case 'a':                                               /* APPEND */
        if (m->sp < 2 || appends(m, m->sp - 2, m->sp - 1) < 0)
            return m->sp < 2 ? sp_errorf("'%s': corrupt pickle at byte %zu", m->what, sp_pkvm_pos(m)) : -1;
        m->sp -= 1;
        return 0;
    case 'N': return sp_pkvm_push(m, sp_pkvm_value(m, SP_PK_NONE));       /* NONE */
    case 0x88: case 0x89:                                   /* NEWTRUE, NEWFALSE */
        v = sp_pkvm_value(m, SP_PK_BOOL);
        v->i = op == 0x88;
        return sp_pkvm_push(m, v);
    case 'c': return sp_pkvm_global(m);
    case 0x93: return sp_pkvm_stack_global(m);
    case 'R': return sp_pkvm_reduce(m);
    case 'Q': return sp_pkvm_persid(m);
    case 'b': return sp_pkvm_build(m);
    case 0x81: return sp_pkvm_newobj(m);                         /* NEWOBJ */
    case 0x92:                                              /* NEWOBJ_EX */
        if (!sp_pkvm_pop(m))
            return -1;
        return sp_pkvm_newobj(m);
    case 'i': case 'o':
        return sp_errorf("'%s': refusing pickle opcode %s at byte %zu: it creates arbitrary "
                         "objects, which a state_dict never needs",
                         m->what, op == 'i' ? "INST" : "OBJ", sp_pkvm_pos(m) - 1);
    default:
        return sp_errorf("'%s': unsupported pickle opcode 0x%02x at byte %zu "
                         "(not one a state_dict uses)", m->what, op, sp_pkvm_pos(m) - 1);
    }
}

sp_pickle *sp_pickle_load(const void *buf, size_t n, const char *what, size_t *used)
{
    sp_pkvm m = { 0 };
    m.pk = sp_xcalloc(1, sizeof(*m.pk));
    m.start = m.p = buf;
    m.end = m.start + n;
    m.what = what;
    int stop = 0, rc = 0;
    while (!stop && rc == 0) {
        if (m.p >= m.end) {
            rc = sp_errorf("'%s': truncated pickle (no STOP)", what);
            break;
        }
        rc = step(&m, *m.p++, &stop);
        if (rc == 0 && (m.pk->nall > VALUES_MAX || m.sp > STACK_MAX))
            rc = sp_errorf("'%s': the pickle builds more objects than any state_dict (%d values, "
                           "a stack of %d at byte %zu)", what, m.pk->nall, m.sp, sp_pkvm_pos(&m));
    }
    if (rc == 0) {
        if (m.sp != 1 || m.stack[0]->kind == SP_PK_MARK)
            rc = sp_errorf("'%s': corrupt pickle: %d values left at STOP", what, m.sp);
        else
            m.pk->root = m.stack[0];
    }
    free(m.stack);
    free(m.memo);
    if (rc < 0) {
        sp_pickle_free(m.pk);
        return NULL;
    }
    if (used)
        *used = (size_t)(m.p - m.start);
    return m.pk;
}
