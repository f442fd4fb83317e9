/* doc.c: one document written twice as it is built, as Markdown (pictures
 * linked as files) and as one self-contained HTML page (pictures inline). */
#include <string.h>
#include "sp/report.h"

static const char style[] =
    "body{font-family:sans-serif;max-width:840px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px}"
    "th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "figure{margin:1em 0}svg{max-width:100%;height:auto}";

void sp_doc_begin(sp_doc *d, const char *title)
{
    memset(d, 0, sizeof *d);
    sp_text_printf(&d->md, "# %s\n\n", title);
    sp_text_puts(&d->html, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<title>");
    sp_text_xml(&d->html, title);
    sp_text_printf(&d->html, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", style);
    sp_text_xml(&d->html, title);
    sp_text_puts(&d->html, "</h1>\n");
}

void sp_doc_heading(sp_doc *d, int level, const char *text)
{
    sp_text_printf(&d->md, "%.*s %s\n\n", level, "######", text);
    sp_text_printf(&d->html, "<h%d>", level);
    sp_text_xml(&d->html, text);
    sp_text_printf(&d->html, "</h%d>\n", level);
}

void sp_doc_para(sp_doc *d, const char *text)
{
    sp_text_printf(&d->md, "%s\n\n", text);
    sp_text_puts(&d->html, "<p>");
    sp_text_xml(&d->html, text);
    sp_text_puts(&d->html, "</p>\n");
}

/* A Markdown cell: | escaped, no line breaks. */
static void md_cell(sp_text *t, const char *s)
{
    sp_text_puts(t, " ");
    for (; *s; s++) {
        if (*s == '|')
            sp_text_puts(t, "\\");
        sp_text_add(t, *s == '\n' ? " " : s, 1);
    }
    sp_text_puts(t, " |");
}

static void row(sp_doc *d, const char *const *cell, int head)
{
    sp_text_puts(&d->md, "|");
    sp_text_puts(&d->html, "<tr>");
    for (int c = 0; d->align[c]; c++) {
        md_cell(&d->md, cell[c]);
        sp_text_puts(&d->html, head ? "<th>" : d->align[c] == 'r' ? "<td class=\"n\">" : "<td>");
        sp_text_xml(&d->html, cell[c]);
        sp_text_puts(&d->html, head ? "</th>" : "</td>");
    }
    sp_text_puts(&d->md, "\n");
    sp_text_puts(&d->html, "</tr>\n");
}

void sp_doc_table(sp_doc *d, const char *align, const char *const *head)
{
    d->align = align;
    sp_text_puts(&d->html, "<table>\n");
    row(d, head, 1);
    sp_text_puts(&d->md, "|");
    for (int c = 0; align[c]; c++)
        sp_text_puts(&d->md, align[c] == 'r' ? "---:|" : "---|");
    sp_text_puts(&d->md, "\n");
}

void sp_doc_row(sp_doc *d, const char *const *cell)
{
    row(d, cell, 0);
}

void sp_doc_table_end(sp_doc *d)
{
    sp_text_puts(&d->md, "\n");
    sp_text_puts(&d->html, "</table>\n");
    d->align = NULL;
}

void sp_doc_figure(sp_doc *d, const char *file, const char *alt, const sp_text *svg)
{
    sp_text_printf(&d->md, "![%s](%s)\n\n", alt, file);
    sp_text_puts(&d->html, "<figure>\n");
    if (svg->p)
        sp_text_add(&d->html, svg->p, svg->n);
    sp_text_puts(&d->html, "</figure>\n");
}

void sp_doc_end(sp_doc *d)
{
    sp_text_puts(&d->html, "</body>\n</html>\n");
}

void sp_doc_free(sp_doc *d)
{
    sp_text_free(&d->md);
    sp_text_free(&d->html);
}
