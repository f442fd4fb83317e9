/* report.h: what a report is made of, built in memory: growing text,
 * series of numbers, pictures drawn as SVG, and one document written as
 * Markdown and as HTML at once (sp-report(1) assembles them).
 *
 * Nothing here reads or writes files: the caller writes the texts.  Text is
 * UTF-8; every string that goes into SVG or HTML is escaped here. */
#ifndef SP_REPORT_H
#define SP_REPORT_H

#include <stddef.h>
#include "sp/base.h"

/* ---- growing text ---------------------------------------------------- */

typedef struct sp_text {
    char *p;         /* NUL-terminated, NULL while empty */
    size_t n, cap;
} sp_text;

void sp_text_add(sp_text *t, const char *s, size_t n);
void sp_text_puts(sp_text *t, const char *s);
void sp_text_printf(sp_text *t, const char *fmt, ...) SP_PRINTF(2, 3);
/* s with & < > " ' as entities, for XML and HTML. */
void sp_text_xml(sp_text *t, const char *s);
void sp_text_free(sp_text *t);

/* ---- series ----------------------------------------------------------- */

typedef struct sp_series {
    double *x, *y;   /* n points; y may be NaN (not drawn) */
    int n, cap;
} sp_series;

void sp_series_add(sp_series *s, double x, double y);
/* Drop the points from x on: a resumed run logs again from there. */
void sp_series_cut(sp_series *s, double x);
/* The running mean of the last w points, at the same x. */
sp_series sp_series_smooth(const sp_series *s, int w);
void sp_series_free(sp_series *s);

/* ---- pictures (SVG) ---------------------------------------------------- */

typedef struct sp_plot_line {
    const sp_series *s;
    const char *name;    /* in the legend; NULL: not listed */
    const char *color;   /* NULL: the palette's, by position */
    int faint;           /* thin and light, behind the others */
    int dots;            /* a dot on every point */
} sp_plot_line;

enum { SP_PLOT_LINES = 16 };

typedef struct sp_plot_panel {
    const char *title;
    sp_plot_line line[SP_PLOT_LINES];
    int n;
} sp_plot_panel;

/* Panels stacked over one shared x axis (xlabel: its name); y axes fit
 * each panel's data.  Long series are drawn as bucket means. */
void sp_svg_panels(sp_text *svg, const char *title, const sp_plot_panel *p, int n,
                   const char *xlabel);
/* One value per named category, joined by a line, each value written
 * above its point (NaN: no point). */
void sp_svg_categories(sp_text *svg, const char *title, const char *const *label,
                       const double *v, int n);

typedef struct sp_bar_row {
    const char *name;
    int group;               /* the colour of its "after" bar; a rule between groups */
    double before, after;
} sp_bar_row;

/* One row per item: a light bar for "before", a coloured one for "after". */
void sp_svg_bars(sp_text *svg, const char *title, const sp_bar_row *r, int n);

/* ---- a document as Markdown and HTML at once -------------------------- */

typedef struct sp_doc {
    sp_text md, html;
    const char *align;       /* of the open table: 'l' or 'r' per column */
} sp_doc;

void sp_doc_begin(sp_doc *d, const char *title);
void sp_doc_heading(sp_doc *d, int level, const char *text);
void sp_doc_para(sp_doc *d, const char *text);
/* A table with strlen(align) columns; align and head must outlive it. */
void sp_doc_table(sp_doc *d, const char *align, const char *const *head);
void sp_doc_row(sp_doc *d, const char *const *cell);
void sp_doc_table_end(sp_doc *d);
/* A picture: a link to FILE in the Markdown, the SVG itself in the HTML. */
void sp_doc_figure(sp_doc *d, const char *file, const char *alt, const sp_text *svg);
void sp_doc_end(sp_doc *d);
void sp_doc_free(sp_doc *d);

#endif
