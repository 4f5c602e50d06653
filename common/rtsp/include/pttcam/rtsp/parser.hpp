#pragma once
// Reads RTSP requests (and, on a client's connection, responses) and $-interleaved frames
// (RFC 2326 §10.12) from one TCP byte stream, as the bytes come: feed() what arrived, then next() until it says need_more. Limits bound what a peer
// can make the server hold; any error ends the stream (after an error nothing can be resynchronised:
// the caller answers if it can and closes the connection).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pttcam/rtsp/message.hpp"

namespace pttcam::rtsp {

enum class ParseError {
  none,
  bad_request_line,     // not METHOD SP URI SP RTSP/1.0 (nor RTSP/1.0 SP 3DIGIT SP reason on a client's side)
  unsupported_version,  // RTSP/2.0, HTTP/1.1, ...
  bad_header,           // a line without a colon, a bad name, a continuation first
  header_too_large,     // request line + headers beyond Limits::max_header_bytes
  too_many_headers,
  bad_content_length,
  body_too_large,
  buffer_full,          // fed more than the parser may hold unread
};
const char* to_string(ParseError e) noexcept;
// The status a server answers before closing: 400, 505, 413, ...
int status_for(ParseError e) noexcept;

struct Limits {
  std::size_t max_header_bytes = 8192;  // request line and headers, with their line ends
  std::size_t max_headers = 64;
  std::size_t max_body_bytes = 16384;
  std::size_t max_buffered = 256 * 1024;  // unread input (interleaved frames are at most 64 KiB + 4)
};

struct Interleaved {
  std::uint8_t channel = 0;
  std::span<const std::byte> payload;  // valid until the next feed() or next()
};

struct ParseCounters {
  std::uint64_t requests = 0;   // and responses, on a client's side
  std::uint64_t interleaved_frames = 0;
  std::uint64_t bytes = 0;
};

class StreamParser {
 public:
  enum class Kind { need_more, request, response, interleaved, error };
  // A server reads requests; a client reads responses and the requests a server may send it; a
  // server that also sends requests (RFC 2326 §10: SET_PARAMETER, ANNOUNCE) reads both.
  enum class Role { server, client, server_that_asks };
  struct Item {
    Kind kind = Kind::need_more;
    Request request;            // kind == request
    Response response;          // kind == response
    Interleaved frame;          // kind == interleaved
    ParseError error = ParseError::none;
  };

  explicit StreamParser(Limits limits = {}, Role role = Role::server) : limits_(limits), role_(role) {}

  // Appends bytes; false (and the parser is in error) if that would exceed Limits::max_buffered.
  bool feed(std::span<const std::byte> bytes);
  bool feed(std::string_view text) { return feed(std::as_bytes(std::span(text.data(), text.size()))); }
  Item next();
  ParseError error() const noexcept { return error_; }
  std::size_t buffered() const noexcept { return buffer_.size() - pos_; }
  const ParseCounters& counters() const noexcept { return counters_; }

 private:
  Item fail(ParseError e);
  Item interleaved(const char* data, std::size_t avail);
  std::optional<std::size_t> find_header_end(const char* data, std::size_t avail);
  std::optional<std::size_t> check_header_size(std::size_t header_end);
  ParseError parse_head(std::string_view head, Request& r, Response* response) const;
  static ParseError parse_request_line(std::string_view line, Request& r);
  static ParseError parse_status_line(std::string_view line, Response& r);
  ParseError content_length(const Request& r, std::size_t& body_length) const;
  Limits limits_;
  Role role_;
  std::vector<std::byte> buffer_;
  std::size_t pos_ = 0;      // start of unread input
  std::size_t scanned_ = 0;  // headers of the message at pos_ searched up to here for their end
  ParseError error_ = ParseError::none;
  ParseCounters counters_;
};

}  // namespace pttcam::rtsp
