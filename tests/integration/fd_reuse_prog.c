/* fd_reuse_prog.c - closes every descriptor from 3 up (as daemons do with closefrom), which closes
 * tamalloc's duplicate of fd 2, then opens FILE (argv[1]), which gets number 3, and puts it on every
 * number that was open before as well (dup2), so that the duplicate's old number now names this
 * file. It writes one line through fd 3, prints those numbers on stdout ("reused: N..."), and exits
 * with the file still open.
 * preload_stderr_closed_test.sh checks that tamalloc's exit report went to fd 2 and not into the
 * file. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    int was_open[64], n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 1;
    int own = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd > 3 && fd != own) was_open[n++] = fd;
    }
    closedir(d);
    for (int fd = 3; fd < 1024; fd++) close(fd);
    for (int i = 0; i < n; i++) close(was_open[i]);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 1;
    for (int i = 0; i < n; i++)
        if (dup2(fd, was_open[i]) != was_open[i]) return 1;
    char *line = malloc(64);   /* an allocation after the descriptors changed */
    int len = snprintf(line, 64, "user data on fd %d\n", fd);
    if (write(fd, line, (size_t)len) != len) return 1;
    free(line);
    printf("reused:");   /* the numbers it put its file on besides 3 */
    for (int i = 0; i < n; i++) printf(" %d", was_open[i]);
    printf("\n");
    return 0;
}
