/* SPDX-License-Identifier: MIT */
/* A test FUSE client (fuse_client.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "fuse_client.h"

#define MAX_REQ		((1 << 20) + 8192)
#define MAX_SPLIT	4096

/* In-process: cut both sides into small buffers, as a guest may. */
static int local_xfer(struct fc *c, const void *in, size_t inlen, void *out,
		      size_t room, uint32_t *used)
{
	static struct iovec rd[MAX_SPLIT], wr[MAX_SPLIT];
	unsigned int nrd = 0, nwr = 0;
	size_t step;

	step = c->split ? c->split : inlen;
	for (size_t off = 0; off < inlen && nrd < MAX_SPLIT; off += step)
		rd[nrd++] = (struct iovec){ (uint8_t *)in + off,
			inlen - off < step ? inlen - off : step };
	step = c->out_split ? c->out_split : room;
	for (size_t off = 0; off < room && nwr < MAX_SPLIT; off += step)
		wr[nwr++] = (struct iovec){ (uint8_t *)out + off,
			room - off < step ? room - off : step };
	*used = virtiofs_server_handle(c->srv, rd, nrd, wr, nwr);
	return 0;
}

void fc_init_local(struct fc *c, struct virtiofs_server *srv)
{
	memset(c, 0, sizeof(*c));
	c->xfer = local_xfer;
	c->srv = srv;
	c->unique = 100;
}

static int finish(struct fc *c, uint64_t unique, uint8_t *out, uint32_t used,
		  struct fc_reply *r)
{
	struct fuse_out_header oh;

	r->used = used;
	r->body = 0;
	if (used < sizeof(oh)) {
		r->error = -EPIPE;	/* no reply at all */
		r->len = 0;
		return r->error;
	}
	memcpy(&oh, out, sizeof(oh));
	r->error = oh.error;
	r->len = oh.len;
	r->unique_ok = oh.unique == unique;
	if (oh.len >= sizeof(oh) && oh.len <= used) {
		r->body = oh.len - sizeof(oh);
		memcpy(r->buf, out + sizeof(oh), r->body);
	}
	(void)c;
	return r->error;
}

int fc_raw(struct fc *c, const void *in, size_t inlen, size_t room,
	   struct fc_reply *r)
{
	static uint8_t out[MAX_REQ];
	struct fuse_in_header h = { 0 };
	uint32_t used = 0;
	int ret;

	size_t total = room == FC_NO_ROOM ? 0 :
		       room + sizeof(struct fuse_out_header);

	if (total > sizeof(out))
		return -E2BIG;
	memcpy(&h, in, inlen < sizeof(h) ? inlen : sizeof(h));
	memset(out, 0xa5, total);
	ret = c->xfer(c, in, inlen, out, total, &used);
	if (ret)
		return ret;
	return finish(c, h.unique, out, used, r);
}

int fc_call(struct fc *c, uint32_t op, uint64_t nodeid, const void *arg,
	    size_t arglen, const char *n1, const char *n2, const void *data,
	    size_t dlen, size_t room, struct fc_reply *r)
{
	static uint8_t in[MAX_REQ];
	struct fuse_in_header h = { .opcode = op, .nodeid = nodeid,
				    .unique = ++c->unique, .uid = c->uid,
				    .gid = c->gid, .pid = 1 };
	size_t len = sizeof(h);

#define PUT(p, n) do { memcpy(in + len, p, n); len += n; } while (0)
	if (sizeof(h) + arglen + (n1 ? strlen(n1) + 1 : 0) +
	    (n2 ? strlen(n2) + 1 : 0) + dlen > sizeof(in))
		return -E2BIG;
	len = sizeof(h);
	if (arglen)
		PUT(arg, arglen);
	if (n1)
		PUT(n1, strlen(n1) + 1);
	if (n2)
		PUT(n2, strlen(n2) + 1);
	if (dlen)
		PUT(data, dlen);
#undef PUT
	h.len = (uint32_t)len;
	memcpy(in, &h, sizeof(h));
	return fc_raw(c, in, len, room, r);
}

