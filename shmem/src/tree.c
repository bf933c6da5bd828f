/* SPDX-License-Identifier: MIT */
/*
 * AVL tree of mappings. Recursion depth is bounded by the tree height,
 * at most about 1.44 * log2(n): 25 levels for 100,000 mappings.
 */
#include "tree.h"

static int height(const struct shm_node *n)
{
	return n ? n->height : 0;
}

static void update(struct shm_node *n)
{
	int hl = height(n->left), hr = height(n->right);

	n->height = (hl > hr ? hl : hr) + 1;
}

static struct shm_node *rotate_right(struct shm_node *n)
{
	struct shm_node *l = n->left;

	n->left = l->right;
	l->right = n;
	update(n);
	update(l);
	return l;
}

static struct shm_node *rotate_left(struct shm_node *n)
{
	struct shm_node *r = n->right;

	n->right = r->left;
	r->left = n;
	update(n);
	update(r);
	return r;
}

static struct shm_node *rebalance(struct shm_node *n)
{
	int balance;

	update(n);
	balance = height(n->left) - height(n->right);
	if (balance > 1) {
		if (height(n->left->left) < height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (balance < -1) {
		if (height(n->right->right) < height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	return n;
}

static struct shm_node *insert(struct shm_node *root, struct shm_node *n)
{
	if (!root)
		return n;
	if (n->start < root->start)
		root->left = insert(root->left, n);
	else
		root->right = insert(root->right, n);
	return rebalance(root);
}

void shm_tree_insert(struct shm_tree *t, struct shm_node *n)
{
	n->left = NULL;
	n->right = NULL;
	n->height = 1;
	t->root = insert(t->root, n);
	t->count++;
	t->bytes += n->len;
}

static struct shm_node *insert_disjoint(struct shm_node *root,
					struct shm_node *n,
					struct shm_node **clash)
{
	if (!root)
		return n;
	if (n->start < root->start) {
		if (n->start + n->len > root->start) {
			*clash = root;
			return root;
		}
		root->left = insert_disjoint(root->left, n, clash);
	} else {
		if (root->start + root->len > n->start) {
			*clash = root;
			return root;
		}
		root->right = insert_disjoint(root->right, n, clash);
	}
	return *clash ? root : rebalance(root);
}

struct shm_node *shm_tree_insert_disjoint(struct shm_tree *t, struct shm_node *n)
{
	struct shm_node *clash = NULL;

	n->left = NULL;
	n->right = NULL;
	n->height = 1;
	t->root = insert_disjoint(t->root, n, &clash);
	if (clash)
		return clash;
	t->count++;
	t->bytes += n->len;
	return NULL;
}

/* Unlink the smallest node of @root into *@min; return the new subtree. */
static struct shm_node *remove_min(struct shm_node *root,
				   struct shm_node **min)
{
	if (!root->left) {
		*min = root;
		return root->right;
	}
	root->left = remove_min(root->left, min);
	return rebalance(root);
}

static struct shm_node *remove_node(struct shm_node *root,
				    struct shm_node *n)
{
	struct shm_node *succ, *right;

	if (!root)
		return NULL;
	if (n->start < root->start) {
		root->left = remove_node(root->left, n);
		return rebalance(root);
	}
	if (n->start > root->start) {
		root->right = remove_node(root->right, n);
		return rebalance(root);
	}
	/* root == n: relink its in-order successor in its place. */
	if (!root->left)
		return root->right;
	if (!root->right)
		return root->left;
	right = remove_min(root->right, &succ);
	succ->left = root->left;
	succ->right = right;
	return rebalance(succ);
}

void shm_tree_remove(struct shm_tree *t, struct shm_node *n)
{
	t->root = remove_node(t->root, n);
	n->left = NULL;
	n->right = NULL;
	t->count--;
	t->bytes -= n->len;
}

struct shm_node *shm_tree_find(const struct shm_tree *t, uint64_t key)
{
	struct shm_node *n = t->root;

	while (n && n->start != key)
		n = key < n->start ? n->left : n->right;
	return n;
}

struct shm_node *shm_tree_floor(const struct shm_tree *t, uint64_t key)
{
	struct shm_node *n = t->root, *best = NULL;

	while (n) {
		if (n->start <= key) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

struct shm_node *shm_tree_next(const struct shm_tree *t, uint64_t key)
{
	struct shm_node *n = t->root, *best = NULL;

	while (n) {
		if (n->start > key) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

struct shm_node *shm_tree_first(const struct shm_tree *t)
{
	struct shm_node *n = t->root;

	while (n && n->left)
		n = n->left;
	return n;
}

static int walk(struct shm_node *n, shm_tree_fn fn, void *arg)
{
	int ret;

	if (!n)
		return 0;
	ret = walk(n->left, fn, arg);
	if (ret)
		return ret;
	ret = fn(arg, n);
	if (ret)
		return ret;
	return walk(n->right, fn, arg);
}

int shm_tree_walk(const struct shm_tree *t, shm_tree_fn fn, void *arg)
{
	return walk(t->root, fn, arg);
}

static void clear(struct shm_node *n, void (*release)(struct shm_node *n))
{
	struct shm_node *l, *r;

	if (!n)
		return;
	l = n->left;
	r = n->right;
	clear(l, release);
	clear(r, release);
	n->left = NULL;
	n->right = NULL;
	release(n);
}

void shm_tree_clear(struct shm_tree *t, void (*release)(struct shm_node *n))
{
	struct shm_node *root = t->root;

	t->root = NULL;
	t->count = 0;
	t->bytes = 0;
	clear(root, release);
}
