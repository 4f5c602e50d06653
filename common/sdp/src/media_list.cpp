#include "pttcam/sdp/media_list.hpp"

#include <cctype>
#include <charconv>

namespace pttcam::sdp {
namespace {

template <class T>
bool to_number(std::string_view s, T& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
}

std::vector<std::string_view> split(std::string_view s, char by) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const auto at = s.find(by);
    if (at != 0) out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

// RFC 3551 §6: the static audio payload types a camera may list without an rtpmap.
std::optional<RtpFormat> static_format(std::uint8_t pt) {
  switch (pt) {
    case 0: return RtpFormat{0, "PCMU", 8000, 1, {}};
    case 8: return RtpFormat{8, "PCMA", 8000, 1, {}};
    case 10: return RtpFormat{10, "L16", 44100, 2, {}};
    case 11: return RtpFormat{11, "L16", 44100, 1, {}};
    default: return std::nullopt;
  }
}

std::optional<Direction> direction_named(std::string_view a) {
  if (a == "sendrecv") return Direction::sendrecv;
  if (a == "sendonly") return Direction::sendonly;
  if (a == "recvonly") return Direction::recvonly;
  if (a == "inactive") return Direction::inactive;
  return std::nullopt;
}

// "m=audio 0 RTP/AVP 0 8 97"
std::optional<Medium> parse_m_line(std::string_view value, std::string& why) {
  const auto parts = split(value, ' ');
  Medium m;
  if (parts.size() < 3) {
    why = "an m= line needs media, port and protocol";
    return std::nullopt;
  }
  m.media = std::string(parts[0]);
  if (!to_number(parts[1].substr(0, parts[1].find('/')), m.port)) {
    why = "a bad port in the m= line";
    return std::nullopt;
  }
  m.protocol = std::string(parts[2]);
  for (std::size_t i = 3; i < parts.size(); ++i) {
    unsigned pt = 0;
    if (!m.protocol.starts_with("RTP/")) break;  // not RTP: the formats are not payload types
    if (!to_number(parts[i], pt) || pt > 127) {
      why = "a bad payload type in the m= line";
      return std::nullopt;
    }
    RtpFormat f = static_format(static_cast<std::uint8_t>(pt)).value_or(RtpFormat{});
    f.payload_type = static_cast<std::uint8_t>(pt);
    m.formats.push_back(f);
  }
  return m;
}

// "a=rtpmap:97 L16/16000/1"; false if malformed.
bool apply_rtpmap(std::string_view value, Medium& m) {
  const auto sp = value.find(' ');
  unsigned pt = 0;
  if (sp == std::string_view::npos || !to_number(value.substr(0, sp), pt)) return false;
  const auto parts = split(value.substr(sp + 1), '/');
  RtpFormat f{static_cast<std::uint8_t>(pt), {}, 0, 1, {}};
  if (parts.size() < 2 || !to_number(parts[1], f.clock_rate)) return false;
  f.encoding = std::string(parts[0]);
  unsigned channels = 1;
  if (parts.size() >= 3 && (!to_number(parts[2], channels) || channels == 0 || channels > 255)) return false;
  f.channels = static_cast<std::uint8_t>(channels);
  for (auto& format : m.formats)
    if (format.payload_type == pt) {
      f.fmtp = format.fmtp;
      format = f;
    }
  return true;
}

void apply_fmtp(std::string_view value, Medium& m) {
  const auto sp = value.find(' ');
  unsigned pt = 0;
  if (sp == std::string_view::npos || !to_number(value.substr(0, sp), pt)) return;
  for (auto& format : m.formats)
    if (format.payload_type == pt) format.fmtp = std::string(value.substr(sp + 1));
}

}  // namespace

MediaListResult parse_media_list(std::string_view text) {
  const auto fail = [](std::size_t line, std::string why) { return MediaListResult{std::nullopt, ParseError{line, std::move(why)}}; };
  if (text.size() > kMaxSdpBytes) return fail(0, "larger than " + std::to_string(kMaxSdpBytes) + " bytes");
  MediaList list;
  std::optional<Direction> session_direction;
  std::size_t number = 0;
  for (auto line : split(text, '\n')) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 2 || line[1] != '=') {
      if (line.empty()) continue;
      return fail(number, "not a TYPE=VALUE line");
    }
    const char type = line[0];
    const auto value = line.substr(2);
    Medium* medium = list.media.empty() ? nullptr : &list.media.back();
    if (type == 'm') {
      std::string why;
      auto m = parse_m_line(value, why);
      if (!m) return fail(number, why);
      list.media.push_back(std::move(*m));
      continue;
    }
    if (type != 'a') continue;
    const auto colon = value.find(':');
    const auto name = value.substr(0, colon);
    const auto arg = colon == std::string_view::npos ? std::string_view{} : value.substr(colon + 1);
    if (const auto d = direction_named(name)) {
      (medium ? medium->direction : session_direction) = d;
    } else if (name == "control") {
      (medium ? medium->control : list.control) = std::string(arg);
    } else if (name == "rtpmap" && medium) {
      if (!apply_rtpmap(arg, *medium)) return fail(number, "a malformed a=rtpmap");
    } else if (name == "fmtp" && medium) {
      apply_fmtp(arg, *medium);
    }
  }
  for (auto& m : list.media)
    if (!m.direction) m.direction = session_direction;
  if (list.media.empty()) return fail(0, "no m= line");
  return {std::move(list), {}};
}

}  // namespace pttcam::sdp
