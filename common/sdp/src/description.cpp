#include "pttcam/sdp/description.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace pttcam::sdp {

namespace {

constexpr std::uint32_t kOpusClockRate = 48000;
constexpr std::size_t kMaxRedBlocks = 16;  // RFC 2198 puts no limit; a real fmtp lists 2 or 3
constexpr std::uint8_t kMaxPayloadType = 127;

// ---- text helpers ------------------------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits on runs of spaces (RFC 8866 fields are separated by exactly one, but tools differ).
std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (at < s.size()) {
    while (at < s.size() && s[at] == ' ') ++at;
    const std::size_t start = at;
    while (at < s.size() && s[at] != ' ') ++at;
    if (at > start) out.push_back(s.substr(start, at - start));
  }
  return out;
}

template <typename T>
std::optional<T> to_unsigned(std::string_view s) noexcept {
  T value{};
  if (s.empty() || s.front() == '+' || s.front() == '-') return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// Packet times: a microsecond to a minute, so every accepted value also writes back exactly.
bool valid_ms(double ms) noexcept { return std::isfinite(ms) && ms >= 0.001 && ms <= 60000; }

// A positive duration in milliseconds, e.g. "20" or "2.5".
std::optional<double> to_milliseconds(std::string_view s) noexcept {
  double value = 0;
  if (s.empty() || s.front() == '+' || s.front() == '-') return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, std::chars_format::fixed);
  if (ec != std::errc{} || end != s.data() + s.size() || !valid_ms(value)) return std::nullopt;
  return value;
}

std::optional<std::uint8_t> to_payload_type(std::string_view s) noexcept {
  const auto value = to_unsigned<unsigned>(s);
  if (!value || *value > kMaxPayloadType) return std::nullopt;
  return static_cast<std::uint8_t>(*value);
}

std::string quoted(std::string_view s) {
  constexpr std::size_t kShown = 60;
  std::string out = "\"";
  for (char c : s.substr(0, kShown)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > kShown) out += "...";
  return out + "\"";
}

std::string format_ms(double ms) {
  std::array<char, 64> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), ms, std::chars_format::fixed);
  // Cannot fail for what valid_ms() accepts, which both callers check first.
  return ec == std::errc{} ? std::string(buf.data(), end) : std::string("20");
}

// Numeric addresses only: pttcam does not resolve names from an SDP.
bool valid_address(AddressFamily family, std::string_view address) {
  const std::string text(address);
  std::array<unsigned char, sizeof(in6_addr)> out{};
  return inet_pton(family == AddressFamily::ip4 ? AF_INET : AF_INET6, text.c_str(), out.data()) == 1;
}

// ---- parsing -----------------------------------------------------------------------------------

struct Line {
  std::size_t number = 0;
  char type = 0;
  std::string_view value;
};

struct Failure {
  std::size_t line;
  std::string reason;
};

struct Connection {
  AddressFamily family = AddressFamily::ip4;
  std::string address;
};

// "IN IP4 ADDRESS[/TTL[/N]]": c=, and the tail of a=rtcp.
std::optional<Connection> parse_connection(std::string_view value, std::string& why) {
  const auto f = fields(value);
  if (f.size() != 3) {
    why = "expected \"IN IP4|IP6 ADDRESS\"";
    return std::nullopt;
  }
  if (f[0] != "IN") {
    why = "network type " + quoted(f[0]) + " is not IN";
    return std::nullopt;
  }
  Connection c;
  if (f[1] == "IP4")
    c.family = AddressFamily::ip4;
  else if (f[1] == "IP6")
    c.family = AddressFamily::ip6;
  else {
    why = "address type " + quoted(f[1]) + " is not IP4 or IP6";
    return std::nullopt;
  }
  const auto address = f[2].substr(0, f[2].find('/'));  // multicast TTL / address count
  if (!valid_address(c.family, address)) {
    why = quoted(address) + " is not a numeric " + to_string(c.family) + " address";
    return std::nullopt;
  }
  c.address = std::string(address);
  return c;
}

