/* GET /stats of a local fake server (see fake_stats.h). */
#include "support/fake_stats.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    char *b = ud;
    size_t l = strlen(b), k = sz * n;
    if (l + k >= 65536)
        k = 65535 - l;
    memcpy(b + l, p, k);
    b[l + k] = 0;
    return sz * n;
}

cJSON *vt_fake_stats(int port)
{
    static char body[65536];
    char url[96];
    body[0] = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/stats", port);
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, body);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    return rc == CURLE_OK ? cJSON_Parse(body) : NULL;
}
