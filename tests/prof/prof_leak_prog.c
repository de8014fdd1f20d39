/* prof_leak_prog.c - a program that leaks (tests/prof:prof_leak_test): leaky_function, a static
 * function (named only by the ELF .symtab, not by the dynamic symbols), loses 100 blocks of 4000
 * bytes; kept_then_freed allocates as many and frees them. With "clean" as its argument it frees
 * everything and writes nothing with stdio, so nothing of its own is live at exit. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/prof/prof_prog.h"

static void *volatile sink;

NOIPA static void leaky_function(void) {
    for (int i = 0; i < 100; i++) {
        char *p = malloc(4000);
        if (p) memset(p, 1, 4000);
        sink = p;   /* the previous block is lost */
    }
}

NOIPA static void kept_then_freed(void) {
    void *p[100];
    for (int i = 0; i < 100; i++) p[i] = malloc(4000);
    for (int i = 0; i < 100; i++) free(p[i]);
}

int main(int argc, char **argv) {
    kept_then_freed();
    if (argc > 1 && strcmp(argv[1], "clean") == 0) return 0;
    leaky_function();
    static const char msg[] = "leaked\n";
    return write(1, msg, sizeof msg - 1) < 0;
}
