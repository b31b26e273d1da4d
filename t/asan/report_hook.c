/*
 * Linked into the sanitizer build of nginx by `make asan` (not into the module).
 *
 * Every ASan and UBSan report ends with a one-line summary, passed to this hook. UBSan running
 * inside the ASan runtime ignores log_path and writes to stderr, which nginx points at its
 * error log, and the test runners delete those logs between blocks. So the hook also appends
 * each summary to $TASKER_SANITIZER_REPORTS/summary.<pid>, read once when the process starts
 * (nginx clears the environment of its workers), and make asan fails when any such file exists.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char  report_dir[1024];


__attribute__((constructor)) static void
tasker_sanitizer_report_init(void)
{
    const char  *dir = getenv("TASKER_SANITIZER_REPORTS");

    if (dir != NULL && strlen(dir) < sizeof(report_dir)) {
        strcpy(report_dir, dir);
    }
}


static void
write_all(int fd, const char *s)
{
    size_t   len = strlen(s);
    ssize_t  n;

    while (len > 0) {
        n = write(fd, s, len);
        if (n <= 0) {
            return;
        }
        s += n;
        len -= (size_t) n;
    }
}


/* replaces the runtime's weak default, which prints the summary to stderr */
void
__sanitizer_report_error_summary(const char *summary)
{
    int   fd;
    char  path[1100];

    write_all(2, summary);
    write_all(2, "\n");

    if (report_dir[0] == '\0') {
        return;
    }

    snprintf(path, sizeof(path), "%s/summary.%d", report_dir, (int) getpid());

    fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd == -1) {
        return;
    }

    write_all(fd, summary);
    write_all(fd, "\n");
    close(fd);
}
