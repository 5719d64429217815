/*
 * Moved to src/protocol/config_json.h (it calls the core, so it sits above
 * it). This forwarder stays only for src/sim/sim.c and
 * tests/unit/test_config.c, which are being rewritten; remove it once they
 * include "protocol/config_json.h".
 */
#include "protocol/config_json.h"
