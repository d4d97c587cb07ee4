/* ptr_tree.h - the trees of the peers whose objects hold their children as
 * pointers (Boehm GC, malloc): binary-trees' node and gcbench's, and the
 * walk that checks a tree.  Each runner allocates them its own way. */
#ifndef GPUGC_BENCH_PTR_TREE_H
#define GPUGC_BENCH_PTR_TREE_H

#include <stddef.h>
#include <stdint.h>

typedef struct node {
    struct node *left, *right;
} node;

/* gcbench's node: the links, then its two ints.  Trees of either are
 * walked as nodes. */
typedef struct gc_node {
    node links;
    int32_t i, j;
} gc_node;

enum { BT_NODE = sizeof(node), GC_NODE = sizeof(gc_node) };

/* The node count: what every runner reports as the tree's check. */
static inline uint64_t check_tree(const node *n) {
    return n->left == NULL ? 1 : 1 + check_tree(n->left) + check_tree(n->right);
}

#endif /* GPUGC_BENCH_PTR_TREE_H */
