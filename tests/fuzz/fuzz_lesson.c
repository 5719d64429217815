/* Fuzzes the lesson file parser (docs/LESSONS.md). */
#include "fuzz/fuzz.h"
#include "engines/brain/lesson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_lesson *l = NULL;
    char err[512];
    if (vt__lesson_parse((const char *)data, size, "fuzz.lesson", &l, err, sizeof err) == 0)
        vt__lesson_free(l);
    return 0;
}
