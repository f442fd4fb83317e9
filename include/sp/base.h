/* base.h: error reporting and checked allocation shared by the whole library.
 *
 * Library functions never print and never exit.  A function that fails
 * records one sentence with sp_errorf() and returns -1 (or NULL); the caller
 * either adds context and returns, or, in a program, prints it with die().
 * The message is thread-local, so worker threads do not clobber each other. */
#ifndef SP_BASE_H
#define SP_BASE_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define SP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define SP_NORETURN __attribute__((noreturn))
#else
#define SP_PRINTF(a, b)
#define SP_NORETURN
#endif

/* How messages name standard input. */
#define SP_STDIN_NAME "standard input"

#define SP_COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* The plural ending of a count in a message: "%d channel%s", n, SP_PLURAL(n). */
#define SP_PLURAL(n) ((n) == 1 ? "" : "s")

/* Record the current error (printf-style, no trailing newline or period
 * needed: messages are sentences without a final full stop, as git's).
 * Always returns -1 so that `return sp_errorf(...)` reads naturally. */
int sp_errorf(const char *fmt, ...) SP_PRINTF(1, 2);

/* Prefix the recorded error with more context: "CONTEXT: previous". */
int sp_error_prefix(const char *fmt, ...) SP_PRINTF(1, 2);

/* The last recorded error of this thread ("" if none). */
const char *sp_error(void);

/* Allocation that aborts the program on exhaustion: out of memory is not a
 * condition sp recovers from, and sp_oom (which says so on stderr and
 * aborts) is the only place the library ends the program.  sp_xcalloc
 * zeroes. */
void sp_oom(size_t bytes) SP_NORETURN;
void *sp_xmalloc(size_t n);
void *sp_xcalloc(size_t count, size_t size);
void *sp_xrealloc(void *p, size_t n);
char *sp_xstrdup(const char *s);
char *sp_xasprintf(const char *fmt, ...) SP_PRINTF(1, 2);

/* Overflow-checked size arithmetic, the one place every reader computes
 * sizes from numbers it read: *out = a * b (or a + b); 0, or -1 when the
 * result does not fit (then *out is unspecified). */
static inline int sp_mul_u64(uint64_t *out, uint64_t a, uint64_t b)
{
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}
static inline int sp_add_u64(uint64_t *out, uint64_t a, uint64_t b)
{
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}
static inline int sp_mul_i64(int64_t *out, int64_t a, int64_t b)
{
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}
static inline int sp_add_i64(int64_t *out, int64_t a, int64_t b)
{
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}
static inline int sp_mul_size(size_t *out, size_t a, size_t b)
{
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}
/* Counts of non-negative things that stop at INT64_MAX instead of wrapping. */
static inline int64_t sp_sat_mul(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}
static inline int64_t sp_sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

/* CRC-32 (the zlib / IEEE 802.3 polynomial), continuing from crc (0 to start). */
uint32_t sp_crc32(uint32_t crc, const void *data, size_t n);

#endif
