#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pttcam::client {

// What the terminal said about the talk key. Pure: bytes in, events out; no terminal, no clock.
enum class KeyEvent {
  space_press,    // kitty: press; legacy: a space byte (press or auto-repeat, cannot tell)
  space_repeat,   // kitty only
  space_release,  // kitty only
  quit,           // q, Q, Ctrl-C, Esc
  renew,          // r
  kitty_supported // the terminal answered the kitty keyboard protocol query
};

// Decodes legacy bytes and kitty keyboard protocol sequences (CSI code[:alt];mods[:type] u,
// CSI ? flags u). Incomplete escape sequences are kept until the rest arrives.
class KeyDecoder {
 public:
  std::vector<KeyEvent> feed(std::string_view bytes);

 private:
  void finish_csi(std::vector<KeyEvent>& out);
  std::string csi_;
  bool in_escape_ = false;
};

// Legacy terminals send no release: a held key shows up as a press, a pause (the auto-repeat
// delay, typically 250-600 ms) and then repeats every 30-50 ms. The key counts as released when
// the next repeat is overdue. Pure: time is passed in (microseconds).
class AutoRepeatRelease {
 public:
  struct Config {
    std::int64_t first_repeat_us = 700'000;  // longest common auto-repeat delay, plus margin
    std::int64_t repeat_gap_us = 120'000;    // slowest common repeat interval, plus margin
  };
  AutoRepeatRelease() : AutoRepeatRelease(Config{}) {}
  explicit AutoRepeatRelease(Config config) : config_(config) {}
  // A space arrived; returns true if it starts a new press.
  bool on_space(std::int64_t now_us) noexcept;
  // Returns true once, when the key is judged released.
  bool poll(std::int64_t now_us) noexcept;
  bool held() const noexcept { return held_; }
  // When poll() should next be called.
  std::int64_t deadline_us() const noexcept;

 private:
  Config config_;
  bool held_ = false;
  bool repeating_ = false;
  std::int64_t last_us_ = 0;
};

}  // namespace pttcam::client