std::optional<Direction> direction_attribute(std::string_view value) noexcept {
  if (value == "sendrecv") return Direction::sendrecv;
  if (value == "sendonly") return Direction::sendonly;
  if (value == "recvonly") return Direction::recvonly;
  if (value == "inactive") return Direction::inactive;
  return std::nullopt;
}

// "NAME:VALUE" or "NAME" (a flag).
std::pair<std::string_view, std::optional<std::string_view>> split_attribute(std::string_view value) noexcept {
  const auto colon = value.find(':');
  if (colon == std::string_view::npos) return {value, std::nullopt};
  return {value.substr(0, colon), value.substr(colon + 1)};
}

struct Rtpmap {
  std::size_t line = 0;
  std::string_view encoding;
  std::string_view clock_rate;
  std::optional<std::string_view> channels;
};

// One m= section, read just enough to decide whether it is the Opus stream.
struct Section {
  Line m;
  std::string_view media;
  std::string_view port_text;
  std::string_view protocol;
  std::vector<std::string_view> formats;
  std::vector<Line> lines;  // everything after the m= line up to the next one
};

std::optional<Rtpmap> find_rtpmap(const Section& section, std::string_view payload_type) {
  for (const auto& line : section.lines) {
    if (line.type != 'a') continue;
    const auto [name, value] = split_attribute(line.value);
    if (name != "rtpmap" || !value) continue;
    const auto space = value->find(' ');
    if (space == std::string_view::npos || value->substr(0, space) != payload_type) continue;
    const auto spec = trim(value->substr(space + 1));
    Rtpmap map{line.number, spec, {}, std::nullopt};
    const auto slash = spec.find('/');
    if (slash == std::string_view::npos) return map;  // reported as a missing clock rate
    map.encoding = spec.substr(0, slash);
    const auto rest = spec.substr(slash + 1);
    const auto slash2 = rest.find('/');
    map.clock_rate = rest.substr(0, slash2);
    if (slash2 != std::string_view::npos) map.channels = rest.substr(slash2 + 1);
    return map;
  }
  return std::nullopt;
}

std::optional<Line> find_fmtp(const Section& section, std::string_view payload_type, std::string_view& params) {
  for (const auto& line : section.lines) {
    if (line.type != 'a') continue;
    const auto [name, value] = split_attribute(line.value);
    if (name != "fmtp" || !value) continue;
    const auto space = value->find(' ');
    const auto pt = value->substr(0, space);
    if (pt != payload_type) continue;
    params = space == std::string_view::npos ? std::string_view{} : trim(value->substr(space + 1));
    return line;
  }
  return std::nullopt;
}

// Clock rate and channel count of an Opus or RED rtpmap (both 48000/2 by RFC 7587 and RFC 2198).
std::optional<Failure> check_rate(const Rtpmap& map, std::uint32_t& clock_rate, std::uint8_t& channels) {
  const auto rate = to_unsigned<std::uint32_t>(map.clock_rate);
  if (!rate) return Failure{map.line, "rtpmap " + quoted(map.encoding) + " has no clock rate"};
  if (*rate != kOpusClockRate)
    return Failure{map.line, "clock rate " + std::to_string(*rate) + " for " + std::string(map.encoding) +
                                 " (RFC 7587: always 48000)"};
  clock_rate = *rate;
  channels = 2;
  if (map.channels) {
    const auto n = to_unsigned<unsigned>(*map.channels);
    if (!n || *n < 1 || *n > 2)
      return Failure{map.line, "channel count " + quoted(*map.channels) + " (expected 2, or 1 from some writers)"};
    channels = static_cast<std::uint8_t>(*n);
  }
  return std::nullopt;
}

