/*
 * bench/runstat.c -- run one command, report wall time, CPU time and peak RSS
 *
 *   bench_runstat [--stdout FILE] -- CMD [ARGS...]
 *
 * Prints one line to stderr:
 *   "wall_s=<seconds> maxrss_kb=<kb> exit=<status> cpu_s=<user+sys seconds>".
 * CPU seconds are the figure to compare on a shared machine, where wall
 * clock depends on the neighbours.
 * The child's stdout goes to FILE (default /dev/null) so output cost is the
 * same for every peer. Peak RSS comes from wait4()'s rusage of that child, so
 * peers are measured the same way in the same run (bench/run).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *out = "/dev/null";
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--stdout") == 0 && i + 1 < argc) out = argv[++i];
        else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: bench_runstat [--stdout FILE] -- CMD [ARGS...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            close(fd);
        }
        execvp(argv[i], argv + i);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) return 2;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    fprintf(stderr, "wall_s=%.3f maxrss_kb=%ld exit=%d cpu_s=%.3f\n", wall, ru.ru_maxrss, code, cpu);
    return 0;
}
