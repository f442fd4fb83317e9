/* svg.c: the report's pictures as SVG: stacked line panels over one x axis,
 * values per category, and before/after bars.  Plain SVG 1.1 (no script,
 * no CSS), so any renderer draws it, inline in HTML or on its own. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "sp/report.h"

static const char *const palette[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};
/* Every picture is WIDTH pixels wide; a panel is PANEL_H high, its plot
 * inset by the margins, the legend in the RIGHT margin. */
enum { WIDTH = 820, PANEL_H = 170, LEFT = 64, RIGHT = 200, TOP = 26, BOTTOM = 34,
       LEGEND_ROWS = 9 };

typedef struct frame {
    double x, y, w, h;            /* the plotting area, pixels */
    double x0, x1, y0, y1;        /* the data range it shows */
} frame;

static double fx(const frame *f, double x)
{
    return f->x + (f->x1 > f->x0 ? (x - f->x0) / (f->x1 - f->x0) : 0.5) * f->w;
}

static double fy(const frame *f, double y)
{
    return f->y + f->h - (f->y1 > f->y0 ? (y - f->y0) / (f->y1 - f->y0) : 0.5) * f->h;
}

static void begin(sp_text *t, int h, const char *title)
{
    sp_text_printf(t, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                   "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n<title>",
                   WIDTH, h, WIDTH, h);
    sp_text_xml(t, title);
    sp_text_printf(t, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, h);
}

static void text(sp_text *t, double x, double y, const char *anchor, const char *attr,
                 const char *s)
{
    sp_text_printf(t, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s>", x, y, anchor,
                   attr ? " " : "", attr ? attr : "");
    sp_text_xml(t, s);
    sp_text_puts(t, "</text>\n");
}

/* A round step (1, 2 or 5 times a power of ten) cutting [lo, hi] in about n. */
static double nice_step(double lo, double hi, int n)
{
    double raw = (hi - lo) / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return p * (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10);
}

/* Widen [lo, hi] to round ticks; a flat range gets some room. */
static void nice_range(double *lo, double *hi)
{
    if (!(*hi > *lo)) {
        double d = fabs(*lo) > 0 ? fabs(*lo) * 0.1 : 1;
        *lo -= d;
        *hi += d;
    }
    double s = nice_step(*lo, *hi, 4);
    *lo = floor(*lo / s + 1e-9) * s;
    *hi = ceil(*hi / s - 1e-9) * s;
}

static void tick_label(char *s, size_t n, double v, double step)
{
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) >= 1e6 || (v != 0 && fabs(v) < 1e-3))
        snprintf(s, n, "%.3g", v);
    else
        snprintf(s, n, "%.*f", dec, fabs(v) < step / 2 ? 0.0 : v);
}

/* The frame, its title and y ticks; x ticks at whole numbers when xlabel. */
static void axes(sp_text *t, const frame *f, const char *title, const char *xlabel)
{
    char s[32];
    if (title)
        text(t, f->x, f->y - 8, "start", "font-weight=\"bold\"", title);
    sp_text_printf(t, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                   "stroke=\"#999\"/>\n", f->x, f->y, f->w, f->h);
    double step = nice_step(f->y0, f->y1, 4);
    for (double v = ceil(f->y0 / step - 1e-9) * step; v <= f->y1 + step * 1e-6; v += step) {
        double y = fy(f, v);
        sp_text_printf(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                       "stroke=\"#e5e5e5\"/>\n", f->x, y, f->x + f->w, y);
        tick_label(s, sizeof s, v, step);
        text(t, f->x - 5, y + 4, "end", NULL, s);
    }
    if (!xlabel)
        return;
    step = fmax(1, nice_step(f->x0, f->x1 > f->x0 ? f->x1 : f->x0 + 1, 6));
    for (double v = ceil(f->x0 / step - 1e-9) * step; v <= f->x1 + step * 1e-6; v += step) {
        tick_label(s, sizeof s, v, step);
        text(t, fx(f, v), f->y + f->h + 14, "middle", NULL, s);
    }
    text(t, f->x + f->w, f->y + f->h + 28, "end", "fill=\"#555\"", xlabel);
}