std::optional<Failure> parse_opus_fmtp(std::size_t line, std::string_view params, OpusParameters& out) {
  std::size_t at = 0;
  while (at <= params.size()) {
    const auto end = std::min(params.find(';', at), params.size());
    const auto item = trim(params.substr(at, end - at));
    at = end + 1;
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const auto key = trim(item.substr(0, eq));
    const auto value = eq == std::string_view::npos ? std::string_view{} : trim(item.substr(eq + 1));
    const auto bad = [&](const char* expected) {
      return Failure{line, "Opus parameter " + std::string(key) + "=" + quoted(value) + ": expected " + expected};
    };
    const auto flag = [&](std::optional<bool>& field) -> std::optional<Failure> {
      if (value != "0" && value != "1") return bad("0 or 1");
      field = value == "1";
      return std::nullopt;
    };
    const auto rate = [&](std::optional<std::uint32_t>& field, std::uint32_t lo,
                          std::uint32_t hi) -> std::optional<Failure> {
      const auto v = to_unsigned<std::uint32_t>(value);
      if (!v || *v < lo || *v > hi)
        return bad((std::to_string(lo) + ".." + std::to_string(hi)).c_str());
      field = *v;
      return std::nullopt;
    };
    std::optional<Failure> failure;
    if (iequals(key, "maxplaybackrate"))
      failure = rate(out.maxplaybackrate, 8000, 48000 * 4);
    else if (iequals(key, "sprop-maxcapturerate"))
      failure = rate(out.sprop_maxcapturerate, 8000, 48000 * 4);
    else if (iequals(key, "maxaveragebitrate"))
      failure = rate(out.maxaveragebitrate, 6000, 510000);
    else if (iequals(key, "minptime")) {
      const auto ms = to_milliseconds(value);
      if (!ms) return bad("a duration in ms");
      out.minptime = *ms;
    } else if (iequals(key, "stereo"))
      failure = flag(out.stereo);
    else if (iequals(key, "sprop-stereo"))
      failure = flag(out.sprop_stereo);
    else if (iequals(key, "cbr"))
      failure = flag(out.cbr);
    else if (iequals(key, "useinbandfec"))
      failure = flag(out.useinbandfec);
    else if (iequals(key, "usedtx"))
      failure = flag(out.usedtx);
    // Anything else (ptime and maxptime written here by some tools, vendor parameters) is ignored:
    // the media-level a=ptime is authoritative.
    if (failure) return failure;
  }
  return std::nullopt;
}

// "111/111": the payload type of each block, primary last (RFC 2198 §5).
std::optional<std::vector<std::uint8_t>> parse_red_fmtp(std::string_view params) {
  std::vector<std::uint8_t> out;
  std::size_t at = 0;
  while (at <= params.size()) {
    const auto end = std::min(params.find('/', at), params.size());
    const auto pt = to_payload_type(trim(params.substr(at, end - at)));
    if (!pt || out.size() == kMaxRedBlocks) return std::nullopt;
    out.push_back(*pt);
    at = end + 1;
  }
  return out;
}

std::optional<Section> read_m_line(const Line& m, std::string& why) {
  const auto f = fields(m.value);
  if (f.size() < 4) {
    why = "expected \"MEDIA PORT PROTO FORMAT...\"";
    return std::nullopt;
  }
  Section s;
  s.m = m;
  s.media = f[0];
  s.port_text = f[1];
  s.protocol = f[2];
  s.formats.assign(f.begin() + 3, f.end());
  return s;
}

class Parser {
 public:
  ParseResult run(std::string_view text) {
    if (text.size() > kMaxSdpBytes)
      return fail(0, "larger than " + std::to_string(kMaxSdpBytes) + " bytes");
    if (auto failure = split(text)) return fail(failure->line, failure->reason);
    if (auto failure = read_session()) return fail(failure->line, failure->reason);
    for (const auto& section : sections_) {
      if (!offers_opus(section)) continue;
      if (auto failure = read_media(section)) return fail(failure->line, failure->reason);
      return ParseResult{std::move(description_), {}};
    }
    return fail(skipped_.line, skipped_.reason.empty() ? "no audio m-line offers opus" : skipped_.reason);
  }

 private:
  static ParseResult fail(std::size_t line, std::string reason) {
    return ParseResult{std::nullopt, ParseError{line, std::move(reason)}};
  }

