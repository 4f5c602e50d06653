// The RTSP stream parser over arbitrary bytes, fed in pieces whose sizes come from the input: it
// must return requests, frames, need_more or an error, never crash, hold more than its limits or
// change its mind about an error. Each input is also spliced into a valid request and frame so the
// header and interleaved paths are reached, and every parsed request's headers go through the
// Transport, Session and Digest parsers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pttcam/rtsp/digest.hpp"
#include "pttcam/rtsp/headers.hpp"
#include "pttcam/rtsp/parser.hpp"

using namespace pttcam::rtsp;

namespace {

void run(std::string_view input, std::size_t piece) {
  Limits limits;
  limits.max_header_bytes = 512;
  limits.max_body_bytes = 256;
  limits.max_buffered = 2048;
  StreamParser p(limits);
  std::size_t at = 0;
  bool failed = false;
  while (at < input.size()) {
    const auto n = std::min(piece, input.size() - at);
    const bool ok = p.feed(input.substr(at, n));
    at += n;
    if (failed && ok) __builtin_trap();  // an error is final
    for (;;) {
      auto item = p.next();
      if (item.kind == StreamParser::Kind::need_more) break;
      if (item.kind == StreamParser::Kind::error) {
        if (item.error == ParseError::none) __builtin_trap();
        failed = true;
        break;
      }
      if (item.kind == StreamParser::Kind::request) {
        if (item.request.body.size() > limits.max_body_bytes || item.request.headers.size() > limits.max_headers)
          __builtin_trap();
        for (const auto& [name, value] : item.request.headers) {
          (void)parse_transports(value);
          (void)parse_session(value);
          (void)parse_digest_params(value);
        }
        (void)item.request.cseq();
      }
    }
    if (p.buffered() > limits.max_buffered) __builtin_trap();
    if (failed) break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const std::size_t piece = size ? 1 + data[0] % 64 : 1;
  run(raw, piece);
  run(raw, size + 1);
  const std::string spliced = "SETUP rtsp://h/live/track2 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP;unicast;" +
                              std::string(raw) + "\r\nAuthorization: Digest " + std::string(raw) + "\r\n\r\n$\x02" +
                              std::string(raw);
  run(spliced, piece);
  return 0;
}
