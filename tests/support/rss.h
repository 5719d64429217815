/*
 * Resident memory of this process, for the benchmarks that say what a
 * session costs (bench_speech, bench_lm_share): one reading of
 * /proc/self/statm, so every figure is measured the same way.
 */
#ifndef VT_TESTS_SUPPORT_RSS_H
#define VT_TESTS_SUPPORT_RSS_H
/* Resident set size in MiB (0 when /proc is not readable). */
double vt_test_rss_mb(void);
#endif
