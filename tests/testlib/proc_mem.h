/* proc_mem.h - the process's own memory as the kernel counts it, from /proc/self/statm: resident
 * bytes (what RSS bounds are about) and address-space bytes (what RLIMIT_AS limits). 0 when the
 * file cannot be read. */
#ifndef TA_TESTLIB_PROC_MEM_H
#define TA_TESTLIB_PROC_MEM_H

#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

/* Field index (0: size, 1: resident) of /proc/self/statm, in bytes. */
static inline size_t proc_statm_bytes(int index) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long field[2] = {0, 0};
    if (f) {
        if (fscanf(f, "%lu %lu", &field[0], &field[1]) != 2) field[0] = field[1] = 0;
        fclose(f);
    }
    return (size_t)field[index] * (size_t)sysconf(_SC_PAGESIZE);
}

static inline size_t proc_resident_bytes(void) { return proc_statm_bytes(1); }
static inline size_t proc_vm_bytes(void) { return proc_statm_bytes(0); }

#endif
