// common/webrtc: the offer a browser sends and the answer pttcam gives (an offer shaped as
// Chromium writes one for a single audio transceiver, with a video m-line added to be rejected), every refusal's reason.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "pttcam/webrtc/offer.hpp"

using namespace pttcam::webrtc;

namespace {

std::string chromium_offer() {
  std::ifstream in(PTTCAM_WEBRTC_DATA_DIR "/chromium_offer.sdp");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text;
  // Files in the tree have LF line ends; the wire has CRLF.
  for (std::string line; std::getline(ss, line);) text += line + "\r\n";
  return text;
}

std::string without(std::string text, const std::string& line_start) {
  const auto at = text.find(line_start);
  REQUIRE(at != std::string::npos);
  return text.erase(at, text.find("\r\n", at) + 2 - at);
}

}  // namespace

TEST_CASE("webrtc offer and answer") {
  SUBCASE("a Chromium offer") {
    const auto parsed = parse_offer(chromium_offer());
    REQUIRE_MESSAGE(parsed.offer, parsed.error);
    const auto& o = *parsed.offer;
    CHECK(o.ice_ufrag == "Qw3v");
    CHECK(o.ice_pwd == "4mUbNCxIDpVLzQ0rIDc1X+Ox");
    CHECK(o.fingerprint_algorithm == "sha-256");
    CHECK(o.fingerprint.substr(0, 6) == "1D:3E:");  // upper-cased, as pttcam compares it
    CHECK(o.setup == "actpass");
    CHECK(o.opus_payload_type == 111);
    REQUIRE(o.red_payload_type);
    CHECK(*o.red_payload_type == 63);
    CHECK(o.direction == "sendrecv");
    CHECK(o.rtcp_mux);
    CHECK(o.candidates.size() == 2);
    REQUIRE(o.media.size() == 1);
    CHECK(o.media[0].mid == "0");
  }
  SUBCASE("the answer") {
    auto text = chromium_offer() + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n";
    const auto parsed = parse_offer(text);
    REQUIRE(parsed.offer);
    AnswerParams p;
    p.session_id = 7;
    p.address = "127.0.0.1";
    p.ice_ufrag = "abcd";
    p.ice_pwd = "0123456789abcdefghijkl";
    p.fingerprint = "AA:BB";
    p.candidates = {"candidate:1 1 UDP 2015363327 127.0.0.1 40000 typ host"};
    p.port = 40000;
    p.ssrc = 1234;
    const auto a = write_answer(*parsed.offer, p);
    CHECK(a.find("a=group:BUNDLE 0\r\n") != std::string::npos);
    CHECK(a.find("m=audio 40000 UDP/TLS/RTP/SAVPF 63 111\r\n") != std::string::npos);
    CHECK(a.find("a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n") != std::string::npos);
    CHECK(a.find("a=setup:passive\r\n") != std::string::npos);
    CHECK(a.find("a=fingerprint:sha-256 AA:BB\r\n") != std::string::npos);
    CHECK(a.find("a=ice-ufrag:abcd\r\n") != std::string::npos);
    CHECK(a.find("a=candidate:1 1 UDP 2015363327 127.0.0.1 40000 typ host\r\n") != std::string::npos);
    CHECK(a.find("a=sendrecv\r\n") != std::string::npos);
    CHECK(a.find("a=ssrc:1234 cname:") != std::string::npos);
    CHECK(a.find("m=video 0 UDP/TLS/RTP/SAVPF 96\r\n") != std::string::npos);  // rejected, mid kept
    CHECK(a.find("a=mid:1\r\n") != std::string::npos);
  }
  SUBCASE("directions, RFC 3264 6.1") {
    CHECK(answer_direction("sendrecv", true, true) == "sendrecv");
    CHECK(answer_direction("sendonly", true, true) == "recvonly");
    CHECK(answer_direction("recvonly", true, true) == "sendonly");
    CHECK(answer_direction("sendrecv", true, false) == "sendonly");  // a camera without a speaker
    CHECK(answer_direction("sendonly", true, false) == "inactive");
  }
  SUBCASE("refusals say why") {
    const auto offer = chromium_offer();
    CHECK(parse_offer(without(offer, "a=ice-ufrag")).error == "the offer has no a=ice-ufrag/a=ice-pwd");
    CHECK(parse_offer(without(offer, "a=fingerprint")).error == "the offer has no a=fingerprint:sha-256");
    CHECK(parse_offer(without(offer, "a=rtcp-mux")).error == "the offer does not multiplex RTCP (a=rtcp-mux)");
    CHECK(parse_offer(without(offer, "a=rtpmap:111")).error == "the audio m-line offers no opus/48000/2");
    CHECK(parse_offer("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n").error == "the offer has no audio m-line");
    CHECK(parse_offer("hello").error.find("not an SDP line") == 0);
    std::string plain = offer;
    plain.replace(plain.find("UDP/TLS/RTP/SAVPF"), 17, "RTP/AVP");
    CHECK(parse_offer(plain).error == "the audio m-line is not DTLS-SRTP (RTP/AVP)");
    std::string passive = offer;
    passive.replace(passive.find("a=setup:actpass"), 15, "a=setup:passive");
    CHECK(parse_offer(passive).error == "a=setup:passive offers leave nobody to start DTLS");
  }
}

