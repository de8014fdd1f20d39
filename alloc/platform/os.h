/* os.h - the memory and process contract the allocator needs from the OS.
 * Contract (every function):
 *  - never allocates through malloc and takes no lock; errno is preserved unless stated.
 *  - ta_os_map_aligned(size, align): size a multiple of the page size, align a power of two >= page
 *    size; returns zeroed read-write memory whose address is a multiple of align, or NULL (errno is
 *    then ENOMEM). Memory beyond size is not mapped (over-mapped slack is returned).
 *  - ta_os_unmap(p, size): p and size exactly as mapped (or a page-aligned part of it).
 *  - ta_os_purge(p, size): tells the OS the contents are not needed; pages read back as zero.
 *  - ta_os_fail_after(n): test hook: the n-th map call from now fails (n = 0 disables). Only unit
 *    and OOM tests reach it; it costs one relaxed load on the mmap path. */
#ifndef TA_PLATFORM_OS_H
#define TA_PLATFORM_OS_H

#include <stddef.h>
#include <stdint.h>
#include "alloc/platform/compiler.h"

TA_HIDDEN void  *ta_os_map_aligned(size_t size, size_t align);
TA_HIDDEN void   ta_os_unmap(void *p, size_t size);
TA_HIDDEN void   ta_os_purge(void *p, size_t size);
TA_HIDDEN size_t ta_os_page_size(void);
/* 64 random bits from the kernel (AT_RANDOM / getrandom), mixed with addresses and time. */
TA_HIDDEN uint64_t ta_os_random_secret(void);
/* Writes all of buf to the allocator's stderr: the duplicate of fd 2 when ta_os_keep_stderr took
 * one and it still names the same file, else fd 2; when fd 2 is closed (EBADF), the controlling
 * terminal (/dev/tty, opened for this write only) if there is one. Async-signal-safe. */
TA_HIDDEN void   ta_os_write_stderr(const char *buf, size_t len);
/* Duplicates fd 2 (close-on-exec, at or above TA_OS_FD_FLOOR, see ta_os_open_write) so that
 * ta_os_write_stderr still reaches it after the program closes fd 2. Init calls it only when a
 * report to stderr was asked for: by default tamalloc holds no descriptor. */
TA_HIDDEN void   ta_os_keep_stderr(void);
/* CPUs this process may run on: sched affinity, capped by a cgroup v2/v1 CPU quota. >= 1. */
TA_HIDDEN unsigned ta_os_cpu_count(void);
TA_HIDDEN void   ta_os_fail_after(unsigned n);
/* Reads an environment variable without allocating (NULL when unset). */
TA_HIDDEN const char *ta_os_getenv(const char *name);
/* Gives up the CPU for a moment (sched_yield), for spin-waits. */
TA_HIDDEN void   ta_os_yield(void);
/* Registers fork handlers (pthread_atfork); returns 0 on success. May allocate. */
TA_HIDDEN int    ta_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/* Tooling files (TAMALLOC_HEAP_MAP, TAMALLOC_TRACE, TAMALLOC_STATS_FILE). None allocates; the write
 * is async-signal-safe.
 *  - ta_os_open_write(path): creates or truncates path (mode 0644, close-on-exec); fd or -1. The fd
 *    is moved up to the lowest free number at or above TA_OS_FD_FLOOR (halved until it is below the
 *    RLIMIT_NOFILE soft limit), so the low numbers a program counts on are free again as soon as
 *    the open returns; it stays where open put it only when no higher number can be had.
 *  - ta_os_write_fd(fd, buf, len): writes all of buf (retrying short writes and EINTR); 0, or -1
 *    on an error. errno is preserved by all three. */
#define TA_OS_FD_FLOOR 1000
TA_HIDDEN int    ta_os_open_write(const char *path);
/* ta_os_open_write, and open's errno in *err when it fails (0 when it does not). */
TA_HIDDEN int    ta_os_open_write_err(const char *path, int *err);
TA_HIDDEN int    ta_os_write_fd(int fd, const void *buf, size_t len);
TA_HIDDEN void   ta_os_close(int fd);
/* Installs fn as the handler of signal sig (SA_RESTART, other signals not blocked); 0 on success. */
TA_HIDDEN int    ta_os_on_signal(int sig, void (*fn)(int));
/* The heap profiler (prof.c; its stacks: unwind.h).
 *  - ta_os_copy_file(src, fd): appends the contents of the file src (/proc/self/maps) to fd; 0, or
 *    -1 when src cannot be read or fd written. Reads through a buffer on the stack. */
TA_HIDDEN int    ta_os_copy_file(const char *src, int fd);
/* Ends the process now with status code, after flushing stdio's buffers (fflush(NULL), then _exit:
 * no further exit handlers run). The leak report's non-zero exit. */
TA_HIDDEN TA_NORETURN void ta_os_exit_now(int code);
/* The process id (getpid). */
TA_HIDDEN long   ta_os_pid(void);

/* Memory over time (the decay of free memory; large mappings that grow).
 *  - ta_os_now_ms(): a monotonic clock in milliseconds (coarse: vDSO, no system call as a rule).
 *  - ta_os_resize(p, old_size, new_size): the mapping at p (old_size bytes, as mapped) grown or
 *    shrunk in place by mremap, without copying. Returns 0, or -1 when the address space after it
 *    is taken (a shrink does not fail). Sizes are page multiples.
 *  - ta_os_move(p, old_size, new_size, dst): the pages of the mapping at p moved (mremap, no copy)
 *    onto dst, a mapping of new_size bytes the caller made for them (so nothing else can be
 *    replaced); p's range is unmapped. Returns 0, or -1 with both mappings untouched. */
TA_HIDDEN uint64_t ta_os_now_ms(void);
TA_HIDDEN int    ta_os_resize(void *p, size_t old_size, size_t new_size);
TA_HIDDEN int    ta_os_move(void *p, size_t old_size, size_t new_size, void *dst);

#endif
