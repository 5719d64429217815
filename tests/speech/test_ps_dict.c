/*
 * The dictionary read once per process (src/engines/speech/ps_dict.c): a
 * lookup finds a word and only that word, variants ("word(2)") come with
 * it, a missing word is named, and a keyword decoder built on the subset
 * opens (the keyword spotter's tests in test_stt.c cover its hits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engines/speech/ps_dict.h"
#include "voicetutor/core.h"
#include "engines/speech/speech.h"

static const char *k_dict =
    "zebra Z IY B R AH\n"
    "stop S T AA P\n"
    "stopped S T AA P T\n"
    "read R IY D\n"
    "read(2) R EH D\n"
    "excuse IH K S K Y UW Z\n"
    "me M IY\n";

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_subset(void **state)
{
    (void)state;
    char src[] = "/tmp/vt-dict-test-XXXXXX";
    int fd = mkstemp(src);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, k_dict, strlen(k_dict)), (ssize_t)strlen(k_dict));
    close(fd);
    vt__ps_dict *d = NULL;
    char err[256], path[64], bad[64];
    assert_int_equal(vt__ps_dict_load(src, &d, err, sizeof err), 0);
    assert_true(vt__ps_dict_has(d, "stop"));
    assert_false(vt__ps_dict_has(d, "sto"));
    const char *w[] = {"stop", "read", "excuse me"};
    assert_int_equal(vt__ps_dict_subset(d, w, 3, path, sizeof path, bad, sizeof bad), 0);
    const char *got = slurp(path);
    assert_non_null(strstr(got, "stop S T AA P\n"));
    assert_null(strstr(got, "stopped"));
    assert_non_null(strstr(got, "read R IY D\n"));
    assert_non_null(strstr(got, "read(2) R EH D\n"));
    assert_non_null(strstr(got, "excuse "));
    assert_non_null(strstr(got, "me M IY\n"));
    assert_null(strstr(got, "zebra"));
    unlink(path);
    const char *missing[] = {"stop", "halt"};
    assert_int_equal(vt__ps_dict_subset(d, missing, 2, path, sizeof path, bad, sizeof bad),
                     VT_ENOTFOUND);
    assert_string_equal(bad, "halt");
    assert_int_equal(access(path, F_OK), -1); /* removed */
    vt__ps_dict_free(d);
    unlink(src);
    assert_int_equal(vt__ps_dict_load("/nonexistent/dict", &d, err, sizeof err), VT_ENOTFOUND);
}

/* a keyword spotter on the subset of the real dictionary opens fast, and an
 * unknown command word is refused by name */
static void test_kws_subset(void **state)
{
    (void)state;
    const vt_kws_ops *ops = vt_kws_find("pocketsphinx");
    assert_non_null(ops);
    void *model = NULL, *ctx = NULL;
    char err[512];
    vt_opt o[] = {{"warmup", "0"}};
    assert_int_equal(ops->load(NULL, 0, &model, err, sizeof err), 0);
    vt_keyword kw[] = {{"stop", 0}, {"excuse me", 0}};
    assert_int_equal(ops->create(model, o, 1, kw, 2, &ctx, err, sizeof err), 0);
    ops->destroy(ctx);
    vt_keyword badkw[] = {{"zzqx", 0}};
    assert_int_not_equal(ops->create(model, o, 1, badkw, 1, &ctx, err, sizeof err), 0);
    assert_non_null(strstr(err, "'zzqx'"));
    ops->unload(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subset),
        cmocka_unit_test(test_kws_subset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
