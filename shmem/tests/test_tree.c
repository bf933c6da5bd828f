/* SPDX-License-Identifier: MIT */
/*
 * The private mapping tree against a simple model: after every insert and
 * remove the tree is ordered, balanced, counts right, and answers
 * find/floor/next exactly as a linear scan of the model does.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "tree.h"

#define KEYS	512

static struct shm_node *model[KEYS];	/* model[k]: the node at key k */

static int check(const struct shm_node *n, uint64_t lo, uint64_t hi, size_t *count)
{
	int hl, hr;

	if (!n)
		return 0;
	cr_assert(n->start >= lo && n->start < hi, "order broken at %lu",
		  (unsigned long)n->start);
	cr_assert_eq(model[n->start], n);
	hl = check(n->left, lo, n->start, count);
	hr = check(n->right, n->start + 1, hi, count);
	cr_assert_eq(n->height, (hl > hr ? hl : hr) + 1);
	cr_assert(abs(hl - hr) <= 1, "unbalanced at %lu", (unsigned long)n->start);
	(*count)++;
	return n->height;
}

static void check_queries(const struct shm_tree *t)
{
	for (uint64_t k = 0; k < KEYS; k++) {
		struct shm_node *floor = NULL, *next = NULL;

		for (uint64_t j = 0; j <= k; j++)
			if (model[j])
				floor = model[j];
		for (uint64_t j = k + 1; j < KEYS && !next; j++)
			next = model[j];
		cr_assert_eq(shm_tree_find(t, k), model[k]);
		cr_assert_eq(shm_tree_floor(t, k), floor);
		cr_assert_eq(shm_tree_next(t, k), next);
	}
}

static void release(struct shm_node *n)
{
	model[n->start] = NULL;
	free(n);
}

Test(tree, random_against_model)
{
	struct shm_tree t = { 0 };
	size_t live = 0, count;

	srand(12345);
	for (int step = 0; step < 20000; step++) {
		uint64_t k = (uint64_t)rand() % KEYS;

		if (model[k]) {
			shm_tree_remove(&t, model[k]);
			free(model[k]);
			model[k] = NULL;
			live--;
		} else {
			struct shm_node *n = calloc(1, sizeof(*n));

			n->start = k;
			n->len = 1;
			shm_tree_insert(&t, n);
			model[k] = n;
			live++;
		}
		count = 0;
		check(t.root, 0, KEYS, &count);
		cr_assert_eq(count, live);
		cr_assert_eq(t.count, live);
		cr_assert_eq(t.bytes, live);
		if (step % 1000 == 0)
			check_queries(&t);
	}
	check_queries(&t);
	shm_tree_clear(&t, release);
	cr_assert_null(t.root);
	cr_assert_eq(t.count, 0);
	for (int k = 0; k < KEYS; k++)
		cr_assert_null(model[k]);
}

/* Sequential inserts (the common back-end pattern) stay logarithmic. */
Test(tree, sequential_stays_balanced)
{
	struct shm_tree t = { 0 };
	static struct shm_node nodes[100000];

	for (uint64_t i = 0; i < 100000; i++) {
		nodes[i].start = i * 4096;
		nodes[i].len = 4096;
		shm_tree_insert(&t, &nodes[i]);
	}
	/* An AVL tree of 100,000 nodes is at most 1.44 * log2(n) high. */
	cr_assert_leq(t.root->height, 24);
	cr_assert_eq(shm_tree_floor(&t, 4096 * 50000 + 17), &nodes[50000]);
	for (uint64_t i = 0; i < 100000; i += 2)
		shm_tree_remove(&t, &nodes[i]);
	cr_assert_eq(t.count, 50000);
	cr_assert_leq(t.root->height, 24);
	cr_assert_eq(shm_tree_first(&t), &nodes[1]);
	cr_assert_eq(shm_tree_floor(&t, 4096 * 50000 + 17), &nodes[49999]);
}

/*
 * Interval insertion: a node is inserted exactly when no live node meets
 * its range, and the clash reported is a node that does meet it.
 */
Test(tree, insert_disjoint_against_model)
{
	static struct shm_node *cover[KEYS + 8];	/* key -> covering node */
	struct shm_tree t = { 0 };
	size_t live = 0, count;

	srand(777);
	for (int step = 0; step < 20000; step++) {
		uint64_t k = (uint64_t)rand() % KEYS, len = 1 + (uint64_t)rand() % 6;
		struct shm_node *hit = NULL, *n, *clash;

		for (uint64_t j = k; j < k + len && !hit; j++)
			hit = cover[j];
		if (hit && rand() % 2 && hit == model[hit->start]) {
			for (uint64_t j = hit->start; j < hit->start + hit->len; j++)
				cover[j] = NULL;
			shm_tree_remove(&t, hit);
			model[hit->start] = NULL;
			free(hit);
			live--;
			continue;
		}
		n = calloc(1, sizeof(*n));
		n->start = k;
		n->len = len;
		clash = shm_tree_insert_disjoint(&t, n);
		if (hit) {
			cr_assert_not_null(clash, "[%lu, +%lu) overlaps", (unsigned long)k,
					   (unsigned long)len);
			cr_assert(clash->start < k + len && k < clash->start + clash->len);
			free(n);
		} else {
			cr_assert_null(clash);
			for (uint64_t j = k; j < k + len; j++)
				cover[j] = n;
			model[k] = n;
			live++;
		}
		count = 0;
		check(t.root, 0, KEYS, &count);
		cr_assert_eq(count, live);
		cr_assert_eq(t.count, live);
	}
	shm_tree_clear(&t, release);
}
