/* cli.h: the conventions every sp program shares.
 *
 * Messages go to stderr prefixed with the program name ("sp-flops: ...").
 * Exit status: 0 success, 1 failure (runtime error or bad data), 2 usage.
 * Outputs named with -o are written to a temporary name beside the target
 * and renamed only when complete; die() removes any temporary still open,
 * so a failed or killed run never leaves a half-written file under the
 * final name. */
#ifndef SP_CLI_H
#define SP_CLI_H

#include <stdio.h>
#include "sp/base.h"

enum { SP_EXIT_OK = 0, SP_EXIT_FAIL = 1, SP_EXIT_USAGE = 2 };

/* Call first in main(): records the program name for messages, installs the
 * handlers that remove temporary outputs on SIGINT/SIGTERM/SIGPIPE. */
void sp_cli_init(const char *progname);
const char *sp_progname(void);

void sp_die(const char *fmt, ...) SP_PRINTF(1, 2) SP_NORETURN;        /* exit 1 */
void sp_die_usage(const char *fmt, ...) SP_PRINTF(1, 2) SP_NORETURN;  /* exit 2, adds "try --help" */
void sp_warning(const char *fmt, ...) SP_PRINTF(1, 2);
void sp_info(const char *fmt, ...) SP_PRINTF(1, 2);   /* progress / notes, stderr */

/* After getopt_long returned ':' (missing argument; the option string must
 * start with ':') or '?' (unknown option): say which option, exit 2. */
void sp_die_bad_option(char *const argv[], int c) SP_NORETURN;

/* Print a program's --help text on stdout and exit 0. */
void sp_print_help(const char *text) SP_NORETURN;

/* Print "PROG VERSION" on stdout and exit 0. */
void sp_print_version(void) SP_NORETURN;

/* Checked number parsing: the whole string must be a number in [min, max];
 * otherwise die_usage naming the option and quoting the argument. */
long sp_arg_long(const char *opt, const char *s, long min, long max);
double sp_arg_double(const char *opt, const char *s, double min, double max);
/* "CxHxW" or "HxW" (then *c is left alone); dies on anything else. */
void sp_arg_dims(const char *opt, const char *s, int *c, int *h, int *w);
/* The one optional FILE operand, argv[first] (pass optind): NULL when there
 * is none; a second operand dies with usage status: "unexpected argument
 * 'X'", or given why, "too many arguments: WHY". */
const char *sp_arg_operand(int argc, char **argv, int first);
const char *sp_arg_operand_why(int argc, char **argv, int first, const char *why);
/* No operand at all: the first one dies with usage status. */
void sp_arg_none(int argc, char **argv, int first);

/* Input: NULL or "-" is stdin.  Dies with a clear sentence when it cannot
 * be opened, and sp_in_open (binary input) when stdin is a terminal: a
 * program never waits silently for a checkpoint typed at the keyboard.
 * sp_in_name gives the name to use in messages. */
FILE *sp_in_open(const char *path);
FILE *sp_in_open_text(const char *path);
const char *sp_in_name(const char *path);
void sp_in_close(FILE *f);

/* Output of binary data: NULL or "-" is stdout (refused if it is a
 * terminal); a path is written to "PATH.tmp-PID" and renamed by
 * sp_out_commit (opening one removes those that killed runs left).  Any
 * error, including the final close, dies. */
typedef struct sp_out sp_out;
sp_out *sp_out_open(const char *path, int binary);
FILE *sp_out_file(sp_out *o);
/* Write n bytes or die saying why (a broken pipe exits quietly). */
void sp_out_write(sp_out *o, const void *p, size_t n);
void sp_out_commit(sp_out *o);

/* Inputs are never overwritten: every file opened with sp_in_open, and
 * standard input when it is a file, is recorded by device and inode, and
 * an output that names one (by any path or link) is refused, when it is
 * opened and again before it is renamed into place.  sp_cli_input records
 * an input a program opens by other means; call it before sp_out_open. */
void sp_cli_input(const char *path);
/* For programs that write their output only after long work: die now if
 * path is an input or its folder does not accept files. */
void sp_out_check(const char *path);

/* Write errors on stdout (broken pipe: exit quietly, others: die). */
void sp_stdout_close(void);

struct sp_model;
/* Checkpoints: read FILE (NULL or "-" = stdin) or die with one sentence;
 * write to PATH (NULL or "-" = stdout) through sp_out. */
struct sp_model *sp_ckpt_load_or_die(const char *path);
void sp_ckpt_save_or_die(const struct sp_model *m, const char *path);

/* ---- programs that run a network (cli_compute.c, cli_threads.c) ------- */

struct sp_backend;
struct sp_dataset;
struct sp_preproc;
/* --threads N: the compute threads; 0 (not given) keeps OpenMP's default,
 * every core.  Call before the first parallel region.  (Idle threads
 * sleep at once unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set:
 * common/cli/cli_threads.c.) */
void sp_cli_threads(int n);
/* Data-parallel training (sp/dist.h): join the processes of an mpirun
 * launch, or die; the compute threads (--threads, 0: not given) are the
 * machine's cores shared among its processes; input is the FILE operand
 * (NULL or "-": standard input, which only the first process has).
 * Returns this process's rank: only rank 0 writes outputs and logs. */
int sp_cli_dist(int threads, const char *input);
/* The program succeeded: leave the launch.  A process that exits without
 * it (sp_die) ends every other process of the launch. */
void sp_cli_dist_end(void);
/* A packed dataset (sp_data_open), or die. */
struct sp_dataset *sp_data_open_or_die(const char *path);
/* The backend --device names ("auto", "cpu", "cuda", "cuda:N", "ref"), or
 * die. */