/* One line; a long series is drawn as the means of at most 800 buckets. */
static void polyline(sp_text *t, const frame *f, const sp_series *s, const char *color,
                     double width)
{
    if (s->n == 0)
        return;
    int buckets = s->n > 800 ? 800 : s->n;
    sp_text_printf(t, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" points=\"",
                   color, width);
    for (int k = 0; k < buckets; k++) {
        long i0 = (long)k * s->n / buckets, i1 = (long)(k + 1) * s->n / buckets;
        double x = 0, y = 0;
        int m = 0;
        for (long i = i0; i < i1; i++)
            if (isfinite(s->y[i]))
                x += s->x[i], y += s->y[i], m++;
        if (m)
            sp_text_printf(t, "%.1f,%.1f ", fx(f, x / m), fy(f, y / m));
    }
    sp_text_puts(t, "\"/>\n");
}

static void dots(sp_text *t, const frame *f, const sp_series *s, const char *color)
{
    for (int i = 0; i < s->n; i++)
        if (isfinite(s->y[i]))
            sp_text_printf(t, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                           fx(f, s->x[i]), fy(f, s->y[i]), color);
}

static void legend(sp_text *t, const frame *f, int row, const char *color, const char *s)
{
    double x = f->x + f->w + 12, y = f->y + 10 + 14 * row;
    if (color)
        sp_text_printf(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                       "stroke-width=\"2.5\"/>\n", x, y - 4, x + 16, y - 4, color);
    text(t, x + 20, y, "start", NULL, s);
}

static void panel(sp_text *t, const sp_plot_panel *p, double top, double x0, double x1,
                  const char *xlabel)
{
    frame f = {LEFT, top + TOP, WIDTH - LEFT - RIGHT, PANEL_H - TOP - BOTTOM, x0, x1, INFINITY,
               -INFINITY};
    for (int k = 0; k < p->n; k++)
        for (int i = 0; i < p->line[k].s->n; i++)
            if (isfinite(p->line[k].s->y[i])) {
                f.y0 = fmin(f.y0, p->line[k].s->y[i]);
                f.y1 = fmax(f.y1, p->line[k].s->y[i]);
            }
    if (!isfinite(f.y0))
        f.y0 = 0, f.y1 = 1;
    nice_range(&f.y0, &f.y1);
    axes(t, &f, p->title, xlabel);
    int named = 0, row = 0;
    for (int k = 0; k < p->n; k++)
        named += p->line[k].name != NULL;
    for (int k = 0; k < p->n; k++) {
        const sp_plot_line *l = &p->line[k];
        const char *color = l->color ? l->color : palette[k % SP_COUNT(palette)];
        if (l->faint)
            sp_text_puts(t, "<g opacity=\"0.3\">\n");
        polyline(t, &f, l->s, color, l->faint ? 1 : p->n > 4 ? 1.2 : 1.6);
        if (l->faint)
            sp_text_puts(t, "</g>\n");
        if (l->dots || l->s->n == 1)
            dots(t, &f, l->s, color);
        if (!l->name)
            continue;
        if (row < LEGEND_ROWS || named == LEGEND_ROWS + 1) {
            legend(t, &f, row, color, l->name);
        } else if (row == LEGEND_ROWS) {
            char more[48];
            snprintf(more, sizeof more, "(and %d more)", named - LEGEND_ROWS);
            legend(t, &f, row, NULL, more);
        }
        row++;
    }
}

void sp_svg_panels(sp_text *svg, const char *title, const sp_plot_panel *p, int n,
                   const char *xlabel)
{
    double x0 = INFINITY, x1 = -INFINITY;
    for (int k = 0; k < n; k++)
        for (int j = 0; j < p[k].n; j++)
            for (int i = 0; i < p[k].line[j].s->n; i++) {
                x0 = fmin(x0, p[k].line[j].s->x[i]);
                x1 = fmax(x1, p[k].line[j].s->x[i]);
            }
    if (!isfinite(x0))
        x0 = 0, x1 = 1;
    if (x0 > 0 && x0 < 0.2 * x1)   /* steps: count from 0 */
        x0 = 0;
    begin(svg, n * PANEL_H, title);
    for (int k = 0; k < n; k++)
        panel(svg, &p[k], k * PANEL_H, x0, x1, xlabel);
    sp_text_puts(svg, "</svg>\n");
}

