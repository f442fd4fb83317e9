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
    const char *input, *output, *data, *val, *log, *device, *mean, *std, *augment;
    sp_train_opts t;
    int threads;
    sp_log *logf;
    sp_progress *bar;
    int bar_epoch;            /* the epoch the bar shows */
    int lr_given, wd_given, schedule_given;
} options;

static const char usage_text[] =
    "Usage: sp-finetune --data TRAIN.spd [--val VAL.spd] [--epochs N] [--batch B]\n"
    "                   [--lr X] [--momentum M] [--weight-decay W] [--nesterov]\n"
    "                   [--schedule step|cosine] [--step-every E]\n"
    "                   [--augment cifar|imagenet|none] [--mean V,V,V] [--std V,V,V]\n"
    "                   [--seed S] [--device NAME] [--threads N] [--save-every K]\n"
    "                   [--resume] [--log FILE] [FILE] [-o OUT]\n"
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
    "  -o, --output OUT       write to OUT instead of standard output\n"
    "  -h, --help             show this help and exit\n"
    "  -V, --version          show the version and exit\n"
    "\n"
    "From scratch: a network fresh from sp-init that was never trained; any other\n"
    "(trained, imported or pruned) is fine-tuned.\n";

enum { OPT_LR = 256, OPT_MOMENTUM, OPT_WD, OPT_NESTEROV, OPT_SCHEDULE, OPT_STEP_EVERY,
       OPT_MEAN, OPT_STD, OPT_DEVICE, OPT_SAVE_EVERY, OPT_AUGMENT };

static void parse_command_line(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},
        {"val", required_argument, NULL, 'v'},
        {"epochs", required_argument, NULL, 'e'},
        {"batch", required_argument, NULL, 'b'},
        {"lr", required_argument, NULL, OPT_LR},
        {"momentum", required_argument, NULL, OPT_MOMENTUM},
        {"weight-decay", required_argument, NULL, OPT_WD},
        {"nesterov", no_argument, NULL, OPT_NESTEROV},
        {"schedule", required_argument, NULL, OPT_SCHEDULE},
        {"step-every", required_argument, NULL, OPT_STEP_EVERY},
        {"augment", required_argument, NULL, OPT_AUGMENT},
        {"mean", required_argument, NULL, OPT_MEAN},
        {"std", required_argument, NULL, OPT_STD},
        {"seed", required_argument, NULL, 's'},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"threads", required_argument, NULL, 't'},
        {"save-every", required_argument, NULL, OPT_SAVE_EVERY},
        {"resume", no_argument, NULL, 'r'},
        {"log", required_argument, NULL, 'l'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof *o);
    sp_train_opts *t = &o->t;
    t->epochs = 200;
    t->batch = 128;
    t->sgd.lr = 0.001f;
    t->sgd.momentum = 0.9f;
    t->sgd.weight_decay = 1e-4f;
    t->save_every = 200;
    o->device = "auto";
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:v:e:b:s:t:rl:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o->data = optarg; break;
        case 'v': o->val = optarg; break;
        case 'e': t->epochs = (int)sp_arg_long("--epochs", optarg, 1, 100000); break;
        case 'b': t->batch = (int)sp_arg_long("--batch", optarg, 1, 65536); break;
        case OPT_LR:
            t->sgd.lr = (float)sp_arg_double("--lr", optarg, 0, 1e3);
            o->lr_given = 1;
            break;
        case OPT_MOMENTUM:
            t->sgd.momentum = (float)sp_arg_double("--momentum", optarg, 0, 1);
            break;
        case OPT_WD:
            t->sgd.weight_decay = (float)sp_arg_double("--weight-decay", optarg, 0, 1);
            o->wd_given = 1;
            break;
        case OPT_NESTEROV: t->sgd.nesterov = 1; break;
        case OPT_SCHEDULE:
            if (sp_schedule_parse(optarg, &t->schedule) < 0)
                sp_die_usage("unknown schedule '%s' (expected step or cosine)", optarg);
            o->schedule_given = 1;
            break;
        case OPT_STEP_EVERY:
            t->step_every = (int)sp_arg_long("--step-every", optarg, 1, 100000);
            break;
        case OPT_AUGMENT: o->augment = optarg; break;
        case OPT_MEAN: o->mean = optarg; break;
        case OPT_STD: o->std = optarg; break;
        case 's': t->seed = (uint64_t)sp_arg_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
        case OPT_DEVICE: o->device = optarg; break;
        case 't': o->threads = (int)sp_arg_long("--threads", optarg, 1, 4096); break;
        case OPT_SAVE_EVERY:
            t->save_every = sp_arg_long("--save-every", optarg, 0, 1L << 40);
            break;
        case 'r': t->resume = 1; break;
        case 'l': o->log = optarg; break;
        case 'o': o->output = optarg; break;
        case 'h': sp_print_help(usage_text);
        case 'V': sp_print_version();
        default: sp_die_bad_option(argv, c);
        }
    }
    o->input = sp_arg_operand_why(argc, argv, optind, "only one checkpoint is read");
    if (!o->data)
        sp_die_usage("no training set given (--data FILE.spd)");
    if (o->augment && sp_augment_parse(o->augment, &t->pre.augment) < 0)
        sp_die_usage("unknown augmentation '%s' (expected cifar, imagenet or none)", o->augment);
    int to_stdout = !o->output || strcmp(o->output, "-") == 0;
    if (t->resume && to_stdout)
        sp_die_usage("--resume needs -o OUT: the resume state is kept in OUT.resume");
}