struct sp_backend *sp_backend_create_or_die(const char *device);
/* --verbose: say on stderr what the program computes with: the device
 * (--device's name resolved; on the CPU, the instruction set oneDNN uses),
 * the compute threads and where their number came from, and how idle
 * threads wait.  Call once, after sp_cli_threads and sp_cli_dist. */
void sp_cli_verbose(const char *device);
/* --verbose, once the executor is built: how it keeps its activations
 * (sp_exec_describe).  ctx is unused: the shape of sp_train_opts.on_start. */
struct sp_exec;
void sp_cli_verbose_exec(void *ctx, const struct sp_exec *e);
/* The preprocessing of network m on dataset d (d may be NULL) with --mean
 * and --std (NULL: keep) applied, or die: a bad checkpoint is named as
 * `input` (the FILE operand, NULL for stdin), a malformed option is a
 * usage error. */
void sp_preproc_or_die(struct sp_preproc *pre, const struct sp_model *m,
                       const struct sp_dataset *d, const char *input, const char *mean,
                       const char *std);
/* The resume state kept beside a -o output, "OUT.resume" (NULL when the
 * output is stdout; free it), after sp_out_check(output).  *resume (--resume) is cleared when there is
 * no state yet: the first run of a job may be started with --resume. */
char *sp_cli_resume_state(const char *output, int *resume);

/* ---- programs that train a network (cli_train.c) -------------------- */

struct option;
struct sp_train_opts;
struct sp_log;
struct sp_progress;
/* The options sp-finetune and sp-train-mask share, and what a training run
 * keeps beside its sp_train_opts: -d/--data, -v/--val, -e/--epochs,
 * -b/--batch, --lr, --momentum, --weight-decay, --augment, --mean, --std,
 * -s/--seed, --device, -t/--threads, --save-every, -r/--resume, -l/--log,
 * --verbose, -o/--output, -h/--help and -V/--version.  The numbers go into
 * *t (epochs, batch, sgd, seed, save_every, resume, pre.augment). */
typedef struct sp_cli_train {
    struct sp_train_opts *t;
    const char *input;        /* the FILE operand, set by the program */
    const char *output, *data, *val, *log, *device, *mean, *std, *augment;
    int threads;              /* 0: not given */
    int lr_given, wd_given;
    int verbose;
    int rank;                 /* under mpirun, this process's (sp_cli_train_start) */
    char *state;              /* OUT.resume, NULL: none (sp_cli_train_resume) */
    struct sp_log *logf;      /* --log (sp_cli_train_progress) */
    struct sp_progress *bar;
} sp_cli_train;

/* A program's own options: getopt_long entries ending with a zero one
 * (long-only ones numbered from SP_CLI_OPT_OWN to SP_CLI_OPT_OWN + 255),
 * their short letters ("k:"), and take, which stores one (c: the code,
 * arg: its argument) and returns 0, or -1 for a code it does not know. */
enum { SP_CLI_OPT_OWN = 256 };
typedef struct sp_cli_own {
    const struct option *longopts;
    const char *shortopts;
    int (*take)(void *ctx, int c, const char *arg);
    void *ctx;
    const char *usage;        /* the --help text */
} sp_cli_own;

/* Zero c and set the shared defaults (learning rate 0.001, momentum 0.9,
 * save every 200 steps, device auto); the program sets its own in *t
 * after this and before sp_cli_train_parse. */
void sp_cli_train_init(sp_cli_train *c, struct sp_train_opts *t);
/* Read every option of argv, shared or own; --help, --version and a bad
 * option exit.  The operands start at optind. */
void sp_cli_train_parse(sp_cli_train *c, int argc, char **argv, const sp_cli_own *own);
/* After the program's own checks: an unknown --augment, or --resume
 * without -o, is a usage error. */
void sp_cli_train_check(sp_cli_train *c);
/* The compute threads and the mpirun launch (sp_cli_dist): returns the
 * rank; a process other than the first writes no log. */
int sp_cli_train_start(sp_cli_train *c);
/* t->pre: the preprocessing of m on the training set d (sp_preproc_or_die)
 * with --augment, else the checkpoint's, else cifar up to 64 pixels and
 * imagenet above. */
void sp_cli_train_preproc(sp_cli_train *c, const struct sp_model *m,
                          const struct sp_dataset *d);
/* t->state and t->resume from -o and --resume (sp_cli_resume_state). */
void sp_cli_train_resume(sp_cli_train *c);
/* Open --log and the progress bar, which also shows validation. */
void sp_cli_train_progress(sp_cli_train *c);
/* Train (sp_train_run) or die; close the bar and the log. */
void sp_cli_train_run(sp_cli_train *c, struct sp_backend *b, struct sp_model *m,
                      struct sp_dataset *train, struct sp_dataset *val);
/* The first process writes m to -o and removes the resume state. */
void sp_cli_train_save(sp_cli_train *c, const struct sp_model *m);

/* ---- programs that write a new network (cli_norm.c) ------------------- */

/* --norm NAME, --norm-from FILE.spd, --mean V,V,V, --std V,V,V (NULL: not
 * given). */
typedef struct sp_cli_norm {
    const char *preset, *from, *mean, *std;
} sp_cli_norm;
/* After parsing: an unknown preset, or both --norm and --norm-from, is a
 * usage error. */
void sp_cli_norm_check(const sp_cli_norm *n);
/* Replace m's recorded normalisation (the network's default) by the preset
 * or the dataset's statistics, then by --mean and --std; record where the
 * values came from.  Dies with one sentence on a mismatch. */
void sp_cli_norm_apply(struct sp_model *m, const sp_cli_norm *n);

#endif
