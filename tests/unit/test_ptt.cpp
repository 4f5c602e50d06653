#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "pttcam/ptt/burst_framer.hpp"
#include "pttcam/ptt/talk_script.hpp"

using namespace pttcam::ptt;

namespace {

std::string script_error(const std::string& text) {
  try {
    parse_talk_script(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

struct Frame {
  std::vector<float> pcm;
  FrameFlags flags;
};

// Collects what the framer emits.
struct Sink {
  std::vector<Frame> frames;
  auto callback() {
    return [this](std::span<const float> pcm, const FrameFlags& f) {
      frames.push_back({std::vector<float>(pcm.begin(), pcm.end()), f});
    };
  }
};

std::vector<float> ramp(std::size_t n, float first) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = first + static_cast<float>(i);
  return v;
}

}  // namespace

TEST_CASE("parse_talk_script") {
  SUBCASE("valid scripts") {
    struct Row {
      const char* text;
      std::vector<TalkWindow> expected;
    };
    const Row rows[] = {
        {"0.5+2.0", {{0.5, 2.0}}},
        {"0+1", {{0.0, 1.0}}},
        {"0.5+2.0,3.0+1.5", {{0.5, 2.0}, {3.0, 1.5}}},
        {"0.25+0.5,1.75+0.125,3+2", {{0.25, 0.5}, {1.75, 0.125}, {3.0, 2.0}}},
        {"1+1,2+0.5,2.5+3", {{1.0, 1.0}, {2.0, 0.5}, {2.5, 3.0}}},  // touching windows
        {"10+0.02", {{10.0, 0.02}}},
    };
    for (const auto& row : rows) {
      CAPTURE(row.text);
      const auto got = parse_talk_script(row.text);
      REQUIRE(got.size() == row.expected.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].start == doctest::Approx(row.expected[i].start));
        CHECK(got[i].duration == doctest::Approx(row.expected[i].duration));
        CHECK(got[i].end() == doctest::Approx(row.expected[i].start + row.expected[i].duration));
      }
    }
  }

  SUBCASE("bad scripts name the item and the reason") {
    struct Row {
      const char* text;
      const char* message;
    };
    const Row rows[] = {
        {"", "empty script"},
        {"0.5-2", "item 1 '0.5-2': missing '+'"},
        {"0.5", "item 1 '0.5': missing '+'"},
        {"0+1,2", "item 2 '2': missing '+'"},
        {"a+1", "item 1 'a+1': START is not a number"},
        {"+1", "item 1 '+1': START is not a number"},
        {"1x+1", "item 1 '1x+1': START is not a number"},
        {"nan+1", "item 1 'nan+1': START is not a number"},
        {"1+b", "item 1 '1+b': DURATION is not a number"},
        {"1+", "item 1 '1+': DURATION is not a number"},
        {"1+2s", "item 1 '1+2s': DURATION is not a number"},
        {"1+inf", "item 1 '1+inf': DURATION is not a number"},
        {"-1+2", "item 1 '-1+2': START must not be negative"},
        {"-0.001+2", "START must not be negative"},
        {"1+0", "item 1 '1+0': DURATION must be positive"},
        {"1+-2", "item 1 '1+-2': DURATION must be positive"},
        {"0+2,1+1", "item 2 '1+1': starts before the previous press ends"},
        {"3+1,0+1", "item 2 '0+1': starts before the previous press ends"},
        {"0+1,2+1,2.5+1", "item 3 '2.5+1': starts before the previous press ends"},
        {"0+1,", "item 2 '': missing '+'"},
        {",0+1", "item 1 '': missing '+'"},
        {"0+1,,2+1", "item 2 '': missing '+'"},
    };
    for (const auto& row : rows) {
      CAPTURE(row.text);
      const std::string message = script_error(row.text);
      CHECK_MESSAGE(message.find(row.message) != std::string::npos, message);
    }
  }

  SUBCASE("item errors carry the expected grammar") {
    CHECK(script_error("x") ==
          "bad script item 1 'x': missing '+' (expected START+DURATION,... in seconds, e.g. 0.5+2.0,3.0+1.5)");
  }
}

