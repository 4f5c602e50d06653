#pragma once
// rtsp://[user[:password]@]host[:port][/path] (RFC 2326 §3.2), as a user types a camera's address.
// The credentials are taken out of the URL: they go into Digest answers, never on the wire as
// typed. Percent-escapes in the user and password are decoded (a password may hold '@' or ':').
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pttcam::rtsp {

struct Url {
  std::string user;      // empty: no credentials given
  std::string password;
  std::string host;      // a name, an IPv4 address or an IPv6 address without its brackets
  std::uint16_t port = 554;
  std::string path = "/";  // with its query, if any

  // rtsp://host:port/path: the URL requests carry (no credentials).
  std::string request_url() const;
};

struct UrlResult {
  std::optional<Url> url;
  std::string error;  // one line when url is empty
};
UrlResult parse_url(std::string_view text);

// A control attribute (RFC 2326 §C.1.1) against the Content-Base: an absolute rtsp:// URL is used
// as is, "*" is the base itself, anything else is appended to the base (with one '/' between).
std::string resolve_control(std::string_view base, std::string_view control);

}  // namespace pttcam::rtsp
