/*
 * What a local fake server says about the requests it saw: GET /stats on
 * 127.0.0.1:port, the JSON object both fakes (tests/brain/fake_openai.py,
 * tests/remote/fake_audio.py) answer there. For the tests of their clients.
 */
#ifndef VT_TESTS_SUPPORT_FAKE_STATS_H
#define VT_TESTS_SUPPORT_FAKE_STATS_H
#include <cjson/cJSON.h>

/* The parsed object (the caller deletes it), or NULL when it did not answer
 * or answered something else. */
cJSON *vt_fake_stats(int port);
#endif
