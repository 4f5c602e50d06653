#include "pttcam/rtsp/headers.hpp"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>

#include "pttcam/rtsp/message.hpp"

namespace pttcam::rtsp {
namespace {

template <typename T>
std::optional<T> number(std::string_view s) {
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "a-b" or "a" (then b = a + 1, as RFC 2326 §12.39 describes for a single port).
template <typename T>
std::optional<std::pair<T, T>> range(std::string_view s) {
  const auto dash = s.find('-');
  const auto first = number<T>(s.substr(0, dash));
  if (!first) return std::nullopt;
  if (dash == std::string_view::npos) {
    if (*first == std::numeric_limits<T>::max()) return std::nullopt;
    return std::pair<T, T>{*first, static_cast<T>(*first + 1)};
  }
  const auto second = number<T>(s.substr(dash + 1));
  if (!second) return std::nullopt;
  return std::pair<T, T>{*first, *second};
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const auto at = s.find(sep);
    out.push_back(trim(s.substr(0, at)));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

std::optional<Transport> parse_one(std::string_view spec) {
  const auto params = split(spec, ';');
  Transport t;
  const auto proto = params.front();
  if (iequals(proto, "RTP/AVP") || iequals(proto, "RTP/AVP/UDP")) {
    t.lower = Transport::Lower::udp;
  } else if (iequals(proto, "RTP/AVP/TCP")) {
    t.lower = Transport::Lower::tcp;
  } else {
    return std::nullopt;
  }
  for (std::size_t i = 1; i < params.size(); ++i) {
    const auto p = params[i];
    const auto eq = p.find('=');
    const auto name = p.substr(0, eq);
    const auto value = eq == std::string_view::npos ? std::string_view{} : trim(p.substr(eq + 1));
    if (iequals(name, "unicast")) {
      t.unicast = true;
    } else if (iequals(name, "multicast")) {
      t.unicast = false;
    } else if (iequals(name, "client_port") || iequals(name, "server_port")) {
      const auto r = range<std::uint16_t>(value);
      if (!r || r->first == 0) return std::nullopt;
      (iequals(name, "client_port") ? t.client_port : t.server_port) = PortPair{r->first, r->second};
    } else if (iequals(name, "interleaved")) {
      const auto r = range<std::uint8_t>(value);
      if (!r) return std::nullopt;
      t.interleaved = *r;
    } else if (iequals(name, "ssrc")) {
      std::uint32_t v = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v, 16);
      if (value.empty() || ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
      t.ssrc = v;
    } else if (iequals(name, "mode")) {
      std::string m(value);
      if (m.size() >= 2 && m.front() == '"' && m.back() == '"') m = m.substr(1, m.size() - 2);
      t.mode = m;
    }
    // Other parameters (ttl, layers, destination, source, append, port) do not apply to unicast.
  }
  return t;
}

bool session_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '$' || c == '-' || c == '_' || c == '.' || c == '+';
}

}  // namespace

std::vector<Transport> parse_transports(std::string_view header) {
  std::vector<Transport> out;
  for (const auto spec : split(header, ','))
    if (auto t = parse_one(spec); t && t->unicast) out.push_back(std::move(*t));
  return out;
}

std::string format_transport(const Transport& t) {
  std::string s = t.lower == Transport::Lower::tcp ? "RTP/AVP/TCP" : "RTP/AVP";
  s += t.unicast ? ";unicast" : ";multicast";
  if (t.client_port) s += ";client_port=" + std::to_string(t.client_port->rtp) + "-" + std::to_string(t.client_port->rtcp);
  if (t.server_port) s += ";server_port=" + std::to_string(t.server_port->rtp) + "-" + std::to_string(t.server_port->rtcp);
  if (t.interleaved)
    s += ";interleaved=" + std::to_string(t.interleaved->first) + "-" + std::to_string(t.interleaved->second);
  if (t.ssrc) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08X", *t.ssrc);
    s += ";ssrc=";
    s += buf;
  }
  if (!t.mode.empty()) s += ";mode=" + t.mode;
  return s;
}

std::optional<SessionHeader> parse_session(std::string_view header) {
  const auto params = split(header, ';');
  SessionHeader s;
  s.id = params.front();
  if (s.id.empty() || s.id.size() > 64) return std::nullopt;
  for (const char c : s.id)
    if (!session_char(c)) return std::nullopt;
  for (std::size_t i = 1; i < params.size(); ++i) {
    const auto eq = params[i].find('=');
    if (eq != std::string_view::npos && iequals(params[i].substr(0, eq), "timeout"))
      s.timeout_s = number<unsigned>(trim(params[i].substr(eq + 1)));
  }
  return s;
}

std::string format_session(const SessionHeader& s) {
  return s.timeout_s ? s.id + ";timeout=" + std::to_string(*s.timeout_s) : s.id;
}

std::vector<std::string> unsupported_options(const std::vector<std::string>& required,
                                             const std::vector<std::string_view>& supported) {
  std::vector<std::string> out;
  for (const auto& tag : required) {
    bool known = false;
    for (const auto s : supported) known = known || iequals(tag, s);
    if (!known) out.push_back(tag);
  }
  return out;
}

}  // namespace pttcam::rtsp
