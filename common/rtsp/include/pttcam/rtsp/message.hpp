#pragma once
// RTSP 1.0 messages (RFC 2326 §6, §7) as values: a parsed request and a response to write.
// Header names compare without regard to case (RFC 2326 §4.2 via RFC 2616 §4.2).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pttcam::rtsp {

using Headers = std::vector<std::pair<std::string, std::string>>;

bool iequals(std::string_view a, std::string_view b) noexcept;
std::string_view trim(std::string_view s) noexcept;

struct Request {
  std::string method;  // as sent: methods are case-sensitive (RFC 2326 §6.1)
  std::string uri;
  Headers headers;     // in order; values trimmed
  std::string body;

  // The first header of that name, if any.
  std::optional<std::string_view> header(std::string_view name) const noexcept;
  // Every value of that name, each split at commas (Require: a, b and Require: c give a, b, c).
  std::vector<std::string> header_list(std::string_view name) const;
  // CSeq as a number; nullopt if absent or not a decimal number (RFC 2326 §12.17).
  std::optional<std::uint32_t> cseq() const noexcept;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  std::string content_type;  // written with Content-Length when the body is not empty
  std::string reason;        // the status line's phrase: as a client read it; written answers use it
                             // when set, else reason_phrase(status)

  Response& add(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  std::optional<std::string_view> header(std::string_view name) const noexcept;
  std::vector<std::string> header_all(std::string_view name) const;  // every value of that name, whole
  std::optional<std::uint32_t> cseq() const noexcept;
};

// "Not Found" for 404, ...; "Status" for codes it does not know.
const char* reason_phrase(int status) noexcept;
// RTSP/1.0 status line, CSeq (when known), the headers, Content-Length/Type, the body.
std::string write_response(const Response& response, std::optional<std::uint32_t> cseq);
// Request line, the headers (CSeq among them, as the caller gives it), Content-Length, the body.
std::string write_request(const Request& request);

}  // namespace pttcam::rtsp
