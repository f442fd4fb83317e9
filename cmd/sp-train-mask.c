/* sp-train-mask: one Sensitivity Pruner stage.
 *
 * Reads a checkpoint (FILE or standard input: the baseline, or the output
 * of sp-compress for the previous block), a training and a validation
 * dataset; inserts a mask after every activation of block --block, trains
 * the network and the masks' generators together as sp-method(7) says, and
 * writes the best epoch's weights with the block's channel index in the
 * masks (-o FILE or standard output), ready for sp-compress.  With -o, the
 * run keeps a resume state in FILE.resume; --resume continues from it. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
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
#include "sp/stage.h"
#include "sp/surgery.h"
#include "sp/train.h"

typedef struct options {
    sp_cli_train c;           /* the options sp-finetune shares */
    sp_train_opts t;
    const char *recipe, *sort, *pool, *ssty_loss;
    double rate, beta0, beta1, ssty_scale, twin_scale;
    int block, window, beta_range, bar_epoch, round;
} options;

static const char usage_text[] =
    "Usage: sp-train-mask --block K --data TRAIN.spd --val VAL.spd [--rate R]\n"
    "                     [--recipe NAME] [--epochs N] [--batch B] [--lr X]\n"
    "                     [--momentum M] [--weight-decay W] [--window N]\n"
    "                     [--beta-range N] [--beta-start X] [--beta-end X]\n"
    "                     [--sort global|layer] [--pool all|masked]\n"
    "                     [--ssty-loss logit|ce] [--ssty-scale X]\n"
    "                     [--twin-current-scale X] [--round N] [--augment NAME]\n"
    "                     [--mean V,V,V] [--std V,V,V] [--seed S] [--device NAME]\n"
    "                     [--threads N] [--save-every K] [--resume] [--log FILE]\n"
    "                     [--verbose] [FILE] [-o OUT]\n"
    "Run one pruning stage: learn which channels of block K to keep, training the\n"
    "network (FILE, or standard input) and its mask generators together, and\n"
    "write the best epoch with the block's channel index (OUT, or standard output)\n"
    "for sp-compress.  Defaults follow the network's recipe (sp-method(7)).\n"
    "\n"
    "  -k, --block K          the block to prune (sp-inspect --blocks lists them)\n"
    "  -d, --data FILE        training dataset (.spd)\n"
    "  -v, --val FILE         validation dataset (.spd), evaluated after every epoch\n"
    "      --rate R           fraction of channels kept, 0 < R <= 1 (recipe)\n"
    "      --recipe NAME      vgg-cifar10, vgg-cifar100, vgg-imagenet, resnet-cifar10,\n"
    "                         resnet-cifar100, resnet50-imagenet or mobilenetv2\n"
    "                         (default: the network's)\n"
    "  -e, --epochs N         epochs (recipe: 3 VGG CIFAR, 8 ResNet CIFAR, 1 VGG\n"
    "                         ImageNet, 4 ResNet-50 ImageNet and MobileNetV2)\n"
    "  -b, --batch B          images per step (recipe: 12 CIFAR, 64 ImageNet)\n"
    "      --lr X             learning rate (default 0.001; x0.1 every 2 epochs for\n"
    "                         VGG, every epochs/2 for the others)\n"
    "      --momentum M       SGD momentum (default 0.9)\n"
    "      --weight-decay W   L2 weight decay, generators included (default 0.0005)\n"
    "      --window N         steps per channel-index vote (default 20)\n"
    "      --beta-range N     steps per entry of the beta schedule (default 100)\n"
    "      --beta-start X     first beta (recipe)\n"
    "      --beta-end X       last beta (recipe)\n"
    "      --sort MODE        global: one threshold over the ranking pool; layer: one\n"
    "                         per layer (recipe)\n"
    "      --pool MODE        all: the recipe's ranking pool; masked: only the layers\n"
    "                         of the network's blocks (default all)\n"
    "      --ssty-loss NAME   the twin's loss: logit (-mean true-class logit) or ce\n"
    "                         (default logit)\n"
    "      --ssty-scale X     multiply every generator input by X (default 1)\n"
    "      --twin-current-scale X  scale the block's layers in the twin (default 1)\n"
    "      --round N          keep a multiple of N channels in each layer: the count\n"
    "                         the stage learned, rounded up with the channels whose\n"
    "                         mean mask is highest (default 1: as learned)\n"
    "      --augment NAME     cifar, imagenet or none (default: the checkpoint's)\n"
    "      --mean V,V,V       per-channel mean (default: the checkpoint's)\n"
    "      --std V,V,V        per-channel standard deviation (default: the checkpoint's)\n"
    "  -s, --seed S           seed of data order, augmentation, the twin's redraws and\n"
    "                         the generators (default 0)\n"
    "      --device NAME      auto (default: a GPU when there is one, else cpu),\n"
    "                         cpu, cuda, cuda:N (GPU N) or ref\n"
    "  -t, --threads N        compute threads (default: all cores)\n"
    "      --save-every K     save the resume state every K steps (default 200)\n"
    "                         and after every epoch\n"
    "  -r, --resume           continue from OUT.resume if it exists\n"
    "  -l, --log FILE         write one JSON object per step, window and epoch to FILE\n"
    "      --verbose          say which device, instruction set and threads it uses,\n"
    "                         and how it keeps activations\n"
    "                         and how idle threads wait (on standard error)\n"
    "  -o, --output OUT       write to OUT instead of standard output\n"
    "  -h, --help             show this help and exit\n"
    "  -V, --version          show the version and exit\n";

