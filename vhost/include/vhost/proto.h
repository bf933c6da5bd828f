/* SPDX-License-Identifier: MIT */
/*
 * vhost-user wire format: request codes, feature bits and payload layouts,
 * as specified by QEMU's docs/interop/vhost-user.rst. All numbers are in
 * the machine's native byte order (little-endian on x86-64).
 */
#ifndef VHOST_PROTO_H
#define VHOST_PROTO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Front-end requests (front-end -> back-end on the main socket). */
enum vhost_user_request {
	VHOST_USER_NONE = 0,
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SET_BACKEND_REQ_FD = 21,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_GET_SHMEM_CONFIG = 44,
};

/* Back-end requests (back-end -> front-end on the back-end channel). */
enum vhost_user_backend_request {
	VHOST_USER_BACKEND_NONE = 0,
	VHOST_USER_BACKEND_CONFIG_CHANGE_MSG = 2,
	VHOST_USER_BACKEND_SHMEM_MAP = 9,
	VHOST_USER_BACKEND_SHMEM_UNMAP = 10,
};

/* Header flags. */
#define VHOST_USER_VERSION		0x1u
#define VHOST_USER_VERSION_MASK		0x3u
#define VHOST_USER_REPLY_MASK		(1u << 2)
#define VHOST_USER_NEED_REPLY_MASK	(1u << 3)
#define VHOST_USER_FLAGS_KNOWN		(VHOST_USER_VERSION_MASK | \
					 VHOST_USER_REPLY_MASK | \
					 VHOST_USER_NEED_REPLY_MASK)

/* Virtio feature bits that matter to the protocol itself. */
#define VIRTIO_F_VERSION_1		32
#define VHOST_USER_F_PROTOCOL_FEATURES	30

/* Protocol feature bits. */
#define VHOST_USER_PROTOCOL_F_MQ			0
#define VHOST_USER_PROTOCOL_F_LOG_SHMFD			1
#define VHOST_USER_PROTOCOL_F_RARP			2
#define VHOST_USER_PROTOCOL_F_REPLY_ACK			3
#define VHOST_USER_PROTOCOL_F_MTU			4
#define VHOST_USER_PROTOCOL_F_BACKEND_REQ		5
#define VHOST_USER_PROTOCOL_F_CROSS_ENDIAN		6
#define VHOST_USER_PROTOCOL_F_CRYPTO_SESSION		7
#define VHOST_USER_PROTOCOL_F_PAGEFAULT			8
#define VHOST_USER_PROTOCOL_F_CONFIG			9
#define VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD		10
#define VHOST_USER_PROTOCOL_F_HOST_NOTIFIER		11
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD		12
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE		13
#define VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS	14
#define VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS	15
#define VHOST_USER_PROTOCOL_F_STATUS			16
#define VHOST_USER_PROTOCOL_F_SHMEM			22

/* Limits. */
#define VHOST_USER_MAX_FDS		8	/* fds in one message */
#define VHOST_USER_MEM_REGIONS		8	/* SET_MEM_TABLE entries */
#define VHOST_USER_MAX_CONFIG_SIZE	256
#define VHOST_USER_MAX_SHMEM_REGIONS	256
#define VHOST_USER_MAX_QUEUES		256	/* the u64 vring index has 8 bits */

/* SET_VRING_KICK/CALL/ERR payload: bits 0-7 index, bit 8 "no fd". */
#define VHOST_USER_VRING_IDX_MASK	0xffu
#define VHOST_USER_VRING_NOFD_MASK	(1u << 8)

/* VhostUserMMap.flags */
#define VHOST_USER_FLAG_MAP_RW		(1ull << 0)
#define VHOST_USER_FLAG_MAP_MASK	(VHOST_USER_FLAG_MAP_RW)

struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vhost_user_mem_region {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;
	uint64_t mmap_offset;
};

struct vhost_user_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MEM_REGIONS];
};

/* ADD_MEM_REG / REM_MEM_REG */
struct vhost_user_mem_reg {
	uint64_t padding;
	struct vhost_user_mem_region region;
};

struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t payload[VHOST_USER_MAX_CONFIG_SIZE];
};
#define VHOST_USER_CONFIG_HDR_SIZE	12u