static struct fc_reply *rep(void)
{
	static struct fc_reply r;

	return &r;
}

int fc_init(struct fc *c, uint32_t minor, struct fuse_init_out *o)
{
	struct fuse_init_in in = { .major = 7, .minor = minor,
				   .max_readahead = 131072,
				   .flags = 0xffffffff & ~FUSE_INIT_EXT };
	struct fc_reply *r = rep();
	int ret = fc_call(c, FUSE_INIT, 0, &in, sizeof(in), NULL, NULL, NULL,
			  0, sizeof(*o), r);

	if (!ret && o)
		memcpy(o, r->buf, sizeof(*o));
	return ret;
}

int fc_lookup(struct fc *c, uint64_t dir, const char *name,
	      struct fuse_entry_out *e)
{
	struct fc_reply *r = rep();
	int ret = fc_call(c, FUSE_LOOKUP, dir, NULL, 0, name, NULL, NULL, 0,
			  sizeof(*e), r);

	if (!ret && e)
		memcpy(e, r->buf, sizeof(*e));
	return ret;
}

void fc_forget(struct fc *c, uint64_t nodeid, uint64_t n)
{
	struct fuse_forget_in in = { .nlookup = n };

	fc_call(c, FUSE_FORGET, nodeid, &in, sizeof(in), NULL, NULL, NULL, 0,
		0, rep());
}

int fc_getattr(struct fc *c, uint64_t nodeid, struct fuse_attr *a)
{
	struct fuse_getattr_in in = { 0 };
	struct fc_reply *r = rep();
	int ret = fc_call(c, FUSE_GETATTR, nodeid, &in, sizeof(in), NULL, NULL,
			  NULL, 0, sizeof(struct fuse_attr_out), r);

	if (!ret && a)
		memcpy(a, &((struct fuse_attr_out *)r->buf)->attr, sizeof(*a));
	return ret;
}

static int entry_reply(int ret, struct fc_reply *r, struct fuse_entry_out *e)
{
	if (!ret && e)
		memcpy(e, r->buf, sizeof(*e));
	return ret;
}

int fc_mkdir(struct fc *c, uint64_t dir, const char *name, uint32_t mode,
	     struct fuse_entry_out *e)
{
	struct fuse_mkdir_in in = { .mode = mode };
	struct fc_reply *r = rep();

	return entry_reply(fc_call(c, FUSE_MKDIR, dir, &in, sizeof(in), name,
				   NULL, NULL, 0, sizeof(*e), r), r, e);
}

int fc_mknod(struct fc *c, uint64_t dir, const char *name, uint32_t mode,
	     uint32_t rdev, struct fuse_entry_out *e)
{
	struct fuse_mknod_in in = { .mode = mode, .rdev = rdev };
	struct fc_reply *r = rep();

	return entry_reply(fc_call(c, FUSE_MKNOD, dir, &in, sizeof(in), name,
				   NULL, NULL, 0, sizeof(*e), r), r, e);
}

int fc_symlink(struct fc *c, uint64_t dir, const char *name,
	       const char *target, struct fuse_entry_out *e)
{
	struct fc_reply *r = rep();

	return entry_reply(fc_call(c, FUSE_SYMLINK, dir, NULL, 0, name, target,
				   NULL, 0, sizeof(*e), r), r, e);
}

int fc_create(struct fc *c, uint64_t dir, const char *name, uint32_t flags,
	      uint32_t mode, struct fuse_entry_out *e, uint64_t *fh)
{
	struct fuse_create_in in = { .flags = flags, .mode = mode };
	struct fc_reply *r = rep();
	int ret = fc_call(c, FUSE_CREATE, dir, &in, sizeof(in), name, NULL,
			  NULL, 0, sizeof(*e) + sizeof(struct fuse_open_out), r);

	if (!ret) {
		if (e)
			memcpy(e, r->buf, sizeof(*e));
		if (fh)
			*fh = ((struct fuse_open_out *)(r->buf + sizeof(*e)))->fh;
	}
	return ret;
}

