/* graph_priv.h: what graph.c lends the readers of graphs (graph_json.c)
 * and their checks, private to the library. */
#ifndef SP_GRAPH_PRIV_H
#define SP_GRAPH_PRIV_H

#include "sp/graph.h"

/* sp_graph_add without the duplicate check, for a reader that appends many
 * nodes and checks their names once, with sp_graph_check_names. */
int sp_graph_append(sp_graph *g, const sp_node *node);

#endif
