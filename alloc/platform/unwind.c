/* unwind.c - ta_os_unwind_load: libunwind's unw_backtrace for ta_os_backtrace (see unwind.h). */
#include "alloc/platform/unwind.h"

#include <dlfcn.h>
#include <stddef.h>

ta_unw_backtrace_fn ta_os_unw_backtrace;

int ta_os_unwind_load(void) {
    if (ta_os_unw_backtrace) return 0;
    int saved = errno;
    void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    void *fn = h ? dlsym(h, "unw_backtrace") : NULL;
    errno = saved;
    if (!fn) return -1;   /* the handle stays open (a dlclose here could race nothing, but buys nothing) */
    ta_os_unw_backtrace = (ta_unw_backtrace_fn)fn;
    return 0;
}
