/* SPDX-License-Identifier: MIT */
/*
 * A private AVL tree of the live mappings of one region, keyed by
 * shm_offset. Mappings never overlap, so a key order is also an interval
 * order: the only mapping that can contain an offset is the one with the
 * largest start not above it.
 *
 * Nodes are allocated one by one by the caller and only ever relinked, never
 * moved or copied, so a node pointer stays valid until the node is removed.
 * The tree does no allocation and cannot fail.
 */
#ifndef SHMEM_TREE_H
#define SHMEM_TREE_H

#include <stddef.h>
#include <stdint.h>

/* What a descent reads comes first, so it usually shares one cache line. */
struct shm_node {
	uint64_t start;		/* shm_offset */
	uint64_t len;
	struct shm_node *left;
	struct shm_node *right;
	int height;
	uint64_t fd_offset;
	uint64_t flags;
	uint64_t owner;
};

struct shm_tree {
	struct shm_node *root;
	size_t count;
	uint64_t bytes;
};

/* Insert @n; its start must not be in the tree yet. */
void shm_tree_insert(struct shm_tree *t, struct shm_node *n);
/*
 * Insert @n unless [start, start + len) meets a node already in the tree;
 * then return that node and leave the tree as it was. One descent: the
 * only nodes that can meet @n, its in-order neighbours, lie on its path.
 */
struct shm_node *shm_tree_insert_disjoint(struct shm_tree *t, struct shm_node *n);
/* Unlink @n, which must be in the tree. The node is not freed. */
void shm_tree_remove(struct shm_tree *t, struct shm_node *n);

/* The node whose start is exactly @key, or NULL. */
struct shm_node *shm_tree_find(const struct shm_tree *t, uint64_t key);
/* The node with the largest start <= @key, or NULL. */
struct shm_node *shm_tree_floor(const struct shm_tree *t, uint64_t key);
/* The node with the smallest start > @key, or NULL. */
struct shm_node *shm_tree_next(const struct shm_tree *t, uint64_t key);
/* The node with the smallest start, or NULL. */
struct shm_node *shm_tree_first(const struct shm_tree *t);

/* In-order walk; a non-zero return from @fn stops it and is returned. */
typedef int (*shm_tree_fn)(void *arg, struct shm_node *n);
int shm_tree_walk(const struct shm_tree *t, shm_tree_fn fn, void *arg);

/* Unlink every node and pass it to @release (post-order, so it may free). */
void shm_tree_clear(struct shm_tree *t, void (*release)(struct shm_node *n));

#endif /* SHMEM_TREE_H */