enum { OPT_RATE = SP_CLI_OPT_OWN, OPT_RECIPE, OPT_WINDOW, OPT_BETA_RANGE, OPT_BETA0, OPT_BETA1,
       OPT_SORT, OPT_POOL, OPT_SSTY_LOSS, OPT_SSTY_SCALE, OPT_TWIN_SCALE, OPT_ROUND };

static int take_option(void *ctx, int c, const char *arg)
{
    options *o = ctx;
    switch (c) {
    case 'k': o->block = (int)sp_arg_long("--block", arg, 0, 1000); break;
    case OPT_RATE: o->rate = sp_arg_double("--rate", arg, 1e-9, 1); break;
    case OPT_RECIPE: o->recipe = arg; break;
    case OPT_WINDOW: o->window = (int)sp_arg_long("--window", arg, 1, 100000); break;
    case OPT_BETA_RANGE: o->beta_range = (int)sp_arg_long("--beta-range", arg, 1, 1000000); break;
    case OPT_BETA0: o->beta0 = sp_arg_double("--beta-start", arg, 0, 1e6); break;
    case OPT_BETA1: o->beta1 = sp_arg_double("--beta-end", arg, 0, 1e6); break;
    case OPT_SORT: o->sort = arg; break;
    case OPT_POOL: o->pool = arg; break;
    case OPT_SSTY_LOSS: o->ssty_loss = arg; break;
    case OPT_SSTY_SCALE: o->ssty_scale = sp_arg_double("--ssty-scale", arg, 1e-9, 1e9); break;
    case OPT_TWIN_SCALE:
        o->twin_scale = sp_arg_double("--twin-current-scale", arg, 1e-9, 1e9);
        break;
    case OPT_ROUND: o->round = (int)sp_arg_long("--round", arg, 1, 4096); break;
    default: return -1;
    }
    return 0;
}

