/* Resident memory from /proc/self/statm (see rss.h). */
#include "support/rss.h"
#include <stdio.h>
#include <unistd.h>

double vt_test_rss_mb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (double)res * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}
