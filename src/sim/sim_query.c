/*
 * Questions about a finished run (sim.h): the records by type, a record's
 * field, when a state was entered, how loud out.wav was. The scenario tests
 * and bench_turn ask the same questions, so they are answered once, here.
 */
#include "sim/sim.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const vt_sim_record *vt_sim_find(const vt_sim *s, const char *type, const char *has, int n)
{
    const vt_sim_record *r;
    size_t k = vt_sim_records(s, &r);
    for (size_t i = 0; i < k; i++)
        if (strcmp(r[i].type, type) == 0 && (!has || strstr(r[i].json, has)) && n-- == 0)
            return &r[i];
    return NULL;
}

int vt_sim_count(const vt_sim *s, const char *type, const char *has)
{
    int n = 0;
    while (vt_sim_find(s, type, has, n))
        n++;
    return n;
}

double vt_sim_time(const vt_sim *s, const char *type, const char *has, int n)
{
    const vt_sim_record *r = vt_sim_find(s, type, has, n);
    return r ? r->t : -1;
}

int vt_sim_field(const vt_sim *s, const char *type, int n, const char *key, char *buf,
                 size_t cap)
{
    const vt_sim_record *r = vt_sim_find(s, type, NULL, n);
    if (!r)
        return -1;
    cJSON *o = cJSON_Parse(r->json);
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (cJSON_IsString(v))
        snprintf(buf, cap, "%s", v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(buf, cap, "%g", v->valuedouble);
    else if (cap)
        buf[0] = 0;
    cJSON_Delete(o);
    return 0;
}

double vt_sim_entered(const vt_sim *s, const char *state, int n)
{
    char want[64];
    snprintf(want, sizeof want, "\"to\":\"%s\"", state);
    return vt_sim_time(s, "transition", want, n);
}

double vt_sim_energy(const vt_sim *s, double a, double b)
{
    size_t n;
    int rate;
    const int16_t *o = vt_sim_output(s, &n, &rate);
    double e = 0;
    size_t i0 = (size_t)(a * rate), i1 = (size_t)(b * rate);
    for (size_t i = i0; i < i1 && i < n; i++)
        e += fabs((double)o[i]);
    return i1 > i0 ? e / (double)(i1 - i0) : 0;
}
