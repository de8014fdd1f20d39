/* fd_reuse_prog.c - closes every descriptor from 3 up (as daemons do with closefrom), which closes
 * tamalloc's duplicate of fd 2, then opens FILE (argv[1]), which gets the duplicate's old number,
 * writes one line to it and exits with the file still open. preload_stderr_closed_test.sh checks
 * that tamalloc's exit report went to fd 2 and not into the file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    for (int fd = 3; fd < 1024; fd++) close(fd);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 1;
    char *line = malloc(64);   /* an allocation after the descriptors changed */
    int n = snprintf(line, 64, "user data on fd %d\n", fd);
    if (write(fd, line, (size_t)n) != n) return 1;
    free(line);
    return 0;
}