/* GET_SHMEM_CONFIG reply: sizes indexed by shmid, 0 = unused shmid. */
struct vhost_user_shmem_config {
	uint32_t nregions;
	uint32_t padding;
	uint64_t memory_sizes[VHOST_USER_MAX_SHMEM_REGIONS];
};

/* SHMEM_MAP / SHMEM_UNMAP payload (VhostUserMMap). */
struct vhost_user_mmap {
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset;
	uint64_t shm_offset;
	uint64_t len;
	uint64_t flags;
};

#ifndef __cplusplus
_Static_assert(sizeof(struct vhost_user_hdr) == 12, "header");
_Static_assert(sizeof(struct vhost_user_vring_addr) == 40, "vring addr");
_Static_assert(sizeof(struct vhost_user_mem_table) == 8 + 8 * 32, "mem table");
_Static_assert(sizeof(struct vhost_user_mem_reg) == 40, "mem reg");
_Static_assert(sizeof(struct vhost_user_config) == 12 + 256, "config");
_Static_assert(sizeof(struct vhost_user_shmem_config) == 2056, "shmem config");
_Static_assert(sizeof(struct vhost_user_mmap) == 40, "mmap");
#endif

/* Largest payload any request we know may carry. */
#define VHOST_USER_MAX_PAYLOAD	sizeof(struct vhost_user_shmem_config)

/* A short name for log lines ("SET_MEM_TABLE"), or "UNKNOWN". */
static inline const char *vhost_user_request_name(uint32_t request)
{
	switch (request) {
	case VHOST_USER_GET_FEATURES: return "GET_FEATURES";
	case VHOST_USER_SET_FEATURES: return "SET_FEATURES";
	case VHOST_USER_SET_OWNER: return "SET_OWNER";
	case VHOST_USER_RESET_OWNER: return "RESET_OWNER";
	case VHOST_USER_SET_MEM_TABLE: return "SET_MEM_TABLE";
	case VHOST_USER_SET_VRING_NUM: return "SET_VRING_NUM";
	case VHOST_USER_SET_VRING_ADDR: return "SET_VRING_ADDR";
	case VHOST_USER_SET_VRING_BASE: return "SET_VRING_BASE";
	case VHOST_USER_GET_VRING_BASE: return "GET_VRING_BASE";
	case VHOST_USER_SET_VRING_KICK: return "SET_VRING_KICK";
	case VHOST_USER_SET_VRING_CALL: return "SET_VRING_CALL";
	case VHOST_USER_SET_VRING_ERR: return "SET_VRING_ERR";
	case VHOST_USER_GET_PROTOCOL_FEATURES: return "GET_PROTOCOL_FEATURES";
	case VHOST_USER_SET_PROTOCOL_FEATURES: return "SET_PROTOCOL_FEATURES";
	case VHOST_USER_GET_QUEUE_NUM: return "GET_QUEUE_NUM";
	case VHOST_USER_SET_VRING_ENABLE: return "SET_VRING_ENABLE";
	case VHOST_USER_SET_BACKEND_REQ_FD: return "SET_BACKEND_REQ_FD";
	case VHOST_USER_GET_CONFIG: return "GET_CONFIG";
	case VHOST_USER_SET_CONFIG: return "SET_CONFIG";
	case VHOST_USER_RESET_DEVICE: return "RESET_DEVICE";
	case VHOST_USER_GET_MAX_MEM_SLOTS: return "GET_MAX_MEM_SLOTS";
	case VHOST_USER_ADD_MEM_REG: return "ADD_MEM_REG";
	case VHOST_USER_REM_MEM_REG: return "REM_MEM_REG";
	case VHOST_USER_SET_STATUS: return "SET_STATUS";
	case VHOST_USER_GET_STATUS: return "GET_STATUS";
	case VHOST_USER_GET_SHMEM_CONFIG: return "GET_SHMEM_CONFIG";
	default: return "UNKNOWN";
	}
}

static inline const char *
vhost_user_backend_request_name(uint32_t request)
{
	switch (request) {
	case VHOST_USER_BACKEND_CONFIG_CHANGE_MSG: return "CONFIG_CHANGE_MSG";
	case VHOST_USER_BACKEND_SHMEM_MAP: return "SHMEM_MAP";
	case VHOST_USER_BACKEND_SHMEM_UNMAP: return "SHMEM_UNMAP";
	default: return "UNKNOWN";
	}
}

#ifdef __cplusplus
}
#endif

#endif /* VHOST_PROTO_H */
