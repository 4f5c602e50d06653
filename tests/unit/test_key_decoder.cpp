#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pttcam/client/key_decoder.hpp"

using pttcam::client::AutoRepeatRelease;
using pttcam::client::KeyDecoder;
using pttcam::client::KeyEvent;

namespace {

using Events = std::vector<KeyEvent>;

const char* name(KeyEvent e) {
  switch (e) {
    case KeyEvent::space_press: return "space_press";
    case KeyEvent::space_repeat: return "space_repeat";
    case KeyEvent::space_release: return "space_release";
    case KeyEvent::quit: return "quit";
    case KeyEvent::renew: return "renew";
    case KeyEvent::kitty_supported: return "kitty_supported";
  }
  return "?";
}

std::string show(const Events& events) {
  std::string out;
  for (const auto e : events) out += std::string(out.empty() ? "" : ",") + name(e);
  return out;
}

}  // namespace

TEST_CASE("KeyDecoder") {
  SUBCASE("single inputs, legacy and kitty") {
    struct Row {
      std::string_view bytes;
      Events expected;
    };
    using enum KeyEvent;
    const Row rows[] = {
        // legacy bytes
        {" ", {space_press}},
        {"q", {quit}},
        {"Q", {quit}},
        {"r", {renew}},
        {"R", {renew}},
        {"\x03", {quit}},
        {"\x1bx", {quit}},  // Esc, then a key the decoder ignores
        {"\x1b ", {quit, space_press}},
        {"x1\n\t", {}},
        {"  q", {space_press, space_press, quit}},
        // kitty keyboard protocol
        {"\x1b[32u", {space_press}},
        {"\x1b[32;1u", {space_press}},
        {"\x1b[32;1:1u", {space_press}},
        {"\x1b[32;1:2u", {space_repeat}},
        {"\x1b[32;1:3u", {space_release}},
        {"\x1b[113u", {quit}},
        {"\x1b[81;2u", {quit}},  // shifted q
        {"\x1b[113;1:3u", {}},   // releasing q does not quit twice
        {"\x1b[27u", {quit}},
        {"\x1b[99;5u", {quit}},  // Ctrl-C
        {"\x1b[99;5:2u", {quit}},
        {"\x1b[99u", {}},        // plain c
        {"\x1b[99;2u", {}},      // shift-c
        {"\x1b[114u", {renew}},
        {"\x1b[114;1:3u", {}},
        {"\x1b[?11u", {kitty_supported}},
        {"\x1b[?0u", {kitty_supported}},
        {"\x1b[32;1:2u\x1b[32;1:2u\x1b[32;1:3u", {space_repeat, space_repeat, space_release}},
        // garbage and other CSI sequences are ignored, and what follows still decodes
        {"\x1b[A", {}},                 // arrow up
        {"\x1b[1;5C", {}},              // ctrl-right
        {"\x1b[200~", {}},              // bracketed paste start
        {"\x1b[65u", {}},               // another kitty key
        {"\x1b[;;;u", {}},
        {"\x1b[A ", {space_press}},
        {"\x1b[1;5Cq", {quit}},
        {"\x1b[0000000000000000000000000000000000000000", {}},  // overlong: dropped
        {"\x1b[0000000000000000000000000000000000000000 ", {space_press}},
    };
    for (const auto& row : rows) {
      CAPTURE(std::string(row.bytes));
      KeyDecoder decoder;
      CHECK(show(decoder.feed(row.bytes)) == show(row.expected));
    }
  }

  SUBCASE("a sequence split across feed() calls is completed by the second call") {
    struct Row {
      std::string_view first, second;
      Events expected_second;
    };
    using enum KeyEvent;
    const Row rows[] = {
        {"\x1b", "[32;1:3u", {space_release}},
        {"\x1b[", "32u", {space_press}},
        {"\x1b[32;1", ":2u", {space_repeat}},
        {"\x1b[32;1:3", "u", {space_release}},
        {"\x1b[?1", "1u", {kitty_supported}},
        {"\x1b[99;", "5u q", {quit, space_press, quit}},
        {"\x1b", "x", {quit}},
    };
    for (const auto& row : rows) {
      CAPTURE(std::string(row.first));
      KeyDecoder decoder;
      CHECK(decoder.feed(row.first).empty());
      CHECK(show(decoder.feed(row.second)) == show(row.expected_second));
    }
  }

  SUBCASE("state is clean after a sequence") {
    KeyDecoder decoder;
    CHECK(show(decoder.feed("\x1b[32u")) == "space_press");
    CHECK(show(decoder.feed("32u")) == "");  // no leftover escape state
    CHECK(show(decoder.feed(" ")) == "space_press");
  }
}