void sp_svg_categories(sp_text *svg, const char *title, const char *const *label,
                       const double *v, int n)
{
    int h = 260, top = 44;            /* room for the values above the highest points */
    frame f = {LEFT, top, WIDTH - LEFT - 40, h - top - 60, -0.5, n - 0.5, INFINITY, -INFINITY};
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) {
            f.y0 = fmin(f.y0, v[i]);
            f.y1 = fmax(f.y1, v[i]);
        }
    if (!isfinite(f.y0))
        f.y0 = 0, f.y1 = 1;
    nice_range(&f.y0, &f.y1);
    begin(svg, h, title);
    text(svg, f.x, 18, "start", "font-weight=\"bold\"", title);
    axes(svg, &f, NULL, NULL);
    sp_text_puts(svg, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"");
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]))
            sp_text_printf(svg, "%.1f,%.1f ", fx(&f, i), fy(&f, v[i]));
    sp_text_puts(svg, "\"/>\n");
    for (int i = 0; i < n; i++) {
        double x = fx(&f, i);
        sp_text_printf(svg, "<text transform=\"translate(%.1f,%.1f) rotate(-30)\" "
                       "text-anchor=\"end\">", x + 4, f.y + f.h + 14);
        sp_text_xml(svg, label[i]);
        sp_text_puts(svg, "</text>\n");
        if (!isfinite(v[i]))
            continue;
        char s[32];
        snprintf(s, sizeof s, "%.2f", v[i]);
        sp_text_printf(svg, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\"/>\n", x,
                       fy(&f, v[i]));
        text(svg, x, fy(&f, v[i]) - 8, "middle", NULL, s);
    }
    sp_text_puts(svg, "</svg>\n");
}

void sp_svg_bars(sp_text *svg, const char *title, const sp_bar_row *r, int n)
{
    int row = 15, top = 46, label_w = 170, h = top + n * row + 20;
    double maxv = 1, w = WIDTH - label_w - 80;
    for (int i = 0; i < n; i++)
        maxv = fmax(maxv, fmax(r[i].before, r[i].after));
    begin(svg, h, title);
    text(svg, 10, 16, "start", "font-weight=\"bold\"", title);
    sp_text_printf(svg, "<rect x=\"%d\" y=\"24\" width=\"14\" height=\"9\" fill=\"#d0d0d0\"/>\n"
                   "<rect x=\"%d\" y=\"24\" width=\"14\" height=\"9\" fill=\"%s\"/>\n",
                   label_w, label_w + 70, palette[0]);
    text(svg, label_w + 18, 33, "start", NULL, "before");
    text(svg, label_w + 88, 33, "start", NULL, "after (colour: block)");
    for (int i = 0; i < n; i++) {
        double y = top + i * row;
        char s[64];
        if (i == 0 || r[i].group != r[i - 1].group)
            sp_text_printf(svg, "<line x1=\"10\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                           "stroke=\"#bbb\"/>\n", y - 1.5, WIDTH - 10, y - 1.5);
        text(svg, label_w - 6, y + 10, "end", NULL, r[i].name);
        sp_text_printf(svg, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"11\" "
                       "fill=\"#d0d0d0\"/>\n", label_w, y + 1, w * r[i].before / maxv);
        sp_text_printf(svg, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"11\" fill=\"%s\"/>\n",
                       label_w, y + 1, w * r[i].after / maxv,
                       palette[(r[i].group < 0 ? 0 : r[i].group) % (int)SP_COUNT(palette)]);
        snprintf(s, sizeof s, "%g / %g", r[i].after, r[i].before);
        text(svg, label_w + w * fmax(r[i].before, r[i].after) / maxv + 5, y + 10, "start", NULL, s);
    }
    sp_text_puts(svg, "</svg>\n");
}
