/* cli_train.c: the options and the set-up that sp-finetune and
 * sp-train-mask share (see cli.h): one option table, to which each
 * program adds its own, and the steps around sp_train_run. */
#include <assert.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sp/cli.h"
#include "sp/log.h"
#include "sp/model.h"
#include "sp/progress.h"
#include "sp/train.h"

/* long-only options, numbered above the programs' own */
enum { OPT_LR = SP_CLI_OPT_OWN + 256, OPT_MOMENTUM, OPT_WD, OPT_AUGMENT, OPT_MEAN, OPT_STD,
       OPT_DEVICE, OPT_SAVE_EVERY, OPT_VERBOSE };

static const struct option shared_longopts[] = {
    {"data", required_argument, NULL, 'd'},
    {"val", required_argument, NULL, 'v'},
    {"epochs", required_argument, NULL, 'e'},
    {"batch", required_argument, NULL, 'b'},
    {"lr", required_argument, NULL, OPT_LR},
    {"momentum", required_argument, NULL, OPT_MOMENTUM},
    {"weight-decay", required_argument, NULL, OPT_WD},
    {"augment", required_argument, NULL, OPT_AUGMENT},
    {"mean", required_argument, NULL, OPT_MEAN},
    {"std", required_argument, NULL, OPT_STD},
    {"seed", required_argument, NULL, 's'},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"threads", required_argument, NULL, 't'},
    {"save-every", required_argument, NULL, OPT_SAVE_EVERY},
    {"resume", no_argument, NULL, 'r'},
    {"log", required_argument, NULL, 'l'},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
};
#define SHARED_SHORT "d:v:e:b:s:t:rl:o:hV"
#define NSHARED (sizeof shared_longopts / sizeof shared_longopts[0])
#define MAX_OWN 64

void sp_cli_train_init(sp_cli_train *c, sp_train_opts *t)
{
    memset(c, 0, sizeof *c);
    c->t = t;
    t->sgd.lr = 0.001f;
    t->sgd.momentum = 0.9f;
    t->save_every = 200;
    c->device = "auto";
}

/* Returns 0 when c is a shared option. */
static int take_shared(sp_cli_train *o, int c, const char *usage)
{
    sp_train_opts *t = o->t;
    switch (c) {
    case 'd': o->data = optarg; break;
    case 'v': o->val = optarg; break;
    case 'e': t->epochs = (int)sp_arg_long("--epochs", optarg, 1, 100000); break;
    case 'b': t->batch = (int)sp_arg_long("--batch", optarg, 1, 65536); break;
    case OPT_LR:
        t->sgd.lr = (float)sp_arg_double("--lr", optarg, 0, 1e3);
        o->lr_given = 1;
        break;
    case OPT_MOMENTUM: t->sgd.momentum = (float)sp_arg_double("--momentum", optarg, 0, 1); break;
    case OPT_WD:
        t->sgd.weight_decay = (float)sp_arg_double("--weight-decay", optarg, 0, 1);
        o->wd_given = 1;
        break;
    case OPT_AUGMENT: o->augment = optarg; break;
    case OPT_MEAN: o->mean = optarg; break;
    case OPT_STD: o->std = optarg; break;
    case 's': t->seed = (uint64_t)sp_arg_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
    case OPT_DEVICE: o->device = optarg; break;
    case 't': o->threads = (int)sp_arg_long("--threads", optarg, 1, 4096); break;
    case OPT_SAVE_EVERY: t->save_every = sp_arg_long("--save-every", optarg, 0, 1L << 40); break;
    case 'r': t->resume = 1; break;
    case 'l': o->log = optarg; break;
    case OPT_VERBOSE: o->verbose = 1; break;
    case 'o': o->output = optarg; break;
    case 'h': sp_print_help(usage);
    case 'V': sp_print_version();
    default: return -1;
    }
    return 0;
}

void sp_cli_train_parse(sp_cli_train *o, int argc, char **argv, const sp_cli_own *own)
{
    struct option longopts[MAX_OWN + NSHARED + 1];
    size_t n = 0;
    while (own->longopts[n].name) {
        assert(n < MAX_OWN);
        longopts[n] = own->longopts[n];
        n++;
    }
    memcpy(longopts + n, shared_longopts, sizeof shared_longopts);
    memset(&longopts[n + NSHARED], 0, sizeof longopts[0]);
    char shortopts[64];
    int len = snprintf(shortopts, sizeof shortopts, ":%s" SHARED_SHORT, own->shortopts);
    assert(len > 0 && (size_t)len < sizeof shortopts);
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
        if (c == ':' || c == '?' ||
            (take_shared(o, c, own->usage) < 0 && own->take(own->ctx, c, optarg) < 0))
            sp_die_bad_option(argv, c);
}

void sp_cli_train_check(sp_cli_train *c)
{
    if (c->augment && sp_augment_parse(c->augment, &c->t->pre.augment) < 0)
        sp_die_usage("unknown augmentation '%s' (expected cifar, imagenet or none)", c->augment);
    int to_stdout = !c->output || strcmp(c->output, "-") == 0;
    if (c->t->resume && to_stdout)
        sp_die_usage("--resume needs -o OUT: the resume state is kept in OUT.resume");
}

int sp_cli_train_start(sp_cli_train *c)
{
    sp_cli_threads(c->threads);
    c->rank = sp_cli_dist(c->threads, c->input);
    if (c->rank > 0)
        c->log = NULL;
    return c->rank;
}

void sp_cli_train_preproc(sp_cli_train *c, const sp_model *m, const sp_dataset *d)
{
    sp_preproc pre;
    sp_preproc_or_die(&pre, m, d, c->input, c->mean, c->std);
    if (c->augment)
        pre.augment = c->t->pre.augment;
    else if (!sp_model_meta(m, "augment"))
        pre.augment = pre.h <= 64 && pre.w <= 64 ? SP_AUG_CIFAR : SP_AUG_IMAGENET;
    c->t->pre = pre;
}

void sp_cli_train_resume(sp_cli_train *c)
{
    c->state = sp_cli_resume_state(c->output, &c->t->resume);
    c->t->state = c->state;
}

void sp_cli_train_progress(sp_cli_train *c)
{
    c->logf = sp_log_open(c->log, c->t->resume);
    c->bar = sp_progress_new("batch");
    c->t->validating = (sp_eval_progress){sp_progress_eval, c->bar};
}

void sp_cli_train_run(sp_cli_train *c, sp_backend *b, sp_model *m, sp_dataset *train,
                      sp_dataset *val)
{
    if (sp_train_run(b, m, train, val, c->t) < 0)
        sp_die("%s", sp_error());
    sp_progress_free(c->bar);
    sp_log_close(c->logf);
}

void sp_cli_train_save(sp_cli_train *c, const sp_model *m)
{
    if (c->rank == 0)
        sp_ckpt_save_or_die(m, c->output);
    if (c->state && c->rank == 0)
        unlink(c->state);
    free(c->state);
    c->state = NULL;
}
