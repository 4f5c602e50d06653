#include "pttcam/client/key_decoder.hpp"

#include <algorithm>
#include <charconv>

namespace pttcam::client {
namespace {

int leading_int(std::string_view s) {
  int v = -1;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

std::vector<KeyEvent> KeyDecoder::feed(std::string_view bytes) {
  std::vector<KeyEvent> out;
  for (const char c : bytes) {
    if (in_escape_) {
      if (csi_.empty() && c != '[') {  // ESC followed by something else: a lone Esc, then c
        in_escape_ = false;
        out.push_back(KeyEvent::quit);
      } else {
        csi_.push_back(c);
        // A CSI sequence ends with a byte in 0x40..0x7E (after the '[').
        if (csi_.size() > 1 && c >= 0x40 && c <= 0x7e) {
          finish_csi(out);
          in_escape_ = false;
          csi_.clear();
        } else if (csi_.size() > 32) {  // garbage: drop it
          in_escape_ = false;
          csi_.clear();
        }
        continue;
      }
    }
    switch (c) {
      case '\x1b': in_escape_ = true; csi_.clear(); break;
      case ' ': out.push_back(KeyEvent::space_press); break;
      case 'q': case 'Q': case '\x03': out.push_back(KeyEvent::quit); break;
      case 'r': case 'R': out.push_back(KeyEvent::renew); break;
      default: break;
    }
  }
  return out;
}

void KeyDecoder::finish_csi(std::vector<KeyEvent>& out) {
  // csi_ = "[" params final
  const char final = csi_.back();
  std::string_view params(csi_.data() + 1, csi_.size() - 2);
  if (final != 'u') return;
  if (!params.empty() && params.front() == '?') {
    out.push_back(KeyEvent::kitty_supported);
    return;
  }
  // code[:alternates][;modifiers[:event-type]]
  const int code = leading_int(params);
  int mods = 1;
  int type = 1;
  if (const auto semi = params.find(';'); semi != std::string_view::npos) {
    const auto rest = params.substr(semi + 1);
    mods = leading_int(rest);
    if (const auto colon = rest.find(':'); colon != std::string_view::npos) type = leading_int(rest.substr(colon + 1));
  }
  const bool ctrl = mods > 0 && ((mods - 1) & 4);
  if (code == 32) {
    out.push_back(type == 3 ? KeyEvent::space_release : type == 2 ? KeyEvent::space_repeat : KeyEvent::space_press);
  } else if (type != 3 && (code == 113 || code == 81 || code == 27 || (code == 99 && ctrl))) {
    out.push_back(KeyEvent::quit);
  } else if (type != 3 && (code == 114 || code == 82)) {
    out.push_back(KeyEvent::renew);
  }
}

void AutoRepeatRelease::learn(std::int64_t delay_us) noexcept {
  if (!config_.learn) return;
  learned_us_ = delay_us;
  first_repeat_us_ = std::clamp(delay_us + std::max<std::int64_t>(delay_us / 4, 60'000), kMinFirstRepeatUs,
                                kMaxFirstRepeatUs);
}

bool AutoRepeatRelease::on_space(std::int64_t now_us) noexcept {
  if (held_) {
    if (!repeating_) learn(now_us - press_us_);  // the first repeat: the terminal's delay
    repeating_ = true;
    last_us_ = now_us;
    return false;
  }
  // The first repeat of a press judged released too early (a delay longer than the wait): the
  // key was held all along. It still counts as a new press, but later ones wait long enough.
  const bool late_first_repeat = released_us_ >= 0 && now_us - released_us_ < config_.repeat_gap_us * 3 &&
                                 now_us - press_us_ < kMaxFirstRepeatUs;
  if (late_first_repeat) learn(now_us - press_us_);
  held_ = true;
  repeating_ = late_first_repeat;  // then the key repeats from here on
  press_us_ = last_us_ = now_us;
  released_us_ = -1;
  return true;
}

AutoRepeatRelease::Tap AutoRepeatRelease::on_tap(std::int64_t now_us) noexcept {
  if (pending_us_ >= 0) {
    // Another space within the gap: the pending one was a held key's first repeat.
    learn(pending_us_ - press_us_);
    pending_us_ = -1;
    repeating_ = true;
    last_us_ = now_us;
    return Tap::repeat;
  }
  if (!held_ || repeating_) return on_space(now_us) ? Tap::tap : Tap::repeat;
  if (learned_us_ > 0) {
    if (now_us - press_us_ >= learned_us_ * 7 / 10) return on_space(now_us) ? Tap::tap : Tap::repeat;
    press_us_ = last_us_ = now_us;  // a second tap, sooner than any repeat could come
    return Tap::tap;
  }
  pending_us_ = now_us;
  last_us_ = now_us;
  return Tap::pending;
}

bool AutoRepeatRelease::poll_tap(std::int64_t now_us) noexcept {
  if (pending_us_ < 0 || now_us < tap_due_us()) return false;
  press_us_ = last_us_ = pending_us_;  // a new tap: the key was not held
  pending_us_ = -1;
  return true;
}

std::int64_t AutoRepeatRelease::deadline_us() const noexcept {
  return last_us_ + (repeating_ ? config_.repeat_gap_us : first_repeat_us_);
}

bool AutoRepeatRelease::poll(std::int64_t now_us) noexcept {
  if (!held_ || now_us < deadline_us()) return false;
  held_ = false;
  released_us_ = now_us;
  if (repeating_) released_us_ = -1;  // a repeating key that stopped was really let go
  repeating_ = false;
  return true;
}

}  // namespace pttcam::client
