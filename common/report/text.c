/* text.c: growing text and series of numbers, the raw material of a report. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/report.h"

void sp_text_add(sp_text *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        t->cap = (t->n + n + 1) * 2;
        t->p = sp_xrealloc(t->p, t->cap);
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = 0;
}

void sp_text_puts(sp_text *t, const char *s)
{
    sp_text_add(t, s, strlen(s));
}

void sp_text_printf(sp_text *t, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        sp_text_add(t, small, (size_t)n);
        return;
    }
    char *big = sp_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sp_text_add(t, big, (size_t)n);
    free(big);
}

void sp_text_xml(sp_text *t, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': sp_text_puts(t, "&amp;"); break;
        case '<': sp_text_puts(t, "&lt;"); break;
        case '>': sp_text_puts(t, "&gt;"); break;
        case '"': sp_text_puts(t, "&quot;"); break;
        case '\'': sp_text_puts(t, "&#39;"); break;
        default: sp_text_add(t, s, 1);
        }
    }
}

void sp_text_free(sp_text *t)
{
    free(t->p);
    memset(t, 0, sizeof *t);
}

void sp_series_add(sp_series *s, double x, double y)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->x = sp_xrealloc(s->x, (size_t)s->cap * sizeof *s->x);
        s->y = sp_xrealloc(s->y, (size_t)s->cap * sizeof *s->y);
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
}

void sp_series_cut(sp_series *s, double x)
{
    while (s->n > 0 && s->x[s->n - 1] >= x)
        s->n--;
}

sp_series sp_series_smooth(const sp_series *s, int w)
{
    sp_series m = {0};
    double sum = 0;
    int cnt = 0;
    for (int i = 0; i < s->n; i++) {
        if (isfinite(s->y[i]))
            sum += s->y[i], cnt++;
        if (i >= w && isfinite(s->y[i - w]))
            sum -= s->y[i - w], cnt--;
        sp_series_add(&m, s->x[i], cnt ? sum / cnt : NAN);
    }
    return m;
}

void sp_series_free(sp_series *s)
{
    free(s->x);
    free(s->y);
    memset(s, 0, sizeof *s);
}