static int open_common(struct fc *c, uint32_t op, uint64_t nodeid,
		       uint32_t flags, uint64_t *fh)
{
	struct fuse_open_in in = { .flags = flags };
	struct fc_reply *r = rep();
	int ret = fc_call(c, op, nodeid, &in, sizeof(in), NULL, NULL, NULL, 0,
			  sizeof(struct fuse_open_out), r);

	if (!ret && fh)
		*fh = ((struct fuse_open_out *)r->buf)->fh;
	return ret;
}

int fc_open(struct fc *c, uint64_t nodeid, uint32_t flags, uint64_t *fh)
{
	return open_common(c, FUSE_OPEN, nodeid, flags, fh);
}

int fc_opendir(struct fc *c, uint64_t nodeid, uint64_t *fh)
{
	return open_common(c, FUSE_OPENDIR, nodeid, 0, fh);
}

int fc_release(struct fc *c, uint64_t nodeid, uint64_t fh, bool dir)
{
	struct fuse_release_in in = { .fh = fh };

	return fc_call(c, dir ? FUSE_RELEASEDIR : FUSE_RELEASE, nodeid, &in,
		       sizeof(in), NULL, NULL, NULL, 0, 0, rep());
}

ssize_t fc_write(struct fc *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		 const void *buf, size_t len)
{
	struct fuse_write_in in = { .fh = fh, .offset = off,
				    .size = (uint32_t)len };
	struct fc_reply *r = rep();
	int ret = fc_call(c, FUSE_WRITE, nodeid, &in, sizeof(in), NULL, NULL,
			  buf, len, sizeof(struct fuse_write_out), r);

	if (ret)
		return ret;
	return ((struct fuse_write_out *)r->buf)->size;
}

ssize_t fc_read(struct fc *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		void *buf, size_t len)
{
	struct fuse_read_in in = { .fh = fh, .offset = off,
				   .size = (uint32_t)len };
	struct fc_reply *r = rep();
	int ret = fc_call(c, FUSE_READ, nodeid, &in, sizeof(in), NULL, NULL,
			  NULL, 0, len, r);

	if (ret)
		return ret;
	memcpy(buf, r->buf, r->body);
	return (ssize_t)r->body;
}

int fc_unlink(struct fc *c, uint64_t dir, const char *name, bool rmdir)
{
	return fc_call(c, rmdir ? FUSE_RMDIR : FUSE_UNLINK, dir, NULL, 0, name,
		       NULL, NULL, 0, 0, rep());
}

int fc_readdir_all(struct fc *c, uint64_t nodeid, uint64_t fh, bool plus,
		   uint32_t size, char *names, size_t len,
		   uint64_t *nodeids, unsigned int max_ids)
{
	struct fc_reply *r = rep();
	uint64_t off = 0;
	size_t used = 0;
	int n = 0;

	names[0] = '\0';
	for (int calls = 0; calls < 100000; calls++) {
		struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };
		size_t pos = 0;
		int ret = fc_call(c, plus ? FUSE_READDIRPLUS : FUSE_READDIR,
				  nodeid, &in, sizeof(in), NULL, NULL, NULL, 0,
				  size, r);

		if (ret)
			return ret;
		if (!r->body)
			return n;
		while (pos < r->body) {
			struct fuse_dirent *d;
			size_t rec;

			if (plus) {
				struct fuse_direntplus *p =
					(void *)(r->buf + pos);

				if ((unsigned int)n < max_ids)
					nodeids[n] = p->entry_out.nodeid;
				d = &p->dirent;
				rec = FUSE_DIRENTPLUS_SIZE(p);
			} else {
				d = (void *)(r->buf + pos);
				rec = FUSE_DIRENT_SIZE(d);
			}
			if (pos + rec > r->body || used + d->namelen + 2 > len)
				return -EOVERFLOW;
			memcpy(names + used, d->name, d->namelen);
			used += d->namelen;
			names[used++] = '\n';
			names[used] = '\0';
			off = d->off;
			pos += rec;
			n++;
		}
	}
	return -ELOOP;
}
