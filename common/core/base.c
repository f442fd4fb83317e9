/* base.c: thread-local error messages, checked allocation, CRC-32. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "sp/base.h"

static _Thread_local char err_buf[1024];

int sp_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
    return -1;
}

int sp_error_prefix(const char *fmt, ...)
{
    char old[sizeof err_buf];
    va_list ap;
    memcpy(old, err_buf, sizeof old);
    va_start(ap, fmt);
    int n = vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof err_buf)
        snprintf(err_buf + n, sizeof err_buf - (size_t)n, ": %s", old);
    return -1;
}

const char *sp_error(void)
{
    return err_buf;
}

/* The one place the library stops the program: memory is exhausted, which
 * sp does not try to survive (base.h). */
void sp_oom(size_t n)
{
    fprintf(stderr, "sp: out of memory (%zu bytes)\n", n);
    abort();
}

static void *check(void *p, size_t n)
{
    if (!p && n)
        sp_oom(n);
    return p;
}

void *sp_xmalloc(size_t n) { return check(malloc(n ? n : 1), n); }
void *sp_xcalloc(size_t count, size_t size) { return check(calloc(count ? count : 1, size ? size : 1), count * size); }
void *sp_xrealloc(void *p, size_t n) { return check(realloc(p, n ? n : 1), n); }
char *sp_xstrdup(const char *s) { return check(strdup(s), strlen(s) + 1); }

char *sp_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return check(n < 0 ? NULL : s, 1);
}

uint32_t sp_crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n > 0) {   /* zlib takes uInt lengths */
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}