static void parse_command_line(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"block", required_argument, NULL, 'k'},
        {"rate", required_argument, NULL, OPT_RATE},
        {"recipe", required_argument, NULL, OPT_RECIPE},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"beta-range", required_argument, NULL, OPT_BETA_RANGE},
        {"beta-start", required_argument, NULL, OPT_BETA0},
        {"beta-end", required_argument, NULL, OPT_BETA1},
        {"sort", required_argument, NULL, OPT_SORT},
        {"pool", required_argument, NULL, OPT_POOL},
        {"ssty-loss", required_argument, NULL, OPT_SSTY_LOSS},
        {"ssty-scale", required_argument, NULL, OPT_SSTY_SCALE},
        {"twin-current-scale", required_argument, NULL, OPT_TWIN_SCALE},
        {"round", required_argument, NULL, OPT_ROUND},
        {NULL, 0, NULL, 0},
    };
    const sp_cli_own own = {longopts, "k:", take_option, o, usage_text};
    memset(o, 0, sizeof *o);
    sp_cli_train_init(&o->c, &o->t);
    o->block = -1;
    o->rate = o->beta0 = o->beta1 = NAN;
    o->ssty_scale = o->twin_scale = 1.0;
    o->window = 20;
    o->beta_range = 100;
    o->t.sgd.weight_decay = 5e-4f;
    sp_cli_train_parse(&o->c, argc, argv, &own);
    o->c.input = sp_arg_operand(argc, argv, optind);
    if (o->block < 0)
        sp_die_usage("which block to prune? (--block K; sp-inspect --blocks lists them)");
    if (!o->c.data || !o->c.val)
        sp_die_usage("both a training set (--data) and a validation set (--val) are needed");
    if (o->sort && strcmp(o->sort, "global") != 0 && strcmp(o->sort, "layer") != 0)
        sp_die_usage("unknown sort '%s' (expected global or layer)", o->sort);
    if (o->pool && strcmp(o->pool, "all") != 0 && strcmp(o->pool, "masked") != 0)
        sp_die_usage("unknown pool '%s' (expected all or masked)", o->pool);
    if (o->ssty_loss && strcmp(o->ssty_loss, "logit") != 0 && strcmp(o->ssty_loss, "ce") != 0)
        sp_die_usage("unknown sensitivity loss '%s' (expected logit or ce)", o->ssty_loss);
    sp_cli_train_check(&o->c);
}

/* ---- progress and log ----------------------------------------------- */

static void on_step(void *ctx, const sp_train_progress *p)
{
    options *o = ctx;
    sp_log_train_step(o->c.logf, p);
    if (p->epoch != o->bar_epoch) {
        o->bar_epoch = p->epoch;
        sp_progress_start(o->c.bar, "block %d epoch %d/%d", o->block, p->epoch + 1, p->epochs);
    }
    sp_progress_update(o->c.bar, p->batch, p->batches, "loss %.4f acc %.1f%%", p->loss,
                       p->accuracy);
}

static void on_window(void *ctx, const sp_stage_report *r)
{
    options *o = ctx;
    sp_log *logf = o->c.logf;
    if (!logf)
        return;
    sp_log_begin(logf);
    sp_log_printf(logf, "\"window\": %lld, \"epoch\": %d, \"masks\": [", (long long)r->step,
                  r->epoch + 1);
    for (int k = 0; k < r->nsite; k++)
        sp_log_printf(logf, "%s{\"mask\": \"%s\", \"channels\": %d, \"kept\": %d, "
                      "\"beta\": %.6g, \"lambda\": %.6g, \"two_side\": %.4f}", k ? ", " : "",
                      r->site[k], r->channels[k], r->kept[k], (double)r->beta[k],
                      (double)r->lambda[k], r->two_side[k]);
    sp_log_printf(logf, "]}\n");
    sp_log_flush(logf);
}

static void on_epoch(void *ctx, const sp_train_progress *p)
{
    options *o = ctx;
    sp_log_train_epoch(o->c.logf, p);
    sp_info("block %d, epoch %d/%d: top-1 with hard masks %.2f%% (best %.2f%%, epoch %d)",
            o->block, p->epoch + 1, p->epochs, sp_metrics_top1(&p->val), p->best_top1,
            p->best_epoch + 1);
}

/* ---- checks and set-up ---------------------------------------------- */

static void check_stage(const options *o, const sp_model *m)
{
    const char *what = sp_in_name(o->c.input);
    if (!sp_graph_block(m->graph, o->block))
        sp_die("%s has no block %d (sp-inspect --blocks lists them)", what, o->block);
    const char *state = sp_model_meta(m, "stage.state");
    if (state && strcmp(state, "trained") == 0)
        sp_die("%s already holds a trained stage (block %s): compress it first with "
               "sp-compress", what, sp_model_meta(m, "stage.block"));
    const char *done = sp_model_meta(m, "stage.compressed");
    for (const char *p = done; p && *p;) {
        char *end;
        long k = strtol(p, &end, 10);
        if (end == p)
            break;
        if (k == o->block)
            sp_die("block %d of %s is already compressed", o->block, what);
        p = *end == ',' ? end + 1 : end;
    }
}

