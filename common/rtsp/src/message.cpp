#include "pttcam/rtsp/message.hpp"

#include <cctype>
#include <charconv>

namespace pttcam::rtsp {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::string_view> Request::header(std::string_view name) const noexcept {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

std::vector<std::string> Request::header_list(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : headers) {
    if (!iequals(n, name)) continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto item = trim(rest.substr(0, comma));
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

namespace {

std::optional<std::uint32_t> parse_cseq(std::optional<std::string_view> v) noexcept {
  if (!v || v->empty()) return std::nullopt;
  std::uint32_t n = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || end != v->data() + v->size()) return std::nullopt;
  return n;
}

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name) noexcept {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

}  // namespace

std::optional<std::uint32_t> Request::cseq() const noexcept { return parse_cseq(header("CSeq")); }

std::optional<std::string_view> Response::header(std::string_view name) const noexcept {
  return find_header(headers, name);
}

std::vector<std::string> Response::header_all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) out.push_back(v);
  return out;
}

std::optional<std::uint32_t> Response::cseq() const noexcept { return parse_cseq(header("CSeq")); }

const char* reason_phrase(int status) noexcept {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Request Entity Too Large";
    case 453: return "Not Enough Bandwidth";
    case 454: return "Session Not Found";
    case 455: return "Method Not Valid in This State";
    case 459: return "Aggregate Operation Not Allowed";
    case 461: return "Unsupported Transport";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "RTSP Version Not Supported";
    case 551: return "Option not supported";
    default: return "Status";
  }
}

std::string write_response(const Response& response, std::optional<std::uint32_t> cseq) {
  std::string out = "RTSP/1.0 " + std::to_string(response.status) + " " +
                    (response.reason.empty() ? std::string(reason_phrase(response.status)) : response.reason) + "\r\n";
  if (cseq) out += "CSeq: " + std::to_string(*cseq) + "\r\n";
  for (const auto& [n, v] : response.headers) out += n + ": " + v + "\r\n";
  if (!response.body.empty()) {
    if (!response.content_type.empty()) out += "Content-Type: " + response.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  }
  out += "\r\n";
  out += response.body;
  return out;
}

std::string write_request(const Request& request) {
  std::string out = request.method + " " + request.uri + " RTSP/1.0\r\n";
  for (const auto& [n, v] : request.headers) out += n + ": " + v + "\r\n";
  if (!request.body.empty()) out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  out += "\r\n";
  out += request.body;
  return out;
}

}  // namespace pttcam::rtsp
