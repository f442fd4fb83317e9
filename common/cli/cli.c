/* cli.c: messages, exit codes, checked arguments and atomic outputs shared
 * by every program (see cli.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sp/cli.h"
#include "sp/tmpfile.h"
#include "cli_priv.h"

static const char *progname = "sp";
static int status_shown;      /* a progress line is on stderr */

struct sp_out {
    FILE *f;
    char *path, *tmp;     /* tmp == NULL: stdout */
};

/* Temporary outputs still open, removed by die() and by fatal signals. */
#define MAX_PENDING 8
static char *pending[MAX_PENDING];

static void remove_pending(void)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i]) {
            unlink(pending[i]);
            pending[i] = NULL;
        }
}

static void on_signal(int sig)
{
    for (int i = 0; i < MAX_PENDING; i++)   /* unlink is async-signal-safe */
        if (pending[i])
            unlink(pending[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

void sp_cli_init(const char *name)
{
    progname = name;
    signal(SIGXFSZ, SIG_IGN);   /* past `ulimit -f` a write fails with EFBIG, said so */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGPIPE, on_signal);
}

const char *sp_progname(void) { return progname; }

void sp_cli_status_drawn(void) { status_shown = 1; }

void sp_cli_status_erase(void)
{
    if (status_shown)
        fputs("\r\033[K", stderr);
    status_shown = 0;
}

static void vmessage(const char *kind, const char *fmt, va_list ap)
{
    char buf[2048];
    sp_cli_status_erase();
    vsnprintf(buf, sizeof buf, fmt, ap);
    fprintf(stderr, "%s: %s%s\n", progname, kind, buf);
}

void sp_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("", fmt, ap);
    va_end(ap);
    remove_pending();
    exit(SP_EXIT_FAIL);
}

void sp_die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("", fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", progname);
    remove_pending();
    exit(SP_EXIT_USAGE);
}

void sp_warning(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("warning: ", fmt, ap);
    va_end(ap);
}

void sp_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("", fmt, ap);
    va_end(ap);
}

void sp_die_bad_option(char *const argv[], int c)
{
    const char *arg = argv[optind - 1];
    char name[256];
    if (strncmp(arg, "--", 2) == 0 || !optopt)
        snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
    else
        snprintf(name, sizeof name, "-%c", optopt);
    if (c == ':')
        sp_die_usage("option '%s' needs an argument", name);
    sp_die_usage("unrecognized option '%s'", name);
}

void sp_print_help(const char *text)
{
    fputs(text, stdout);
    sp_stdout_close();
    exit(SP_EXIT_OK);
}

void sp_print_version(void)
{
    printf("%s %s\n", progname, SP_VERSION);
    sp_stdout_close();
    exit(SP_EXIT_OK);
}

long sp_arg_long(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno)
        sp_die_usage("invalid number '%s' for %s", s, opt);
    if (v < min || v > max)
        sp_die_usage("%s must be between %ld and %ld, not '%s'", opt, min, max, s);
    return v;
}

double sp_arg_double(const char *opt, const char *s, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v))
        sp_die_usage("invalid number '%s' for %s", s, opt);
    if (v < min || v > max)
        sp_die_usage("%s must be between %g and %g, not '%s'", opt, min, max, s);
    return v;
}

void sp_arg_dims(const char *opt, const char *s, int *c, int *h, int *w)
{
    long v[3];
    int n = 0;
    const char *p = s;
    while (n < 3) {
        char *end;
        errno = 0;
        v[n] = strtol(p, &end, 10);
        if (end == p || errno || v[n] < 1 || v[n] > 65536)
            sp_die_usage("invalid size '%s' for %s (expected CxHxW or HxW)", s, opt);
        n++;
        if (*end == 0)
            break;
        if (*end != 'x' || n == 3)
            sp_die_usage("invalid size '%s' for %s (expected CxHxW or HxW)", s, opt);
        p = end + 1;
    }
    if (n == 3) {
        *c = (int)v[0];
        *h = (int)v[1];
        *w = (int)v[2];
    } else if (n == 2) {
        *h = (int)v[0];
        *w = (int)v[1];
    } else {
        sp_die_usage("invalid size '%s' for %s (expected CxHxW or HxW)", s, opt);
    }
}

const char *sp_arg_operand(int argc, char **argv, int first)
{
    return sp_arg_operand_why(argc, argv, first, NULL);
}

const char *sp_arg_operand_why(int argc, char **argv, int first, const char *why)
{
    if (first + 1 < argc && why)
        sp_die_usage("too many arguments: %s", why);
    if (first + 1 < argc)
        sp_die_usage("unexpected argument '%s'", argv[first + 1]);
    return first < argc ? argv[first] : NULL;
}

void sp_arg_none(int argc, char **argv, int first)
{
    if (first < argc)
        sp_die_usage("unexpected argument '%s'", argv[first]);
}

