#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "playout_scenarios.hpp"
#include "fixed_delay_playout.hpp"

using namespace pttcam::test;

// FixedDelayPlayout's behaviour (idle silence, burst start, in-order bursts, the scenario table) is
// tested in test_jitter.cpp: it is the reference the JitterBuffer is held to, and there every
// scenario runs against both classes (tests/support/playout_scenarios.hpp). What stays here is
// what the scenarios cannot express.

TEST_CASE("FixedDelayPlayout::flush") {
  FixedDelayPlayout playout({10'000, 4800});
  pttcam::test::check_flush(playout, [] {});
}
