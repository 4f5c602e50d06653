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
// delay, typically 250-600 ms, up to 2 s) and then repeats every 30-50 ms. The key counts as
// released when the next repeat is overdue. The first repeat of a held press tells the terminal's
// delay: later presses wait that long (plus a margin) instead of the default, so a keyboard with a
// delay over the default is cut only on its first held press, and a quick one releases sooner.
// Pure: time is passed in (microseconds).
class AutoRepeatRelease {
 public:
  struct Config {
    std::int64_t first_repeat_us = 700'000;  // longest common auto-repeat delay, plus margin
    std::int64_t repeat_gap_us = 120'000;    // slowest common repeat interval, plus margin
    bool learn = true;                       // adapt first_repeat_us to the delay the terminal shows
  };
  static constexpr std::int64_t kMinFirstRepeatUs = 200'000;
  static constexpr std::int64_t kMaxFirstRepeatUs = 2'000'000;

  AutoRepeatRelease() : AutoRepeatRelease(Config{}) {}
  explicit AutoRepeatRelease(Config config) : config_(config), first_repeat_us_(config.first_repeat_us) {}
  // A space arrived; returns true if it starts a new press.
  bool on_space(std::int64_t now_us) noexcept;
  // Toggle mode: a space arrived. A tap is never swallowed: once the terminal's delay is known a
  // space well before it is a second tap; before that, a space that comes while a press may still
  // be held is `pending` until tap_due_us(): a repeat stream follows it within the repeat gap, a
  // tap does not (poll_tap() then confirms it).
  enum class Tap { tap, repeat, pending };
  Tap on_tap(std::int64_t now_us) noexcept;
  // When a pending tap is confirmed if nothing follows it; -1 when none is pending.
  std::int64_t tap_due_us() const noexcept { return pending_us_ >= 0 ? pending_us_ + config_.repeat_gap_us : -1; }
  // True once, when the pending space turned out to be a tap.
  bool poll_tap(std::int64_t now_us) noexcept;
  // Returns true once, when the key is judged released.
  bool poll(std::int64_t now_us) noexcept;
  bool held() const noexcept { return held_; }
  // When poll() should next be called.
  std::int64_t deadline_us() const noexcept;
  // The wait for the first repeat now in use, and the delay the terminal showed (0: none yet).
  std::int64_t first_repeat_us() const noexcept { return first_repeat_us_; }
  std::int64_t learned_delay_us() const noexcept { return learned_us_; }

 private:
  void learn(std::int64_t delay_us) noexcept;

  Config config_;
  std::int64_t first_repeat_us_;
  std::int64_t learned_us_ = 0;
  bool held_ = false;
  bool repeating_ = false;
  std::int64_t press_us_ = 0;
  std::int64_t last_us_ = 0;
  std::int64_t released_us_ = -1;  // when the last press was judged released
  std::int64_t pending_us_ = -1;   // toggle: a space that may be a tap or a held key's first repeat
};

}  // namespace pttcam::client
