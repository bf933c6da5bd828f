// SPDX-License-Identifier: MIT
/*
 * bench-smaps: a VMM's own memory, without its guest's (docs/benchmarks.md).
 *
 * Usage: bench-smaps PID SHIM_LOG [IGNORE_PATH]
 *
 * Reads /proc/PID/smaps and splits the mappings in two: guest memory (any
 * mapping that overlaps a KVM memslot recorded as a "memslot SLOT GPA SIZE
 * HVA" line in SHIM_LOG, written by kvm-shim) and everything else, the
 * VMM's own memory.  Mappings of IGNORE_PATH (the shim itself) are left out
 * of both.  Prints, in KiB:
 *   own_rss N own_pss N own_private N guest_rss N mappings N slots N
 * Exit status 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SLOTS 512

struct range {
	uint64_t start, end;
};

struct totals {
	unsigned long long rss, pss, priv, guest_rss, mappings;
};

static int read_slots(const char *path, struct range *r, int max)
{
	unsigned long long gpa, size, hva;
	char line[256];
	unsigned int slot;
	FILE *f;
	int n = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && n < max) {
		if (sscanf(line, "memslot %u %llx %llx %llx", &slot, &gpa,
			   &size, &hva) != 4 || !size)
			continue;
		r[n].start = hva;
		r[n].end = hva + size;
		n++;
	}
	fclose(f);
	return n;
}

static int overlaps(const struct range *r, int n, uint64_t s, uint64_t e)
{
	int i;

	for (i = 0; i < n; i++)
		if (s < r[i].end && r[i].start < e)
			return 1;
	return 0;
}

/* Adds one "Key: N kB" line to the mapping's class. */
static void account(const char *line, int guest, struct totals *t)
{
	unsigned long long kb;
	char key[64];

	if (sscanf(line, "%63[^:]: %llu kB", key, &kb) != 2)
		return;
	if (guest) {
		if (!strcmp(key, "Rss"))
			t->guest_rss += kb;
		return;
	}
	if (!strcmp(key, "Rss"))
		t->rss += kb;
	else if (!strcmp(key, "Pss"))
		t->pss += kb;
	else if (!strcmp(key, "Private_Clean") || !strcmp(key, "Private_Dirty"))
		t->priv += kb;
}

enum kind { OWN, GUEST, IGNORED };

static enum kind classify(const char *line, const struct range *r, int n,
			    const char *ignore)
{
	uint64_t s, e;
	char path[512] = "";

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %*s %*s %*s %511[^\n]",
		   &s, &e, path) < 2)
		return IGNORED;
	if (ignore && *ignore && !strcmp(path, ignore))
		return IGNORED;
	return overlaps(r, n, s, e) ? GUEST : OWN;
}

static int is_header(const char *line)
{
	const char *dash = strchr(line, '-');
	const char *colon = strchr(line, ':');

	/* "start-end perms ...": a dash before any colon (device "08:01"). */
	return dash && (!colon || dash < colon) && line[0] != ' ' &&
	       strchr("0123456789abcdef", line[0]);
}

static int scan(int pid, const struct range *r, int n, const char *ignore,
		struct totals *t)
{
	enum kind cls = IGNORED;
	char path[64], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (is_header(line)) {
			cls = classify(line, r, n, ignore);
			t->mappings += cls == OWN;
		} else if (cls != IGNORED) {
			account(line, cls == GUEST, t);
		}
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct range slots[MAX_SLOTS];
	struct totals t = { 0 };
	int n, ret;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: bench-smaps PID SHIM_LOG [IGNORE_PATH]\n");
		return 1;
	}
	n = read_slots(argv[2], slots, MAX_SLOTS);
	if (n <= 0) {
		fprintf(stderr, "bench-smaps: %s: %s\n", argv[2],
			n ? strerror(-n) : "no memslot lines");
		return 1;
	}
	ret = scan(atoi(argv[1]), slots, n, argc > 3 ? argv[3] : NULL, &t);
	if (ret < 0) {
		fprintf(stderr, "bench-smaps: /proc/%s/smaps: %s\n", argv[1],
			strerror(-ret));
		return 1;
	}
	printf("own_rss %llu own_pss %llu own_private %llu guest_rss %llu mappings %llu slots %d\n",
	       t.rss, t.pss, t.priv, t.guest_rss, t.mappings, n);
	return 0;
}
