/*
 * The one monotonic clock of the live program: CLOCK_MONOTONIC in
 * microseconds. The loop samples it once per iteration and passes the value
 * down as now_us (the core never reads it); the measuring clock of
 * interruption latency, the brain's token timings and the console's audio
 * thread read it directly. Thread-safe. Timed waits on a pthread condition
 * (CLOCK_REALTIME) and the wall-clock timestamps of logs are other clocks.
 */
#ifndef VT_UTIL_CLOCK_H
#define VT_UTIL_CLOCK_H
#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds (an arbitrary origin: only differences
 * and comparisons mean anything). */
int64_t vt_now_us(void);

#endif
