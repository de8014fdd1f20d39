/* prof_signal_prog.c - SIGUSR2 under the drop-in (tests/prof:prof_signal_test): keeps 4000 blocks
 * of 1000 bytes, raises SIGUSR2, makes 5000 malloc/free pairs (the profile is written by one of
 * their exits), raises it again, makes 5000 more, then frees everything. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static void pairs(int n) {
    for (int i = 0; i < n; i++) {
        char *volatile q = malloc(100);   /* volatile: the pair is not optimised away */
        free(q);
    }
}

int main(void) {
    static void *keep[4000];
    for (int i = 0; i < 4000; i++)
        if (!(keep[i] = malloc(1000))) return 1;
    raise(SIGUSR2);
    pairs(5000);
    raise(SIGUSR2);
    pairs(5000);
    for (int i = 0; i < 4000; i++) free(keep[i]);
    puts("done");
    return 0;
}
