/*
 * What the scenario test files share: run a scenario given as a JSON string
 * (a failed load or run fails the test), and the questions about its
 * records (src/sim/sim_query.c) under the short names the tests use.
 * Include after cmocka.h.
 */
#ifndef VT_TESTS_SCENARIO_TEST_H
#define VT_TESTS_SCENARIO_TEST_H
#include <stdio.h>

#include "sim/sim.h"

static inline vt_sim *run(const char *json)
{
    char err[512] = "";
    vt_sim *s = NULL;
    if (vt_sim_load_string(json, ".", "test", &s, err, sizeof err))
        fail_msg("load: %s", err);
    if (vt_sim_run(s, err, sizeof err))
        fail_msg("run: %s", err);
    return s;
}

#define nth(s, type, n) vt_sim_find(s, type, NULL, n)
#define count(s, type) vt_sim_count(s, type, NULL)
#define t_of(s, type, n) vt_sim_time(s, type, NULL, n)
#define t_enter vt_sim_entered
#define energy vt_sim_energy

/* A string field of the nth record of a type (static buffer); "" when there
 * is no such record. */
static inline const char *field(const vt_sim *s, const char *type, int n, const char *key)
{
    static char buf[1024];
    return vt_sim_field(s, type, n, key, buf, sizeof buf) == 0 ? buf : "";
}
#endif
