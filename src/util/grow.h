/*
 * Growing arrays: one place for the "double the capacity when full" step
 * that queues, lists and records all need.
 */
#ifndef VT_UTIL_GROW_H
#define VT_UTIL_GROW_H
#include <stddef.h>

/* Makes room for at least need elements of elem bytes in *p, whose
 * capacity is *cap (doubling, from 16). 0, or VT_ENOMEM with *p untouched. */
int vt_grow(void **p, size_t *cap, size_t need, size_t elem);
#endif
