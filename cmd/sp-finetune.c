/* sp-finetune: train a network with SGD and keep its best epoch.
 *
 * Reads a checkpoint (FILE or standard input; a fresh sp-init network or a
 * trained or pruned one), a training and optionally a validation dataset,
 * trains for --epochs epochs and writes the weights of the epoch with the
 * best validation top-1 (without --val, of the last epoch) as a checkpoint (-o FILE or standard output), with the
 * preprocessing and the training result in its metadata.  With -o, the
 * run keeps a resume state in FILE.resume; --resume continues from it.
 * The defaults of --lr, --weight-decay and --schedule suit the job: training
 * from scratch for a network fresh from sp-init, fine-tuning otherwise. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sp/backend.h"
#include "sp/cli.h"
#include "sp/data.h"
#include "sp/log.h"
#include "sp/model.h"
#include "sp/progress.h"
#include "sp/train.h"

typedef struct options {
    sp_cli_train c;           /* the options sp-train-mask shares */
    sp_train_opts t;
    int bar_epoch;            /* the epoch the bar shows */
    int schedule_given;
} options;

static const char usage_text[] =
    "Usage: sp-finetune --data TRAIN.spd [--val VAL.spd] [--epochs N] [--batch B]\n"
    "                   [--lr X] [--momentum M] [--weight-decay W] [--nesterov]\n"
    "                   [--schedule step|cosine] [--step-every E]\n"
    "                   [--augment cifar|imagenet|none] [--mean V,V,V] [--std V,V,V]\n"
    "                   [--seed S] [--device NAME] [--threads N] [--save-every K]\n"
    "                   [--resume] [--log FILE] [--verbose] [FILE] [-o OUT]\n"
    "Train the network in a checkpoint (FILE, or standard input) with SGD and\n"
    "write the weights of its best validation epoch, or of its last epoch without\n"
    "--val (OUT, or standard output).\n"
    "\n"
    "  -d, --data FILE        training dataset (.spd)\n"
    "  -v, --val FILE         validation dataset (.spd), evaluated after every epoch\n"
    "                         (default: none; the last epoch is kept)\n"
    "  -e, --epochs N         epochs (default 200)\n"
    "  -b, --batch B          images per step (default 128)\n"
    "      --lr X             initial learning rate (default: 0.1 from scratch,\n"
    "                         0.001 fine-tuning)\n"
    "      --momentum M       SGD momentum (default 0.9)\n"
    "      --weight-decay W   L2 weight decay (default: 0.0005 from scratch, 0.0001\n"
    "                         fine-tuning)\n"
    "      --nesterov         Nesterov momentum\n"
    "      --schedule NAME    step: x0.1 every --step-every epochs; cosine: to 0 per\n"
    "                         step (default: cosine from scratch, step fine-tuning)\n"
    "      --step-every E     epochs between steps (default: epochs/3)\n"
    "      --augment NAME     cifar (pad 4, crop, flip), imagenet (random resized\n"
    "                         crop, flip) or none (default: the checkpoint's, else\n"
    "                         cifar up to 64 pixels and imagenet above)\n"
    "      --mean V,V,V       per-channel mean (default: the checkpoint's)\n"
    "      --std V,V,V        per-channel standard deviation (default: the checkpoint's)\n"
    "  -s, --seed S           seed of data order, augmentation and dropout (default 0)\n"
    "      --device NAME      auto (default: a GPU when there is one, else cpu),\n"
    "                         cpu, cuda, cuda:N (GPU N) or ref\n"
    "  -t, --threads N        compute threads (default: all cores)\n"
    "      --save-every K     save the resume state every K steps (default 200)\n"
    "                         and after every epoch\n"
    "  -r, --resume           continue from OUT.resume if it exists\n"
    "  -l, --log FILE         write one JSON object per step and per epoch to FILE\n"
    "      --verbose          say which device, instruction set and threads it uses,\n"
    "                         and how it keeps activations\n"
    "                         and how idle threads wait (on standard error)\n"
    "  -o, --output OUT       write to OUT instead of standard output\n"
    "  -h, --help             show this help and exit\n"
    "  -V, --version          show the version and exit\n"
    "\n"
    "From scratch: a network fresh from sp-init that was never trained; any other\n"
    "(trained, imported or pruned) is fine-tuned.\n";

enum { OPT_NESTEROV = SP_CLI_OPT_OWN, OPT_SCHEDULE, OPT_STEP_EVERY };

static int take_option(void *ctx, int c, const char *arg)
{
    options *o = ctx;
    sp_train_opts *t = &o->t;
    switch (c) {
    case OPT_NESTEROV: t->sgd.nesterov = 1; break;
    case OPT_SCHEDULE:
        if (sp_schedule_parse(arg, &t->schedule) < 0)
            sp_die_usage("unknown schedule '%s' (expected step or cosine)", arg);
        o->schedule_given = 1;
        break;
    case OPT_STEP_EVERY: t->step_every = (int)sp_arg_long("--step-every", arg, 1, 100000); break;
    default: return -1;
    }
    return 0;
}

