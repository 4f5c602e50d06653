#include "pttcam/ptt/talk_script.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

namespace pttcam::ptt {
namespace {

bool parse_seconds(std::string_view text, double& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && end == text.data() + text.size() && std::isfinite(out);
}

}  // namespace

std::vector<TalkWindow> parse_talk_script(std::string_view text) {
  const auto fail = [&](std::size_t item, std::string_view piece, const std::string& why) {
    return std::invalid_argument("bad script item " + std::to_string(item) + " '" + std::string(piece) +
                                 "': " + why + " (expected START+DURATION,... in seconds, e.g. 0.5+2.0,3.0+1.5)");
  };
  if (text.empty()) throw std::invalid_argument("empty script (expected START+DURATION,..., e.g. 0.5+2.0)");
  std::vector<TalkWindow> windows;
  std::size_t item = 1;
  for (std::size_t pos = 0; pos <= text.size(); ++item) {
    const auto comma = text.find(',', pos);
    const auto piece = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    const auto plus = piece.find('+');
    if (plus == std::string_view::npos) throw fail(item, piece, "missing '+'");
    TalkWindow w;
    if (!parse_seconds(piece.substr(0, plus), w.start)) throw fail(item, piece, "START is not a number");
    if (!parse_seconds(piece.substr(plus + 1), w.duration)) throw fail(item, piece, "DURATION is not a number");
    if (w.start < 0) throw fail(item, piece, "START must not be negative");
    if (w.duration <= 0) throw fail(item, piece, "DURATION must be positive");
    if (!windows.empty() && w.start < windows.back().end())
      throw fail(item, piece, "starts before the previous press ends");
    windows.push_back(w);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return windows;
}

}  // namespace pttcam::ptt