  std::optional<Failure> split(std::string_view text) {
    std::size_t number = 0;
    bool seen_version = false;
    std::optional<Section> current;
    while (!text.empty()) {
      const auto nl = text.find('\n');
      auto raw = text.substr(0, nl);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      ++number;
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      if (trim(raw).empty()) continue;  // blank lines: some tools end the file with one
      if (raw.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos)
        return Failure{number, "a CR or NUL inside the line (RFC 8866 text never holds one)"};
      if (raw.size() < 2 || raw[1] != '=' || raw[0] < 'a' || raw[0] > 'z')
        return Failure{number, quoted(raw) + " is not a TYPE=VALUE line"};
      const Line line{number, raw[0], raw.substr(2)};
      if (!seen_version) {
        if (line.type != 'v' || trim(line.value) != "0")
          return Failure{number, "an SDP starts with v=0, not " + quoted(raw)};
        seen_version = true;
        continue;
      }
      if (line.type == 'm') {
        if (current) sections_.push_back(std::move(*current));
        std::string why;
        current = read_m_line(line, why);
        if (!current) {
          // Kept as a section nobody will pick, so its lines do not leak into the session level.
          current = Section{line, {}, {}, {}, {}, {}};
          remember_skip(number, "m= line " + quoted(raw) + ": " + why);
        }
        continue;
      }
      if (current)
        current->lines.push_back(line);
      else
        session_lines_.push_back(line);
    }
    if (!seen_version) return Failure{0, "empty: no v=0 line"};
    if (current) sections_.push_back(std::move(*current));
    return std::nullopt;
  }

  void remember_skip(std::size_t line, std::string reason) {
    if (skipped_.reason.empty()) skipped_ = Failure{line, std::move(reason)};
  }

  std::optional<Failure> read_session() {
    for (const auto& line : session_lines_) {
      switch (line.type) {
        case 'o': read_origin(line.value); break;
        case 's': description_.session_name = std::string(line.value); break;
        case 'c': {
          std::string why;
          auto c = parse_connection(line.value, why);
          if (!c) return Failure{line.number, "c= " + why};
          session_connection_ = std::move(*c);
          break;
        }
        case 'a':
          if (const auto d = direction_attribute(trim(line.value)); d && !session_direction_)
            session_direction_ = d;
          break;
        default: break;  // t=, b=, i=, u=, e=, p=, z=, k=, r= and anything newer
      }
    }
    return std::nullopt;
  }

  // o= means nothing to pttcam; what fits the model is kept, the rest is ignored.
  void read_origin(std::string_view value) {
    const auto f = fields(value);
    if (f.size() != 6) return;
    description_.origin_username = std::string(f[0]);
    description_.session_id = to_unsigned<std::uint64_t>(f[1]).value_or(0);
    description_.session_version = to_unsigned<std::uint64_t>(f[2]).value_or(0);
  }

  // An audio m-line over plain RTP with a non-zero port and an Opus rtpmap for one of its formats.
  bool offers_opus(const Section& s) {
    if (s.media != "audio") return false;
    bool opus = false;
    for (const auto& f : s.formats) {
      const auto map = find_rtpmap(s, f);
      opus = opus || (map && iequals(map->encoding, "opus"));
    }
    if (!opus) return false;
    const auto port = to_unsigned<std::uint16_t>(s.port_text.substr(0, s.port_text.find('/')));
    if (!port) {
      remember_skip(s.m.number, "port " + quoted(s.port_text) + " is not a number 0..65535");
      return false;
    }
    if (*port == 0) {
      remember_skip(s.m.number, "the Opus stream is disabled (port 0)");
      return false;
    }
    if (s.protocol != "RTP/AVP" && s.protocol != "RTP/AVPF") {
      remember_skip(s.m.number, "transport " + quoted(s.protocol) + " is not RTP/AVP or RTP/AVPF");
      return false;
    }
    return true;
  }