TEST_CASE("BurstFramer") {
  SUBCASE("a zero frame size is refused") {
    std::string message;
    try {
      BurstFramer framer(0);
    } catch (const std::invalid_argument& e) {
      message = e.what();
    }
    CHECK(message == "frame size must be positive");
  }

  SUBCASE("samples pushed while idle are ignored") {
    BurstFramer framer(4);
    Sink sink;
    framer.push(ramp(10, 1), 0, sink.callback());
    CHECK(sink.frames.empty());
    CHECK(framer.pending() == 0);
    CHECK_FALSE(framer.talking());
  }

  SUBCASE("frames only while talking; first flag exactly on the first frame") {
    BurstFramer framer(4);
    Sink sink;
    framer.key_down(1'000);
    CHECK(framer.talking());
    framer.push(ramp(3, 1), 1'000, sink.callback());
    CHECK(sink.frames.empty());  // not a whole frame yet
    CHECK(framer.pending() == 3);
    framer.push(ramp(10, 4), 2'000, sink.callback());
    REQUIRE(sink.frames.size() == 3);
    CHECK(framer.pending() == 1);
    for (std::size_t i = 0; i < sink.frames.size(); ++i) {
      CAPTURE(i);
      CHECK(sink.frames[i].pcm == ramp(4, 1 + 4 * static_cast<float>(i)));
      CHECK(sink.frames[i].flags.first == (i == 0));
      CHECK_FALSE(sink.frames[i].flags.last);
      CHECK(sink.frames[i].flags.valid_samples == 4);
    }
  }

  SUBCASE("key_up pads the partial frame with zeros and marks it last") {
    BurstFramer framer(4);
    Sink sink;
    framer.key_down(0);
    framer.push(ramp(6, 1), 0, sink.callback());
    framer.key_up(sink.callback());
    REQUIRE(sink.frames.size() == 2);
    CHECK(sink.frames[1].pcm == std::vector<float>{5, 6, 0, 0});
    CHECK(sink.frames[1].flags.last);
    CHECK_FALSE(sink.frames[1].flags.first);
    CHECK(sink.frames[1].flags.valid_samples == 2);
    CHECK_FALSE(framer.talking());
    CHECK(framer.pending() == 0);
    framer.push(ramp(8, 1), 0, sink.callback());  // released: ignored again
    CHECK(sink.frames.size() == 2);
  }

  SUBCASE("key_up on a frame boundary emits one silent last frame") {
    BurstFramer framer(4);
    Sink sink;
    framer.key_down(0);
    framer.push(ramp(8, 1), 0, sink.callback());
    REQUIRE(sink.frames.size() == 2);
    framer.key_up(sink.callback());
    REQUIRE(sink.frames.size() == 3);
    CHECK(sink.frames[2].pcm == std::vector<float>(4, 0.0f));
    CHECK(sink.frames[2].flags.last);
    CHECK_FALSE(sink.frames[2].flags.first);
    CHECK(sink.frames[2].flags.valid_samples == 0);
  }

  SUBCASE("a press with no samples still sends one frame that is first and last") {
    BurstFramer framer(4);
    Sink sink;
    framer.key_down(777);
    framer.key_up(sink.callback());
    REQUIRE(sink.frames.size() == 1);
    CHECK(sink.frames[0].flags.first);
    CHECK(sink.frames[0].flags.last);
    CHECK(sink.frames[0].flags.valid_samples == 0);
    CHECK(sink.frames[0].flags.capture_us == 777);
    CHECK(sink.frames[0].pcm == std::vector<float>(4, 0.0f));
  }

  SUBCASE("key_up while idle emits nothing") {
    BurstFramer framer(4);
    Sink sink;
    framer.key_up(sink.callback());
    CHECK(sink.frames.empty());
    framer.key_down(0);
    framer.push(ramp(2, 1), 0, sink.callback());
    framer.key_up(sink.callback());
    framer.key_up(sink.callback());  // second release: nothing more
    CHECK(sink.frames.size() == 1);
  }

  SUBCASE("a repeated key_down does not restart the burst") {
    BurstFramer framer(4);
    Sink sink;
    framer.key_down(0);
    framer.push(ramp(2, 1), 0, sink.callback());
    framer.key_down(500);
    framer.push(ramp(2, 3), 10, sink.callback());
    REQUIRE(sink.frames.size() == 1);
    CHECK(sink.frames[0].pcm == ramp(4, 1));
    CHECK(sink.frames[0].flags.first);
  }

  SUBCASE("a new burst after key_up starts with first set again") {
    BurstFramer framer(4);
    Sink sink;
    framer.key_down(0);
    framer.push(ramp(5, 1), 0, sink.callback());
    framer.key_up(sink.callback());
    framer.key_down(90'000);
    framer.push(ramp(4, 50), 100'000, sink.callback());
    REQUIRE(sink.frames.size() == 3);
    CHECK(sink.frames[2].flags.first);
    CHECK_FALSE(sink.frames[2].flags.last);
    CHECK(sink.frames[2].flags.capture_us == 100'000);
    CHECK(sink.frames[2].pcm == ramp(4, 50));
  }

  SUBCASE("capture time of each frame follows its first sample across chunks") {
    // 480-sample frames; chunks with their own capture times (deliberately not contiguous, so a
    // framer that extrapolated from the first chunk would be caught).
    struct Chunk {
      std::size_t samples;
      std::int64_t capture_us;
    };
    const Chunk chunks[] = {{300, 1'000'000}, {500, 1'006'250}, {1000, 5'000'000}, {96, 7'000'000}};
    // Frame k starts at sample 480k of the burst:
    //   frame 0: chunk 0 offset 0               -> 1'000'000
    //   frame 1: chunk 1 offset 180 (3750 us)   -> 1'010'000
    //   frame 2: chunk 2 offset 160 (3333.3 us) -> 5'003'333
    //   frame 3: chunk 2 offset 640 (13333.3)   -> 5'013'333
    // frame 3 holds 360 samples of chunk 2 and 96 of chunk 3, then key_up pads it.
    const std::int64_t expected[] = {1'000'000, 1'010'000, 5'003'333, 5'013'333};
    BurstFramer framer(480);
    Sink sink;
    framer.key_down(999'000);
    float value = 0;
    for (const auto& c : chunks) {
      framer.push(ramp(c.samples, value), c.capture_us, sink.callback());
      value += static_cast<float>(c.samples);
    }
    framer.key_up(sink.callback());
    REQUIRE(sink.frames.size() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
      CAPTURE(i);
      CHECK(sink.frames[i].flags.capture_us == expected[i]);
      CHECK(sink.frames[i].pcm.front() == static_cast<float>(480 * i));  // no sample lost or repeated
    }
    CHECK(sink.frames[3].flags.valid_samples == 456);
    CHECK(sink.frames[3].pcm[455] == 1895.0f);
    CHECK(sink.frames[3].pcm[456] == 0.0f);
  }
}