static void setup_stage(options *o, sp_model *m, const sp_dataset *train, sp_stage_opts *so)
{
    const sp_recipe *r = o->recipe ? sp_recipe_lookup(o->recipe) : sp_recipe_for(m->graph);
    if (!r)
        sp_die_usage("%s", sp_error());
    memset(so, 0, sizeof *so);
    so->recipe = r;
    so->block = o->block;
    so->rate = isnan(o->rate) ? r->rate : o->rate;
    so->sort_layer = o->sort ? strcmp(o->sort, "layer") == 0 : r->sort_layer;
    so->pool_masked = o->pool && strcmp(o->pool, "masked") == 0;
    so->window = o->window;
    so->beta_range = o->beta_range;
    so->beta0 = isnan(o->beta0) ? r->beta0 : o->beta0;
    so->beta1 = isnan(o->beta1) ? r->beta1 : o->beta1;
    so->ssty_loss = o->ssty_loss && strcmp(o->ssty_loss, "ce") == 0 ? SP_SSTY_CE : SP_SSTY_LOGIT;
    so->ssty_scale = o->ssty_scale;
    so->twin_current_scale = o->twin_scale;
    so->round = o->round;
    so->seed = o->t.seed;
    so->epochs = o->t.epochs ? o->t.epochs : r->epochs;
    so->batch = o->t.batch ? o->t.batch : r->batch;
    so->batches = (sp_data_count(train) + so->batch - 1) / so->batch;
    o->t.epochs = so->epochs;
    o->t.batch = so->batch;
    o->t.schedule = SP_SCHED_STEP;
    o->t.step_every = sp_stage_lr_step(so);
    o->t.mask_grads = 1;
}

/* The training set must have the network's channels. */
static void check_channels(const options *o, const sp_dataset *d)
{
    int c = o->t.pre.c;
    if (sp_data_channels(d) != c)
        sp_die("'%s' has %d-channel images but the network takes %d channel%s", o->c.data,
               sp_data_channels(d), c, SP_PLURAL(c));
}

int main(int argc, char **argv)
{
    options o;
    sp_cli_init("sp-train-mask");
    parse_command_line(argc, argv, &o);
    int rank = sp_cli_train_start(&o.c);
    sp_model *m = sp_ckpt_load_or_die(o.c.input);
    check_stage(&o, m);
    sp_dataset *train = sp_data_open_or_die(o.c.data);
    sp_dataset *val = sp_data_open_or_die(o.c.val);
    sp_cli_train_preproc(&o.c, m, train);
    check_channels(&o, train);
    sp_stage_opts so;
    setup_stage(&o, m, train, &so);
    char crc[16];
    snprintf(crc, sizeof crc, "%08x", (unsigned)sp_model_crc32(m));
    if (sp_mask_insert(m, o.block) < 0)
        sp_die("%s: %s", sp_in_name(o.c.input), sp_error());
    sp_cli_train_resume(&o.c);
    sp_backend *b = sp_backend_create_or_die(o.c.device);
    if (o.c.verbose)
        sp_cli_verbose(o.c.device);
    sp_stage *st = sp_stage_new(b, m, &so);
    if (!st)
        sp_die("%s: %s", sp_in_name(o.c.input), sp_error());
    sp_cli_train_progress(&o.c);
    o.bar_epoch = -1;
    o.t.hooks = sp_stage_hooks(st, on_window, &o);
    o.t.on_start = o.c.verbose ? sp_cli_verbose_exec : NULL;
    o.t.on_step = on_step;
    o.t.on_epoch = on_epoch;
    o.t.ctx = &o;
    sp_cli_train_run(&o.c, b, m, train, val);
    sp_model_set_meta(m, "stage.input", crc);
    if (rank == 0)
        sp_info("block %d: kept %s of the channels per mask, top-1 %s%% with hard masks", o.block,
            sp_model_meta(m, "stage.kept"), sp_model_meta(m, "train.best_top1"));
    sp_cli_train_save(&o.c, m);
    sp_stage_free(st);
    sp_backend_destroy(b);
    sp_data_close(train);
    sp_data_close(val);
    sp_model_free(m);
    sp_cli_dist_end();
    return SP_EXIT_OK;
}