  std::optional<Failure> read_media(const Section& s) {
    Description& d = description_;
    d.port = *to_unsigned<std::uint16_t>(s.port_text.substr(0, s.port_text.find('/')));
    d.protocol = std::string(s.protocol);

    if (auto failure = read_opus(s)) return failure;
    if (auto failure = read_red(s)) return failure;

    std::optional<Connection> connection = session_connection_;
    std::optional<Direction> direction;
    for (const auto& line : s.lines) {
      if (line.type == 'c') {
        std::string why;
        auto c = parse_connection(line.value, why);
        if (!c) return Failure{line.number, "c= " + why};
        connection = std::move(*c);  // RFC 8866 §5.7: several c= for layered multicast; the last wins here
        continue;
      }
      if (line.type != 'a') continue;
      const auto [name, value] = split_attribute(trim(line.value));
      if (const auto dir = direction_attribute(name); dir && !value) {
        if (!direction) direction = dir;
      } else if (name == "rtcp-mux") {
        d.rtcp_mux = true;
      } else if (name == "ptime" || name == "maxptime") {
        const auto ms = value ? to_milliseconds(trim(*value)) : std::nullopt;
        if (!ms) return Failure{line.number, "a=" + std::string(name) + " needs a duration in ms"};
        auto& field = name == "ptime" ? d.ptime_ms : d.maxptime_ms;
        if (!field) field = ms;
      } else if (name == "rtcp" && value && !d.rtcp) {
        if (auto failure = read_rtcp(line.number, *value)) return failure;
      }
    }
    if (!connection) return Failure{s.m.number, "no c= line for the audio stream (session or media level)"};
    d.family = connection->family;
    d.address = std::move(connection->address);
    d.direction = direction ? direction : session_direction_;
    return std::nullopt;
  }

  std::optional<Failure> read_opus(const Section& s) {
    for (const auto& f : s.formats) {
      const auto map = find_rtpmap(s, f);
      if (!map || !iequals(map->encoding, "opus")) continue;
      const auto pt = to_payload_type(f);
      if (!pt) return Failure{s.m.number, "payload type " + quoted(f) + " is not a number 0..127"};
      OpusFormat& opus = description_.opus;
      opus.payload_type = *pt;
      if (auto failure = check_rate(*map, opus.clock_rate, opus.channels)) return failure;
      std::string_view params;
      if (const auto fmtp = find_fmtp(s, f, params))
        if (auto failure = parse_opus_fmtp(fmtp->number, params, opus.parameters)) return failure;
      return std::nullopt;
    }
    return Failure{s.m.number, "no Opus format"};  // unreachable after offers_opus()
  }

  // The first RED format that carries blocks of our Opus payload type (or does not say).
  std::optional<Failure> read_red(const Section& s) {
    for (const auto& f : s.formats) {
      const auto map = find_rtpmap(s, f);
      if (!map || !iequals(map->encoding, "red")) continue;
      const auto pt = to_payload_type(f);
      if (!pt) return Failure{s.m.number, "payload type " + quoted(f) + " is not a number 0..127"};
      RedFormat red;
      red.payload_type = *pt;
      if (auto failure = check_rate(*map, red.clock_rate, red.channels)) return failure;
      std::string_view params;
      if (const auto fmtp = find_fmtp(s, f, params)) {
        auto blocks = parse_red_fmtp(params);
        if (!blocks)
          return Failure{fmtp->number, "RED fmtp " + quoted(params) + ": expected PT/PT/... (RFC 2198 §5)"};
        const auto opus = description_.opus.payload_type;
        if (std::ranges::any_of(*blocks, [&](std::uint8_t b) { return b != opus; })) continue;
        red.block_payload_types = std::move(*blocks);
      }
      description_.red = std::move(red);
      return std::nullopt;
    }
    return std::nullopt;
  }

  // RFC 3605: "PORT" or "PORT IN IP4 ADDRESS".
  std::optional<Failure> read_rtcp(std::size_t line, std::string_view value) {
    value = trim(value);
    const auto space = value.find(' ');
    const auto port = to_unsigned<std::uint16_t>(value.substr(0, space));
    if (!port || *port == 0) return Failure{line, "a=rtcp port " + quoted(value.substr(0, space)) + " is not 1..65535"};
    RtcpAttribute rtcp;
    rtcp.port = *port;
    if (space != std::string_view::npos) {
      std::string why;
      auto c = parse_connection(value.substr(space + 1), why);
      if (!c) return Failure{line, "a=rtcp " + why};
      rtcp.family = c->family;
      rtcp.address = std::move(c->address);
    }
    description_.rtcp = std::move(rtcp);
    return std::nullopt;
  }

