#pragma once
#include <string_view>
#include <vector>

namespace pttcam::ptt {

// One scripted press of the talk key, in seconds from the start of the session.
struct TalkWindow {
  double start = 0;
  double duration = 0;
  double end() const noexcept { return start + duration; }
};

// Parses "START+DURATION,START+DURATION,..." (e.g. "0.5+2.0,3.0+1.5"). Windows must be in order
// and must not overlap. Throws std::invalid_argument with a one-line message naming the bad item.
std::vector<TalkWindow> parse_talk_script(std::string_view text);

}  // namespace pttcam::ptt
