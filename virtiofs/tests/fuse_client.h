/* SPDX-License-Identifier: MIT */
/*
 * A test FUSE client: builds requests byte by byte and sends them either
 * straight to an in-process server (split into small buffers, as a
 * hostile guest may) or through a vhost-user front-end and guest memory
 * to a daemon process.
 */
#ifndef VIRTIOFS_TEST_FUSE_CLIENT_H
#define VIRTIOFS_TEST_FUSE_CLIENT_H

#include <linux/fuse.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "virtiofs/server.h"

struct fc;

/* Sends @in (@inlen bytes) as one chain with @room writable bytes. */
typedef int (*fc_xfer_fn)(struct fc *c, const void *in, size_t inlen,
			  void *out, size_t room, uint32_t *used);

struct fc {
	fc_xfer_fn xfer;
	struct virtiofs_server *srv;	/* in-process transport */
	size_t split;			/* bytes per readable buffer, 0: one */
	size_t out_split;		/* bytes per writable buffer, 0: one */
	uint64_t unique;
	uint32_t uid, gid;		/* caller ids in the header */
	void *priv;			/* the transport's own state */
};

/* One reply, parsed. */
struct fc_reply {
	int error;			/* -errno from the header */
	uint32_t len;			/* header len */
	uint32_t used;			/* what the transport reported */
	/* body (after the out header), aligned for the reply structs */
	uint8_t buf[(1 << 20) + 4096] __attribute__((aligned(8)));
	size_t body;
	bool unique_ok;
};

void fc_init_local(struct fc *c, struct virtiofs_server *srv);

/*
 * Send one request: header, @arg (@arglen), optional NUL-terminated
 * names, optional data. Reply room: @room bytes of body plus the out
 * header. Returns the reply's error (0, or -errno).
 */
int fc_call(struct fc *c, uint32_t op, uint64_t nodeid, const void *arg,
	    size_t arglen, const char *n1, const char *n2, const void *data,
	    size_t dlen, size_t room, struct fc_reply *r);
/* @room for a chain without any writable buffer. */
#define FC_NO_ROOM	((size_t)-1)

/* Raw bytes as the readable part; for malformed requests. */
int fc_raw(struct fc *c, const void *in, size_t inlen, size_t room,
	   struct fc_reply *r);

/* Short forms. Each returns 0 or -errno; nodeids and fhs through out. */
int fc_init(struct fc *c, uint32_t minor, struct fuse_init_out *o);
int fc_lookup(struct fc *c, uint64_t dir, const char *name,
	      struct fuse_entry_out *e);
void fc_forget(struct fc *c, uint64_t nodeid, uint64_t n);
int fc_getattr(struct fc *c, uint64_t nodeid, struct fuse_attr *a);
int fc_mkdir(struct fc *c, uint64_t dir, const char *name, uint32_t mode,
	     struct fuse_entry_out *e);
int fc_create(struct fc *c, uint64_t dir, const char *name, uint32_t flags,
	      uint32_t mode, struct fuse_entry_out *e, uint64_t *fh);
int fc_open(struct fc *c, uint64_t nodeid, uint32_t flags, uint64_t *fh);
int fc_opendir(struct fc *c, uint64_t nodeid, uint64_t *fh);
int fc_release(struct fc *c, uint64_t nodeid, uint64_t fh, bool dir);
ssize_t fc_write(struct fc *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		 const void *buf, size_t len);
ssize_t fc_read(struct fc *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		void *buf, size_t len);
int fc_symlink(struct fc *c, uint64_t dir, const char *name,
	       const char *target, struct fuse_entry_out *e);
int fc_mknod(struct fc *c, uint64_t dir, const char *name, uint32_t mode,
	     uint32_t rdev, struct fuse_entry_out *e);
int fc_unlink(struct fc *c, uint64_t dir, const char *name, bool rmdir);

/* Walk READDIR(PLUS) to the end with @size-byte calls: names joined by
 * '\n' into @names (sorted by the caller if needed); count of entries. */
int fc_readdir_all(struct fc *c, uint64_t nodeid, uint64_t fh, bool plus,
		   uint32_t size, char *names, size_t len,
		   uint64_t *nodeids, unsigned int max_ids);

#endif