  std::vector<Line> session_lines_;
  std::vector<Section> sections_;
  std::optional<Connection> session_connection_;
  std::optional<Direction> session_direction_;
  Failure skipped_{0, {}};
  Description description_ = unnamed();

  // A file without s= or o= must not read as pttcam's own: those fields start empty here.
  static Description unnamed() {
    Description d;
    d.session_name.clear();
    return d;
  }
};

// ---- writing -----------------------------------------------------------------------------------

void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("cannot write SDP: ") + what);
}

bool one_line(std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; }
bool token(std::string_view s) { return !s.empty() && one_line(s) && s.find(' ') == std::string_view::npos; }

std::string opus_fmtp(const OpusParameters& p) {
  std::string out;
  const auto add = [&](const char* key, const std::string& value) {
    out += (out.empty() ? "" : "; ") + std::string(key) + "=" + value;
  };
  const auto flag = [](bool b) { return std::string(b ? "1" : "0"); };
  if (p.maxplaybackrate) add("maxplaybackrate", std::to_string(*p.maxplaybackrate));
  if (p.sprop_maxcapturerate) add("sprop-maxcapturerate", std::to_string(*p.sprop_maxcapturerate));
  if (p.maxaveragebitrate) add("maxaveragebitrate", std::to_string(*p.maxaveragebitrate));
  if (p.minptime) add("minptime", format_ms(*p.minptime));
  if (p.stereo) add("stereo", flag(*p.stereo));
  if (p.sprop_stereo) add("sprop-stereo", flag(*p.sprop_stereo));
  if (p.cbr) add("cbr", flag(*p.cbr));
  if (p.useinbandfec) add("useinbandfec", flag(*p.useinbandfec));
  if (p.usedtx) add("usedtx", flag(*p.usedtx));
  return out;
}

}  // namespace

const char* to_string(AddressFamily family) noexcept { return family == AddressFamily::ip4 ? "IP4" : "IP6"; }

const char* to_string(Direction direction) noexcept {
  switch (direction) {
    case Direction::sendrecv: return "sendrecv";
    case Direction::sendonly: return "sendonly";
    case Direction::recvonly: return "recvonly";
    case Direction::inactive: return "inactive";
  }
  return "sendrecv";
}

std::string ParseError::message() const {
  return line == 0 ? reason : "line " + std::to_string(line) + ": " + reason;
}

Description describe(const PttcamStream& stream) {
  Description d;
  d.session_id = stream.session_id;
  d.family = stream.family;
  d.address = stream.address;
  d.port = stream.port;
  d.opus.payload_type = stream.opus_payload_type;
  auto& p = d.opus.parameters;
  p.maxplaybackrate = kOpusClockRate;
  p.sprop_maxcapturerate = kOpusClockRate;
  p.maxaveragebitrate = stream.max_average_bitrate;
  p.stereo = false;
  p.sprop_stereo = false;
  p.useinbandfec = true;
  p.usedtx = stream.dtx;
  if (stream.red_payload_type) {
    RedFormat red;
    red.payload_type = *stream.red_payload_type;
    red.block_payload_types.assign(std::size_t{stream.red_copies} + 1, stream.opus_payload_type);
    d.red = std::move(red);
  }
  d.ptime_ms = stream.ptime_ms;
  d.rtcp_mux = true;
  d.direction = stream.direction;
  return d;
}

