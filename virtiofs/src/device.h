/* SPDX-License-Identifier: MIT */
/*
 * The virtio-fs device: a vhost-user back-end (vhost/backend.h) with the
 * hiprio queue (0) and one request queue (1), whose chains go to the FUSE
 * server. One front-end at a time; after it disconnects the server forgets
 * every inode and the device waits for the next one.
 *
 * Threads: the caller's thread runs the vhost-user socket and the queues.
 * With threads > 0, requests are served by that many workers; the device
 * waits until none is in flight before it handles any vhost-user message,
 * so guest memory and rings never change under a worker.
 */
#ifndef VIRTIOFS_DEVICE_H
#define VIRTIOFS_DEVICE_H

#include "vhost/backend.h"
#include "virtiofs/server.h"

#define VFS_DEVICE_QUEUES	2	/* hiprio + one request queue */
#define VFS_MAX_THREADS		1024

/* The front-end the server's DAX calls go to; the device keeps it set. */
struct vfs_device_dax {
	struct vhost_be *be;		/* NULL between front-ends */
};

struct vfs_device_config {
	int listen_fd;			/* from vhost_be_listen() */
	int stop_fd;			/* readable: return (e.g. a signalfd) */
	struct virtiofs_server *srv;
	unsigned int threads;		/* 0: serve on this thread */
	/*
	 * The DAX window (shmid 0), 0: none. The server was given the same
	 * size, vfs_device_dax_ops and @dax as its dax_opaque.
	 */
	uint64_t dax_window;
	struct vfs_device_dax *dax;
	vhost_log_fn log;
	void *log_opaque;
};

/* Serve front-ends until stop_fd is readable: 0, or -errno. */
int vfs_device_run(const struct vfs_device_config *cfg);

/* SHMEM_MAP / SHMEM_UNMAP of the DAX window on the current front-end. */
extern const struct virtiofs_dax_ops vfs_device_dax_ops;

#endif
