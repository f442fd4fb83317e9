/* torch_priv.h (private to libsp): the state of the pickle machine, shared
 * by its opcode loop (torch_pickle.c) and its handling of globals,
 * persistent references and calls (torch_globals.c). */
#ifndef SP_TORCH_VM_H
#define SP_TORCH_VM_H

#include <stddef.h>
#include "sp/torch.h"

struct sp_pickle {
    sp_pk_value **all;
    int nall, capall;
    sp_pk_value *root;
    sp_pk_value **storage;    /* persistent references, in pickle order */
    int nstorage, capstorage;
};

typedef struct sp_pkvm {
    sp_pickle *pk;
    const unsigned char *p, *end, *start;
    const char *what;
    sp_pk_value **stack;
    int sp, capstack;
    sp_pk_value **memo;
    size_t nmemo, nset;       /* memo capacity; entries set (MEMOIZE's next index) */
} sp_pkvm;

/* Values live in the pickle's arena. */
sp_pk_value *sp_pkvm_value(sp_pkvm *m, sp_pk_kind kind);
void sp_pkvm_append(sp_pk_value *c, sp_pk_value *item);
/* Offset of the next opcode, for messages. */
size_t sp_pkvm_pos(const sp_pkvm *m);
int sp_pkvm_push(sp_pkvm *m, sp_pk_value *v);
/* NULL with an error on an empty stack or a MARK. */
sp_pk_value *sp_pkvm_pop(sp_pkvm *m);
sp_pk_value *sp_pkvm_top(sp_pkvm *m);

/* The opcodes that touch globals; each returns 0 or -1 with an error. */
int sp_pkvm_global(sp_pkvm *m);          /* GLOBAL: "module\nname\n" follows */
int sp_pkvm_stack_global(sp_pkvm *m);    /* STACK_GLOBAL */
int sp_pkvm_persid(sp_pkvm *m);          /* BINPERSID: a storage reference */
int sp_pkvm_reduce(sp_pkvm *m);          /* REDUCE */
int sp_pkvm_build(sp_pkvm *m);           /* BUILD */
int sp_pkvm_newobj(sp_pkvm *m);          /* NEWOBJ */

#endif