TEST_CASE("AutoRepeatRelease") {
  const AutoRepeatRelease::Config config{700'000, 120'000};

  SUBCASE("defaults: first repeat delay longer than the repeat gap") {
    const AutoRepeatRelease::Config defaults{};
    CHECK(defaults.first_repeat_us > defaults.repeat_gap_us);
  }

  SUBCASE("a single press waits the first-repeat delay, then releases exactly once") {
    AutoRepeatRelease ar(config);
    CHECK_FALSE(ar.held());
    CHECK_FALSE(ar.poll(0));  // nothing held: nothing to release
    CHECK(ar.on_space(1'000'000));
    CHECK(ar.held());
    CHECK(ar.deadline_us() == 1'700'000);
    // Longer than a repeat gap but shorter than the first-repeat delay: still held.
    CHECK_FALSE(ar.poll(1'000'000 + 120'000));
    CHECK_FALSE(ar.poll(1'699'999));
    CHECK(ar.held());
    CHECK(ar.poll(1'700'000));
    CHECK_FALSE(ar.held());
    CHECK_FALSE(ar.poll(1'700'001));
    CHECK_FALSE(ar.poll(9'000'000));
  }

  SUBCASE("auto-repeats within the gap keep the key held") {
    AutoRepeatRelease ar(config);
    CHECK(ar.on_space(0));
    CHECK_FALSE(ar.on_space(500'000));  // first repeat after the terminal's delay
    CHECK(ar.deadline_us() == 620'000);
    std::int64_t t = 500'000;
    for (int i = 0; i < 20; ++i) {
      t += 100'000;  // under the 120 ms gap
      CHECK_FALSE(ar.poll(t - 1));
      CHECK_FALSE(ar.on_space(t));
      CHECK(ar.held());
    }
    CHECK(ar.deadline_us() == t + 120'000);
    CHECK_FALSE(ar.poll(t + 119'999));
    CHECK(ar.poll(t + 120'000));  // repeat overdue: released
    CHECK_FALSE(ar.poll(t + 120'001));
    CHECK_FALSE(ar.held());
  }

  SUBCASE("the first repeat teaches the terminal's delay: later presses wait that long, plus a margin") {
    AutoRepeatRelease ar(config);
    ar.on_space(0);
    ar.on_space(600'000);
    CHECK(ar.learned_delay_us() == 600'000);
    CHECK(ar.poll(800'000));
    CHECK(ar.on_space(2'000'000));
    CHECK(ar.deadline_us() == 2'000'000 + 750'000);  // 600 ms + a quarter
    CHECK_FALSE(ar.poll(2'700'000));
    CHECK(ar.poll(2'750'000));
  }

  SUBCASE("a delay longer than the wait is cut once, then learnt") {
    AutoRepeatRelease ar(config);
    ar.on_space(0);
    CHECK(ar.poll(700'000));          // judged released: the terminal's delay is 900 ms
    CHECK(ar.on_space(900'000));      // its first repeat comes 200 ms later: a new press...
    CHECK(ar.learned_delay_us() == 900'000);
    CHECK(ar.first_repeat_us() == 1'125'000);  // ...but the next held press is not cut
    ar.on_space(900'000 + 30'000);
    CHECK(ar.poll(900'000 + 30'000 + 120'000));
    CHECK(ar.on_space(5'000'000));
    CHECK_FALSE(ar.poll(5'000'000 + 900'000));
  }

  SUBCASE("a fixed wait (--release-ms) does not learn") {
    AutoRepeatRelease ar({300'000, 120'000, false});
    ar.on_space(0);
    ar.on_space(600'000);
    CHECK(ar.poll(800'000));
    CHECK(ar.on_space(2'000'000));
    CHECK(ar.deadline_us() == 2'300'000);
    CHECK(ar.learned_delay_us() == 0);
  }

  SUBCASE("toggle: a tap is never swallowed, a repeat never toggles") {
    using Tap = AutoRepeatRelease::Tap;
    AutoRepeatRelease ar(config);
    CHECK(ar.on_tap(0) == Tap::tap);
    // Nothing learnt yet: a space 300 ms later may be a second tap or the first repeat.
    CHECK(ar.on_tap(300'000) == Tap::pending);
    CHECK(ar.tap_due_us() == 420'000);
    CHECK_FALSE(ar.poll_tap(419'999));
    CHECK(ar.poll_tap(420'000));  // nothing followed it: a tap
    CHECK_FALSE(ar.poll_tap(500'000));
    // A held key: the pending space is followed by its repeats.
    CHECK(ar.poll(2'000'000));
    CHECK(ar.on_tap(3'000'000) == Tap::tap);
    CHECK(ar.on_tap(3'500'000) == Tap::pending);
    CHECK(ar.on_tap(3'540'000) == Tap::repeat);  // the repeat stream: it was held
    CHECK(ar.learned_delay_us() == 500'000);
    CHECK_FALSE(ar.poll_tap(4'000'000));
    CHECK(ar.on_tap(3'580'000) == Tap::repeat);
    CHECK(ar.poll(3'580'000 + 120'000));
    // Learnt: a second tap well before the delay is a tap at once; one at the delay is a repeat.
    CHECK(ar.on_tap(5'000'000) == Tap::tap);
    CHECK(ar.on_tap(5'200'000) == Tap::tap);
    CHECK(ar.on_tap(5'700'000) == Tap::repeat);
  }
}
