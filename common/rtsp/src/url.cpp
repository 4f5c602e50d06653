#include "pttcam/rtsp/url.hpp"

#include <charconv>

#include "pttcam/rtsp/message.hpp"

namespace pttcam::rtsp {
namespace {

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= s.size()) return std::nullopt;
    const auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, value, 16);
    if (ec != std::errc{} || end != s.data() + i + 3) return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

UrlResult bad(std::string why) { return {std::nullopt, std::move(why)}; }

}  // namespace

std::string Url::request_url() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "rtsp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + path;
}

UrlResult parse_url(std::string_view text) {
  constexpr std::string_view kScheme = "rtsp://";
  if (text.size() < kScheme.size() || !iequals(text.substr(0, kScheme.size()), kScheme))
    return bad("not an rtsp:// URL");
  for (const char c : text)
    if (static_cast<unsigned char>(c) <= 32 || c == 127) return bad("a URL holds no spaces or control characters");
  std::string_view rest = text.substr(kScheme.size());
  Url url;
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) url.path = std::string(rest.substr(slash));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const auto userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    const auto colon = userinfo.find(':');
    const auto user = percent_decode(userinfo.substr(0, colon));
    const auto password = percent_decode(colon == std::string_view::npos ? "" : userinfo.substr(colon + 1));
    if (!user || !password) return bad("a bad %-escape in the user or password");
    if (user->empty()) return bad("credentials without a user name");
    url.user = *user;
    url.password = *password;
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address without its closing ']'");
    url.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("text after the IPv6 address");
    if (!after.empty()) port = after.substr(1);
  } else {
    const auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) return bad("no host");
  if (!port.empty() || authority.ends_with(":")) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
      return bad("the port must be 1-65535");
    url.port = static_cast<std::uint16_t>(value);
  }
  return {std::move(url), {}};
}

std::string resolve_control(std::string_view base, std::string_view control) {
  if (control.empty() || control == "*") return std::string(base);
  if (control.size() >= 7 && iequals(control.substr(0, 7), "rtsp://")) return std::string(control);
  std::string out(base);
  if (!out.empty() && out.back() == '/' && control.front() == '/') out.pop_back();
  if (!out.empty() && out.back() != '/' && control.front() != '/') out += '/';
  return out + std::string(control);
}

}  // namespace pttcam::rtsp
