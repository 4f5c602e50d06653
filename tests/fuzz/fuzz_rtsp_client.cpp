// What ptt-client reads from a camera, over arbitrary bytes: the byte stream of the RTSP
// connection on a client's side (responses, interleaved frames, requests from the server), the
// headers it reads from responses (Session, Transport, WWW-Authenticate), the DESCRIBE answer's
// SDP and the offer chosen from it, and the camera URL the user types. Nothing may crash, hold
// more than its limits or hand out a frame longer than the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pttcam/client/rtsp_offer.hpp"
#include "pttcam/rtsp/digest.hpp"
#include "pttcam/rtsp/headers.hpp"
#include "pttcam/rtsp/parser.hpp"
#include "pttcam/rtsp/url.hpp"
#include "pttcam/sdp/media_list.hpp"

using namespace pttcam;

namespace {

void read_offer(std::string_view text) {
  const auto l = sdp::parse_media_list(text);
  if (!l.list) return;
  using C = client::TalkCodec;
  const std::vector<C> all{C::opus, C::l16, C::pcmu, C::pcma};
  const auto o = client::read_offer(*l.list, "rtsp://h/", std::nullopt, all, all);
  if (o.backchannel && o.backchannel->url.empty()) __builtin_trap();
}

void run(std::string_view input, std::size_t piece) {
  rtsp::Limits limits;
  limits.max_header_bytes = 512;
  limits.max_body_bytes = 512;
  limits.max_buffered = 4096;
  rtsp::StreamParser p(limits, rtsp::StreamParser::Role::client);
  for (std::size_t at = 0; at < input.size(); at += piece) {
    if (!p.feed(input.substr(at, std::min(piece, input.size() - at)))) return;
    for (;;) {
      auto item = p.next();
      using K = rtsp::StreamParser::Kind;
      if (item.kind == K::need_more) break;
      if (item.kind == K::error) return;
      if (item.kind == K::interleaved && item.frame.payload.size() > input.size()) __builtin_trap();
      if (item.kind != K::response) continue;
      if (item.response.status < 0 || item.response.status > 999) __builtin_trap();
      (void)item.response.cseq();
      (void)rtsp::pick_challenge(item.response.header_all("WWW-Authenticate"));
      for (const auto& [name, value] : item.response.headers) {
        (void)rtsp::parse_session(value);
        (void)rtsp::parse_transports(value);
      }
      read_offer(item.response.body);
    }
    if (p.buffered() > limits.max_buffered) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const std::size_t piece = size ? 1 + data[0] % 64 : 1;
  run(raw, piece);
  read_offer(raw);
  (void)rtsp::parse_url(raw);
  (void)rtsp::parse_url("rtsp://" + std::string(raw));
  const std::string spliced = "RTSP/1.0 200 OK\r\nCSeq: 2\r\nWWW-Authenticate: Digest " + std::string(raw) +
                              "\r\nContent-Length: " + std::to_string(size + 23) + "\r\n\r\nv=0\r\nm=audio 0 RTP/AVP " +
                              std::string(raw);
  run(spliced, piece);
  return 0;
}