static void parse_command_line(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"nesterov", no_argument, NULL, OPT_NESTEROV},
        {"schedule", required_argument, NULL, OPT_SCHEDULE},
        {"step-every", required_argument, NULL, OPT_STEP_EVERY},
        {NULL, 0, NULL, 0},
    };
    const sp_cli_own own = {longopts, "", take_option, o, usage_text};
    memset(o, 0, sizeof *o);
    sp_cli_train_init(&o->c, &o->t);
    o->t.epochs = 200;
    o->t.batch = 128;
    o->t.sgd.weight_decay = 1e-4f;
    sp_cli_train_parse(&o->c, argc, argv, &own);
    o->c.input = sp_arg_operand_why(argc, argv, optind, "only one checkpoint is read");
    if (!o->c.data)
        sp_die_usage("no training set given (--data FILE.spd)");
    sp_cli_train_check(&o->c);
}

static void on_step(void *ctx, const sp_train_progress *p)
{
    options *o = ctx;
    sp_log_train_step(o->c.logf, p);
    if (p->epoch != o->bar_epoch) {
        o->bar_epoch = p->epoch;
        sp_progress_start(o->c.bar, "epoch %d/%d", p->epoch + 1, p->epochs);
    }
    sp_progress_update(o->c.bar, p->batch, p->batches, "loss %.4f acc %.1f%% lr %.4g", p->loss,
                       p->accuracy, p->lr);
}

/* The epoch's result goes with the bar: a pipe or a file gets the log. */
static void on_epoch(void *ctx, const sp_train_progress *p)
{
    options *o = ctx;
    sp_log_train_epoch(o->c.logf, p);
    if (!sp_progress_active(o->c.bar))
        return;
    if (p->validated)
        sp_info("epoch %d/%d: train loss %.4f, val top-1 %.2f%% top-5 %.2f%% loss %.4f "
                "(best %.2f%%, epoch %d)", p->epoch + 1, p->epochs, p->train_loss,
                sp_metrics_top1(&p->val), sp_metrics_top5(&p->val), sp_metrics_loss(&p->val),
                p->best_top1, p->best_epoch + 1);
    else
        sp_info("epoch %d/%d: train loss %.4f", p->epoch + 1, p->epochs, p->train_loss);
}

/* The defaults of the job: training from scratch a network sp-init made
 * (it records init.seed) and nothing trained since, else fine-tuning. */
static void setup_job(options *o, const sp_model *m)
{
    int scratch = sp_model_meta(m, "init.seed") && !sp_model_meta(m, "train.epochs");
    sp_train_opts *t = &o->t;
    if (!o->c.lr_given)
        t->sgd.lr = scratch ? 0.1f : 0.001f;
    if (!o->c.wd_given)
        t->sgd.weight_decay = scratch ? 5e-4f : 1e-4f;
    if (!o->schedule_given)
        t->schedule = scratch ? SP_SCHED_COSINE : SP_SCHED_STEP;
    if (isatty(STDERR_FILENO))
        sp_info("%s: lr %g, weight decay %g, %s schedule, %d epochs",
                scratch ? "training from scratch" : "fine-tuning", (double)t->sgd.lr,
                (double)t->sgd.weight_decay, sp_schedule_name(t->schedule),
                t->epochs);
}

int main(int argc, char **argv)
{
    options o;
    sp_cli_init("sp-finetune");
    parse_command_line(argc, argv, &o);
    sp_cli_train_start(&o.c);
    sp_model *m = sp_ckpt_load_or_die(o.c.input);
    sp_dataset *train = sp_data_open_or_die(o.c.data);
    sp_dataset *val = o.c.val ? sp_data_open_or_die(o.c.val) : NULL;
    setup_job(&o, m);
    sp_cli_train_preproc(&o.c, m, train);
    sp_cli_train_resume(&o.c);
    sp_cli_train_progress(&o.c);
    o.bar_epoch = -1;
    o.t.on_start = o.c.verbose ? sp_cli_verbose_exec : NULL;
    o.t.on_step = on_step;
    o.t.on_epoch = on_epoch;
    o.t.ctx = &o;
    sp_backend *b = sp_backend_create_or_die(o.c.device);
    if (o.c.verbose)
        sp_cli_verbose(o.c.device);
    sp_cli_train_run(&o.c, b, m, train, val);
    sp_cli_train_save(&o.c, m);
    sp_backend_destroy(b);
    sp_data_close(train);
    if (val)
        sp_data_close(val);
    sp_model_free(m);
    sp_cli_dist_end();
    return SP_EXIT_OK;
}