static int is_stdio(const char *path) { return !path || strcmp(path, "-") == 0; }

/* ---- inputs are never outputs ----
 * Every file a program reads is recorded by device and inode, so that an
 * output naming it (by any path or link) is refused before anything is
 * written, and again just before the finished output would replace it. */
#define MAX_INPUTS 64
static struct { dev_t dev; ino_t ino; } inputs[MAX_INPUTS];
static int ninputs;

static void record_input(const struct stat *st)
{
    if (ninputs < MAX_INPUTS) {
        inputs[ninputs].dev = st->st_dev;
        inputs[ninputs].ino = st->st_ino;
        ninputs++;
    }
}

void sp_cli_input(const char *path)
{
    struct stat st;
    if (!is_stdio(path) && stat(path, &st) == 0)
        record_input(&st);
}

/* Dies when path exists and is one of the inputs. */
static void refuse_input(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    for (int i = 0; i < ninputs; i++)
        if (inputs[i].dev == st.st_dev && inputs[i].ino == st.st_ino)
            sp_die("refusing to write '%s': it is an input of this command", path);
}

const char *sp_in_name(const char *path) { return is_stdio(path) ? SP_STDIN_NAME : path; }

FILE *sp_in_open(const char *path)
{
    if (is_stdio(path) && isatty(STDIN_FILENO))
        sp_die_usage("refusing to read binary data from a terminal; name a FILE or use a pipe");
    return sp_in_open_text(path);
}

FILE *sp_in_open_text(const char *path)
{
    struct stat sti;
    if (is_stdio(path)) {
        if (fstat(STDIN_FILENO, &sti) == 0 && S_ISREG(sti.st_mode))
            record_input(&sti);
        return stdin;
    }
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f)
        sp_die("cannot open '%s': %s", path, strerror(errno));
    if (fstat(fileno(f), &st) == 0)
        record_input(&st);
    return f;
}

void sp_in_close(FILE *f)
{
    if (f && f != stdin)
        fclose(f);
}

sp_out *sp_out_open(const char *path, int binary)
{
    sp_out *o = sp_xcalloc(1, sizeof *o);
    if (is_stdio(path)) {
        if (binary && isatty(STDOUT_FILENO))
            sp_die_usage("refusing to write binary data to a terminal; use -o FILE or a pipe");
        o->f = stdout;
        return o;
    }
    refuse_input(path);
    sp_tmp_sweep(path);
    o->path = sp_xstrdup(path);
    o->tmp = sp_tmp_name(path);
    int slot = -1;
    for (int i = 0; i < MAX_PENDING && slot < 0; i++)
        if (!pending[i])
            slot = i;
    if (slot < 0)
        sp_die("too many outputs open at once");
    o->f = fopen(o->tmp, "wb");
    if (!o->f)
        sp_die("cannot create '%s': %s", path, strerror(errno));
    pending[slot] = o->tmp;
    return o;
}

void sp_out_check(const char *path)
{
    if (is_stdio(path))
        return;
    refuse_input(path);
    char *tmp = sp_tmp_name(path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
        sp_die("cannot write '%s': %s", path, strerror(errno));
    close(fd);
    unlink(tmp);
    free(tmp);
}

FILE *sp_out_file(sp_out *o) { return o->f; }

void sp_out_write(sp_out *o, const void *p, size_t n)
{
    if (fwrite(p, 1, n, o->f) == n)
        return;
    if (!o->tmp && errno == EPIPE)
        exit(SP_EXIT_FAIL);     /* the reader went away: nothing to say */
    sp_die("cannot write %s%s%s: %s", o->tmp ? "'" : "", o->tmp ? o->path : "to standard output",
           o->tmp ? "'" : "", strerror(errno));
}

void sp_out_commit(sp_out *o)
{
    if (!o->tmp) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
            if (errno == EPIPE)
                exit(SP_EXIT_FAIL);
            sp_die("cannot write to standard output: %s", strerror(errno));
        }
        free(o);
        return;
    }
    if (ferror(o->f) | (fflush(o->f) != 0) | (fsync(fileno(o->f)) != 0) | (fclose(o->f) != 0)) {
        int e = errno;
        o->f = NULL;
        sp_die("cannot write '%s': %s", o->path, strerror(e));
    }
    refuse_input(o->path);
    if (rename(o->tmp, o->path) != 0)
        sp_die("cannot rename the finished output to '%s': %s", o->path, strerror(errno));
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i] == o->tmp)
            pending[i] = NULL;
    free(o->tmp);
    free(o->path);
    free(o);
}

void sp_stdout_close(void)
{
    if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
        if (errno == EPIPE)
            exit(SP_EXIT_FAIL);
        sp_die("cannot write to standard output: %s", strerror(errno));
    }
}