static void on_step(void *ctx, const sp_train_progress *p)
{
    options *o = ctx;
    sp_log_train_step(o->logf, p);
    if (p->epoch != o->bar_epoch) {
        o->bar_epoch = p->epoch;
        sp_progress_start(o->bar, "epoch %d/%d", p->epoch + 1, p->epochs);
    }
    sp_progress_update(o->bar, p->batch, p->batches, "loss %.4f acc %.1f%% lr %.4g", p->loss,
                       p->accuracy, p->lr);
}

/* The epoch's result goes with the bar: a pipe or a file gets the log. */
static void on_epoch(void *ctx, const sp_train_progress *p)
{
    options *o = ctx;
    sp_log_train_epoch(o->logf, p);
    if (!sp_progress_active(o->bar))
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
    if (!o->lr_given)
        t->sgd.lr = scratch ? 0.1f : 0.001f;
    if (!o->wd_given)
        t->sgd.weight_decay = scratch ? 5e-4f : 1e-4f;
    if (!o->schedule_given)
        t->schedule = scratch ? SP_SCHED_COSINE : SP_SCHED_STEP;
    if (isatty(STDERR_FILENO))
        sp_info("%s: lr %g, weight decay %g, %s schedule, %d epochs",
                scratch ? "training from scratch" : "fine-tuning", (double)t->sgd.lr,
                (double)t->sgd.weight_decay, sp_schedule_name(t->schedule),
                t->epochs);
}

static void setup_preprocessing(options *o, const sp_model *m, const sp_dataset *d)
{
    sp_preproc pre;
    sp_preproc_or_die(&pre, m, d, o->input, o->mean, o->std);
    if (o->augment)
        pre.augment = o->t.pre.augment;
    else if (!sp_model_meta(m, "augment"))
        pre.augment = pre.h <= 64 && pre.w <= 64 ? SP_AUG_CIFAR : SP_AUG_IMAGENET;
    o->t.pre = pre;
}

int main(int argc, char **argv)
{
    options o;
    sp_cli_init("sp-finetune");
    parse_command_line(argc, argv, &o);
    sp_cli_threads(o.threads);
    int rank = sp_cli_dist(o.threads, o.input);
    if (rank > 0)
        o.log = NULL;
    sp_model *m = sp_ckpt_load_or_die(o.input);
    sp_dataset *train = sp_data_open_or_die(o.data);
    sp_dataset *val = o.val ? sp_data_open_or_die(o.val) : NULL;
    setup_job(&o, m);
    setup_preprocessing(&o, m, train);
    char *state = sp_cli_resume_state(o.output, &o.t.resume);
    o.t.state = state;
    o.logf = sp_log_open(o.log, o.t.resume);
    o.bar = sp_progress_new("batch");
    o.bar_epoch = -1;
    o.t.on_step = on_step;
    o.t.on_epoch = on_epoch;
    o.t.ctx = &o;
    o.t.validating = (sp_eval_progress){sp_progress_eval, o.bar};
    sp_backend *b = sp_backend_create_or_die(o.device);
    if (sp_train_run(b, m, train, val, &o.t) < 0)
        sp_die("%s", sp_error());
    sp_progress_free(o.bar);
    sp_log_close(o.logf);
    if (rank == 0)
        sp_ckpt_save_or_die(m, o.output);
    if (state && rank == 0)
        unlink(state);
    free(state);
    sp_backend_destroy(b);
    sp_data_close(train);
    if (val)
        sp_data_close(val);
    sp_model_free(m);
    sp_cli_dist_end();
    return SP_EXIT_OK;
}
