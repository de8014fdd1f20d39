/* quiet_prog.c - built twice by tests/shim/BUILD: linked with //alloc:tamalloc only (the ta_* API)
 * and with the drop-in (malloc = "//alloc:tamalloc_override"). It allocates through the API, then
 * prints the disposition of SIGUSR2 ("SIGUSR2 default" or "SIGUSR2 handled"), which shim_split_test.sh
 * compares with what each build must show when TAMALLOC_HEAP_MAP is set. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tamalloc.h"

int main(void) {
    void *p = ta_malloc(100);
    if (p == NULL) return 2;
    memset(p, 1, 100);
    ta_free(p);
    struct sigaction sa;
    if (sigaction(SIGUSR2, NULL, &sa) != 0) return 2;
    puts(sa.sa_handler == SIG_DFL ? "SIGUSR2 default" : "SIGUSR2 handled");
    return 0;
}
