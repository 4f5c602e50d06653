#include "pttcam/rtsp/parser.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace pttcam::rtsp {
namespace {

// RFC 2616 §2.2 token characters: what a method or a header name may be made of.
bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127) return false;
    if (std::strchr("()<>@,;:\\\"/[]?={}", c)) return false;
  }
  return true;
}

bool has_ctl(std::string_view s) noexcept {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 32 && c != '\t') || u == 127;
  });
}

}  // namespace

const char* to_string(ParseError e) noexcept {
  switch (e) {
    case ParseError::none: return "none";
    case ParseError::bad_request_line: return "bad_request_line";
    case ParseError::unsupported_version: return "unsupported_version";
    case ParseError::bad_header: return "bad_header";
    case ParseError::header_too_large: return "header_too_large";
    case ParseError::too_many_headers: return "too_many_headers";
    case ParseError::bad_content_length: return "bad_content_length";
    case ParseError::body_too_large: return "body_too_large";
    case ParseError::buffer_full: return "buffer_full";
  }
  return "unknown";
}

int status_for(ParseError e) noexcept {
  switch (e) {
    case ParseError::unsupported_version: return 505;
    case ParseError::body_too_large: return 413;
    case ParseError::none: return 200;
    default: return 400;
  }
}

bool StreamParser::feed(std::span<const std::byte> bytes) {
  if (error_ != ParseError::none) return false;
  if (pos_ > 0) {  // drop what was read; spans handed out before this call end here
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  if (buffer_.size() + bytes.size() > limits_.max_buffered) {
    error_ = ParseError::buffer_full;
    return false;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  counters_.bytes += bytes.size();
  return true;
}

StreamParser::Item StreamParser::fail(ParseError e) {
  error_ = e;
  Item item;
  item.kind = Kind::error;
  item.error = e;
  return item;
}

StreamParser::Item StreamParser::next() {
  if (error_ != ParseError::none) return fail(error_);
  // Blank lines between messages are tolerated (some clients end a body with an extra CRLF).
  while (pos_ < buffer_.size() && (buffer_[pos_] == std::byte{'\r'} || buffer_[pos_] == std::byte{'\n'})) {
    ++pos_;
    scanned_ = 0;
  }
  const std::size_t avail = buffer_.size() - pos_;
  if (avail == 0) return {};
  const auto* data = reinterpret_cast<const char*>(buffer_.data() + pos_);
  if (data[0] == '$') return interleaved(data, avail);
  const auto header_end = find_header_end(data, avail);
  if (!header_end) return error_ != ParseError::none ? fail(error_) : Item{};
  Item item;
  const bool response = role_ != Role::server && std::string_view(data, std::min<std::size_t>(avail, 5)) == "RTSP/";
  item.kind = response ? Kind::response : Kind::request;
  if (const auto e = parse_head(std::string_view(data, *header_end), item.request, response ? &item.response : nullptr);
      e != ParseError::none)
    return fail(e);
  std::size_t body_length = 0;
  if (const auto e = content_length(item.request, body_length); e != ParseError::none) return fail(e);
  if (avail < *header_end + body_length) return {};
  item.request.body.assign(data + *header_end, body_length);
  if (response) {
    item.response.headers = std::move(item.request.headers);
    item.response.body = std::move(item.request.body);
    item.request = {};
  }
  pos_ += *header_end + body_length;
  scanned_ = 0;
  ++counters_.requests;
  return item;
}

// RFC 2326 §10.12: '$', channel, 16-bit length, that many bytes. Nothing until it is all here.
StreamParser::Item StreamParser::interleaved(const char* data, std::size_t avail) {
  if (avail < 4) return {};
  const std::size_t length =
      (static_cast<std::size_t>(static_cast<unsigned char>(data[2])) << 8) | static_cast<unsigned char>(data[3]);
  if (avail < 4 + length) return {};
  Item item;
  item.kind = Kind::interleaved;
  item.frame.channel = static_cast<std::uint8_t>(data[1]);
  item.frame.payload = std::span<const std::byte>(buffer_.data() + pos_ + 4, length);
  pos_ += 4 + length;
  ++counters_.interleaved_frames;
  return item;
}

// Where the blank line that ends the headers ends (lines end in CRLF or a bare LF), scanning only
// what arrived since the last call: a client that sends a byte at a time costs linear work, not
// quadratic. Nothing yet: wait for more, or error_ is set (headers too large).
std::optional<std::size_t> StreamParser::find_header_end(const char* data, std::size_t avail) {
  const std::size_t limit = std::min(avail, limits_.max_header_bytes + 1);
  for (std::size_t i = scanned_; i < limit; ++i) {
    if (data[i] != '\n') continue;
    if (i + 1 < avail && data[i + 1] == '\n') return check_header_size(i + 2);
    if (i + 2 < avail && data[i + 1] == '\r' && data[i + 2] == '\n') return check_header_size(i + 3);
    if (i + 2 >= avail) break;  // the end may be arriving: look at this line end again next time
  }
  if (avail > limits_.max_header_bytes) {
    error_ = ParseError::header_too_large;
    return std::nullopt;
  }
  // Resume at the first line end that could still start the blank line.
  std::size_t resume = limit;
  for (std::size_t i = scanned_; i < limit; ++i)
    if (data[i] == '\n' && i + 2 >= avail) {
      resume = i;
      break;
    }
  scanned_ = resume;
  return std::nullopt;
}

std::optional<std::size_t> StreamParser::check_header_size(std::size_t header_end) {
  if (header_end <= limits_.max_header_bytes) return header_end;
  error_ = ParseError::header_too_large;
  return std::nullopt;
}

// The request line (or a response's status line) and the headers, up to the blank line.
ParseError StreamParser::parse_head(std::string_view head, Request& r, Response* response) const {
  std::vector<std::string_view> lines;
  for (std::size_t at = 0; at < head.size();) {
    const auto lf = head.find('\n', at);
    std::string_view line = head.substr(at, lf - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    at = lf + 1;
    if (line.empty()) break;
    lines.push_back(line);
  }
  const auto e = response ? parse_status_line(lines.front(), *response) : parse_request_line(lines.front(), r);
  if (e != ParseError::none) return e;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (has_ctl(line)) return ParseError::bad_header;
    if (line.front() == ' ' || line.front() == '\t') {  // folded continuation of the previous header
      if (r.headers.empty()) return ParseError::bad_header;
      r.headers.back().second += ' ';
      r.headers.back().second += trim(line);
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) return ParseError::bad_header;
    if (r.headers.size() == limits_.max_headers) return ParseError::too_many_headers;
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  }
  return ParseError::none;
}

// Request-Line = Method SP Request-URI SP RTSP-Version (RFC 2326 §6.1)
ParseError StreamParser::parse_request_line(std::string_view line, Request& r) {
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return ParseError::bad_request_line;
  const auto method = line.substr(0, sp1);
  const auto uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = line.substr(sp2 + 1);
  if (!is_token(method) || uri.empty() || has_ctl(uri) || uri.find(' ') != std::string_view::npos)
    return ParseError::bad_request_line;
  if (version != "RTSP/1.0") {
    if (version.starts_with("RTSP/") || version.starts_with("HTTP/")) return ParseError::unsupported_version;
    return ParseError::bad_request_line;
  }
  r.method = method;
  r.uri = uri;
  return ParseError::none;
}

// Status-Line = RTSP-Version SP Status-Code SP Reason-Phrase (RFC 2326 §7.1)
ParseError StreamParser::parse_status_line(std::string_view line, Response& r) {
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return ParseError::bad_request_line;
  if (line.substr(0, sp1) != "RTSP/1.0") return ParseError::unsupported_version;
  const auto code = line.substr(sp1 + 1, 3);
  if (code.size() != 3 || !std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return ParseError::bad_request_line;
  const auto rest = line.substr(std::min(line.size(), sp1 + 4));
  if (!rest.empty() && rest.front() != ' ') return ParseError::bad_request_line;
  if (has_ctl(rest)) return ParseError::bad_request_line;
  r.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  r.reason = std::string(trim(rest));
  return ParseError::none;
}

// Content-Length, if any: one value however often it is given, within the body limit.
ParseError StreamParser::content_length(const Request& r, std::size_t& body_length) const {
  bool seen = false;
  for (const auto& [n, v] : r.headers) {
    if (!iequals(n, "Content-Length")) continue;
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
    if (ec == std::errc::result_out_of_range) return ParseError::body_too_large;
    if (v.empty() || ec != std::errc{} || end != v.data() + v.size()) return ParseError::bad_content_length;
    if (seen && value != body_length) return ParseError::bad_content_length;
    seen = true;
    body_length = value;
  }
  return body_length > limits_.max_body_bytes ? ParseError::body_too_large : ParseError::none;
}

}  // namespace pttcam::rtsp