std::string write_sdp(const Description& d) {
  require(token(d.origin_username), "the o= username must be one word");
  require(one_line(d.session_name), "the session name must be one line");
  require(valid_address(d.family, d.address), "the address must be numeric and match IP4/IP6");
  require(d.port != 0, "the media port must not be 0");
  require(d.protocol == "RTP/AVP" || d.protocol == "RTP/AVPF", "the transport must be RTP/AVP or RTP/AVPF");
  require(d.opus.payload_type <= kMaxPayloadType, "the Opus payload type must be 0..127");
  if (d.red) {
    require(d.red->payload_type <= kMaxPayloadType, "the RED payload type must be 0..127");
    require(d.red->payload_type != d.opus.payload_type, "RED and Opus need different payload types");
    require(d.red->block_payload_types.size() <= kMaxRedBlocks, "too many RED blocks");
  }
  require(!d.ptime_ms || valid_ms(*d.ptime_ms), "a=ptime must be 0.001..60000 ms");
  require(!d.maxptime_ms || valid_ms(*d.maxptime_ms), "a=maxptime must be 0.001..60000 ms");
  require(!d.opus.parameters.minptime || valid_ms(*d.opus.parameters.minptime), "minptime must be 0.001..60000 ms");
  require(!d.rtcp || d.rtcp->port != 0, "the a=rtcp port must not be 0");
  require(!d.rtcp || d.rtcp->address.empty() ||
              (d.rtcp->family && valid_address(*d.rtcp->family, d.rtcp->address)),
          "the a=rtcp address must be numeric and match its family");

  const std::string crlf = "\r\n";
  const std::string family = to_string(d.family);
  const std::string opus_pt = std::to_string(d.opus.payload_type);
  std::string out;
  out += "v=0" + crlf;
  out += "o=" + d.origin_username + " " + std::to_string(d.session_id) + " " + std::to_string(d.session_version) +
         " IN " + family + " " + d.address + crlf;
  out += "s=" + (d.session_name.empty() ? std::string("-") : d.session_name) + crlf;  // never empty (§5.3)
  out += "c=IN " + family + " " + d.address + crlf;
  out += "t=0 0" + crlf;
  out += "m=audio " + std::to_string(d.port) + " " + d.protocol + " " + opus_pt;
  if (d.red) out += " " + std::to_string(d.red->payload_type);
  out += crlf;
  // RED's rtpmap/fmtp before Opus's: ffmpeg 5.1 takes the codec of an m-line from its last rtpmap
  // (with RED last it finds no decoder), GStreamer's sdpdemux from the first format of the m= line.
  if (d.red) {
    const std::string red_pt = std::to_string(d.red->payload_type);
    out += "a=rtpmap:" + red_pt + " red/" + std::to_string(d.red->clock_rate) + "/" +
           std::to_string(d.red->channels) + crlf;
    if (!d.red->block_payload_types.empty()) {
      out += "a=fmtp:" + red_pt + " ";
      for (std::size_t i = 0; i < d.red->block_payload_types.size(); ++i)
        out += (i ? "/" : "") + std::to_string(d.red->block_payload_types[i]);
      out += crlf;
    }
  }
  out += "a=rtpmap:" + opus_pt + " opus/" + std::to_string(d.opus.clock_rate) + "/" +
         std::to_string(d.opus.channels) + crlf;
  if (const auto fmtp = opus_fmtp(d.opus.parameters); !fmtp.empty()) out += "a=fmtp:" + opus_pt + " " + fmtp + crlf;
  if (d.ptime_ms) out += "a=ptime:" + format_ms(*d.ptime_ms) + crlf;
  if (d.maxptime_ms) out += "a=maxptime:" + format_ms(*d.maxptime_ms) + crlf;
  if (d.rtcp) {
    out += "a=rtcp:" + std::to_string(d.rtcp->port);
    if (!d.rtcp->address.empty())
      out += std::string(" IN ") + to_string(d.rtcp->family.value_or(d.family)) + " " + d.rtcp->address;
    out += crlf;
  }
  if (d.rtcp_mux) out += "a=rtcp-mux" + crlf;
  if (d.direction) out += "a=" + std::string(to_string(*d.direction)) + crlf;
  return out;
}

ParseResult parse_sdp(std::string_view text) { return Parser{}.run(text); }

}  // namespace pttcam::sdp
