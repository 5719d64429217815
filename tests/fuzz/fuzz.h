/*
 * The libFuzzer entry point every harness in tests/fuzz defines. Built two
 * ways (tests/fuzz/CMakeLists.txt): with clang's -fsanitize=fuzzer for
 * coverage-guided fuzzing (`make fuzz`), and with replay.c's main in every
 * normal build, which runs the checked-in corpus as a regression test.
 */
#ifndef VT_TESTS_FUZZ_H
#define VT_TESTS_FUZZ_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (malloc'd), for text parsers. */
char *vt_fuzz_text(const uint8_t *data, size_t size);
#endif
