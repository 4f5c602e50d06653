// The pure parts of ptt-client's RTSP side: reading responses and interleaved frames from the
// camera's byte stream, the camera URL, Digest answers checked by the camera's own verifier, the
// camera's SDP and the choice of the backchannel codec.
#include <doctest/doctest.h>

#include "pttcam/client/rtsp_offer.hpp"
#include "pttcam/rtsp/digest.hpp"
#include "pttcam/rtsp/parser.hpp"
#include "pttcam/rtsp/url.hpp"
#include "pttcam/sdp/media_list.hpp"

using namespace pttcam;
using K = rtsp::StreamParser::Kind;

TEST_CASE("StreamParser on a client's side") {
  rtsp::StreamParser p({}, rtsp::StreamParser::Role::client);
  SUBCASE("responses with bodies, interleaved frames between them, a request from the server") {
    std::string bytes = "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 5\r\n\r\nv=0\r\n";
    bytes.append("$\x02\x00\x03" "abc", 7);
    bytes.append("RTSP/1.0 551 Option not supported\r\nCSeq: 3\r\nUnsupported: x\r\n\r\n");
    bytes.append("GET_PARAMETER * RTSP/1.0\r\nCSeq: 9\r\n\r\n");
    p.feed(bytes);
    auto a = p.next();
    REQUIRE(a.kind == K::response);
    CHECK(a.response.status == 200);
    CHECK(a.response.reason == "OK");
    CHECK(a.response.cseq() == 2u);
    CHECK(a.response.body == "v=0\r\n");
    const auto f = p.next();
    REQUIRE(f.kind == K::interleaved);
    CHECK(f.frame.channel == 2);
    CHECK(f.frame.payload.size() == 3);
    auto b = p.next();
    REQUIRE(b.kind == K::response);
    CHECK(b.response.status == 551);
    CHECK(b.response.header("unsupported") == "x");
    const auto r = p.next();
    REQUIRE(r.kind == K::request);
    CHECK(r.request.method == "GET_PARAMETER");
    CHECK(p.next().kind == K::need_more);
  }
  SUBCASE("a response a byte at a time") {
    const std::string text = "RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\n\r\n";
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
      p.feed(text.substr(i, 1));
      CHECK(p.next().kind == K::need_more);
    }
    p.feed(text.substr(text.size() - 1));
    const auto a = p.next();
    REQUIRE(a.kind == K::response);
    CHECK(a.response.status == 401);
    CHECK(a.response.header_all("WWW-Authenticate").size() == 1);
  }
  SUBCASE("bad status lines") {
    for (const char* bad : {"RTSP/1.0 20 OK\r\n\r\n", "RTSP/1.0 2x0 OK\r\n\r\n", "RTSP/1.0 200OK\r\n\r\n"}) {
      rtsp::StreamParser q({}, rtsp::StreamParser::Role::client);
      q.feed(std::string(bad));
      const auto e = q.next();
      CHECK(e.kind == K::error);
      CHECK(e.error == rtsp::ParseError::bad_request_line);
    }
    p.feed(std::string("RTSP/2.0 200 OK\r\n\r\n"));
    CHECK(p.next().error == rtsp::ParseError::unsupported_version);
  }
  SUBCASE("a server's parser still refuses responses") {
    rtsp::StreamParser server;
    server.feed(std::string("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n"));
    CHECK(server.next().kind == K::error);
  }
}

TEST_CASE("write_request") {
  rtsp::Request r{"SETUP", "rtsp://h/live/track2", {{"CSeq", "4"}, {"Transport", "RTP/AVP;unicast;client_port=5000-5001"}}, {}};
  CHECK(rtsp::write_request(r) ==
        "SETUP rtsp://h/live/track2 RTSP/1.0\r\nCSeq: 4\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n");
  r.body.push_back('x');  // (GCC 12 warns wrongly about assigning a literal here)
  CHECK(rtsp::write_request(r).ends_with("Content-Length: 1\r\n\r\nx"));
}

TEST_CASE("parse_url") {
  SUBCASE("credentials, with escapes; default port") {
    const auto u = rtsp::parse_url("rtsp://admin:p%40ss%3Aw@cam.local/Streaming/Channels/101?x=1");
    REQUIRE(u.url);
    CHECK(u.url->user == "admin");
    CHECK(u.url->password == "p@ss:w");
    CHECK(u.url->host == "cam.local");
    CHECK(u.url->port == 554);
    CHECK(u.url->request_url() == "rtsp://cam.local:554/Streaming/Channels/101?x=1");
  }
  SUBCASE("IPv6 and a port, no path") {
    const auto u = rtsp::parse_url("RTSP://[::1]:8554");
    REQUIRE(u.url);
    CHECK(u.url->host == "::1");
    CHECK(u.url->request_url() == "rtsp://[::1]:8554/");
    CHECK(u.url->user.empty());
  }
  SUBCASE("errors") {
    CHECK(rtsp::parse_url("http://h/").error == "not an rtsp:// URL");
    CHECK(rtsp::parse_url("rtsp://h:0/").error == "the port must be 1-65535");
    CHECK(rtsp::parse_url("rtsp://h:70000/").error == "the port must be 1-65535");
    CHECK(rtsp::parse_url("rtsp://h:/").error == "the port must be 1-65535");
    CHECK(rtsp::parse_url("rtsp:///live").error == "no host");
    CHECK(rtsp::parse_url("rtsp://a:%4@h/").error == "a bad %-escape in the user or password");
    CHECK(rtsp::parse_url("rtsp://:pw@h/").error == "credentials without a user name");
    CHECK(rtsp::parse_url("rtsp://h/a b").error == "a URL holds no spaces or control characters");
  }
  SUBCASE("resolve_control") {
    CHECK(rtsp::resolve_control("rtsp://h/live/", "track1") == "rtsp://h/live/track1");
    CHECK(rtsp::resolve_control("rtsp://h/live", "track1") == "rtsp://h/live/track1");
    CHECK(rtsp::resolve_control("rtsp://h/live/", "*") == "rtsp://h/live/");
    CHECK(rtsp::resolve_control("rtsp://h/live/", "rtsp://o/x") == "rtsp://o/x");
    CHECK(rtsp::resolve_control("rtsp://h/live/", "") == "rtsp://h/live/");
  }
}

TEST_CASE("Digest: the client's answers pass the camera's check") {
  rtsp::DigestAuth camera({.realm = "cam", .user = "admin", .password = "s3cret"});
  const auto challenges = camera.challenge(0, false);  // SHA-256 first, then MD5
  const auto c = rtsp::pick_challenge(challenges);
  REQUIRE(c);
  CHECK(c->algorithm == rtsp::DigestAlgorithm::sha256);
  const std::string uri = "rtsp://h/live";
  const auto ok = rtsp::authorization(*c, "admin", "s3cret", "DESCRIBE", uri, 1, "abcd");
  CHECK(camera.verify(ok, "DESCRIBE", uri, 0) == rtsp::DigestAuth::Verdict::ok);
  const auto wrong = rtsp::authorization(*c, "admin", "nope", "DESCRIBE", uri, 1, "abcd");
  CHECK(camera.verify(wrong, "DESCRIBE", uri, 0) == rtsp::DigestAuth::Verdict::wrong_user_or_password);
  SUBCASE("MD5 alone, with qop=auth and opaque") {
    const auto md5 = rtsp::pick_challenge({"Basic realm=\"x\"", "Digest realm=\"r\", nonce=\"n1\", qop=\"auth,auth-int\", opaque=\"o\""});
    REQUIRE(md5);
    CHECK(md5->algorithm == rtsp::DigestAlgorithm::md5);
    CHECK(md5->qop_auth);
    const auto v = rtsp::authorization(*md5, "u", "p", "PLAY", "rtsp://h/", 2, "cn");
    CHECK(v.find("nc=00000002") != std::string::npos);
    CHECK(v.find("opaque=\"o\"") != std::string::npos);
    CHECK(v.find(rtsp::digest_response(rtsp::DigestAlgorithm::md5, "u", "r", "p", "PLAY", "rtsp://h/", "n1", "00000002",
                                       "cn", "auth")) != std::string::npos);
  }
  CHECK_FALSE(rtsp::pick_challenge({"Basic realm=\"x\"", "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512"}));
  SUBCASE("a user name with a quote and a backslash") {
    rtsp::DigestAuth odd({.realm = "cam", .user = "a\"b\\c", .password = "pw"});
    const auto oc = rtsp::pick_challenge(odd.challenge(0, false));
    REQUIRE(oc);
    const auto v = rtsp::authorization(*oc, "a\"b\\c", "pw", "OPTIONS", "*", 1, "x");
    CHECK(v.find("username=\"a\\\"b\\\\c\"") != std::string::npos);
    CHECK(odd.verify(v, "OPTIONS", "*", 0) == rtsp::DigestAuth::Verdict::ok);
  }
}

namespace {

// What gst-rtsp-server's ONVIF server answers (trimmed), and a camera with G.711 and L16.
constexpr const char* kGstOnvif =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Session\r\nt=0 0\r\na=control:*\r\n"
    "m=audio 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 OPUS/48000/2\r\na=fmtp:96 sprop-stereo=0\r\n"
    "a=control:stream=0\r\na=recvonly\r\n"
    "m=audio 0 RTP/AVP 110\r\na=rtpmap:110 OPUS/48000\r\na=control:stream=1\r\na=sendonly\r\n";
constexpr const char* kG711Camera =
    "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=cam\r\nt=0 0\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=1\r\na=recvonly\r\n"
    "m=audio 0 RTP/AVP 0\r\na=control:trackID=2\r\na=recvonly\r\n"
    "m=audio 0 RTP/AVP 0 8 97\r\na=rtpmap:97 L16/16000\r\na=control:trackID=3\r\na=sendonly\r\n";

}  // namespace

TEST_CASE("parse_media_list and the backchannel offer") {
  using client::TalkCodec;
  const std::vector<TalkCodec> all{TalkCodec::opus, TalkCodec::l16, TalkCodec::pcmu, TalkCodec::pcma};
  SUBCASE("GStreamer's ONVIF server") {
    const auto l = sdp::parse_media_list(kGstOnvif);
    REQUIRE(l.list);
    REQUIRE(l.list->media.size() == 2);
    CHECK(l.list->media[0].direction == sdp::Direction::recvonly);
    CHECK(l.list->media[1].formats.at(0).encoding == "OPUS");
    const auto o = client::read_offer(*l.list, "rtsp://h/cam/", std::nullopt, {TalkCodec::opus}, {TalkCodec::opus});
    REQUIRE(o.backchannel);
    CHECK(o.backchannel->url == "rtsp://h/cam/stream=1");
    CHECK(o.backchannel->format.payload_type == 110);
    CHECK(o.why_no_audio.empty());
    REQUIRE(o.audio);
    CHECK(o.audio->url == "rtsp://h/cam/stream=0");
    CHECK(o.aggregate_url == "rtsp://h/cam/");
  }
  SUBCASE("a G.711/L16 camera: static payload types, L16 before G.711, --codec, what this build sends") {
    const auto l = sdp::parse_media_list(kG711Camera);
    REQUIRE(l.list);
    const auto& bc = l.list->media.at(2);
    REQUIRE(bc.formats.size() == 3);
    CHECK(bc.formats[1].encoding == "PCMA");
    CHECK(bc.formats[2].clock_rate == 16000);
    auto o = client::read_offer(*l.list, "rtsp://h/", std::nullopt, all, all);
    REQUIRE(o.backchannel);
    CHECK(o.backchannel->format.encoding == "L16");
    CHECK(o.audio->format.encoding == "PCMU");  // the audio track, not the video
    o = client::read_offer(*l.list, "rtsp://h/", TalkCodec::pcma, all, all);
    CHECK(o.backchannel->format.payload_type == 8);
    o = client::read_offer(*l.list, "rtsp://h/", std::nullopt, {TalkCodec::opus}, {TalkCodec::opus});
    CHECK_FALSE(o.backchannel);
    CHECK_FALSE(o.audio);
    CHECK(o.why_no_audio == "the camera's audio (PCMU/8000) is not played: this client does not decode it");
    CHECK(o.why_no_talk == "the camera's backchannel takes PCMU/8000, PCMA/8000, L16/16000, none of which this client can send");
    o = client::read_offer(*l.list, "rtsp://h/", TalkCodec::opus, all, all);
    CHECK(o.why_no_talk.find("none of which is the forced opus") != std::string::npos);
  }
  SUBCASE("no backchannel track") {
    const auto l = sdp::parse_media_list("v=0\r\nm=audio 0 RTP/AVP 0\r\na=control:a\r\n");
    REQUIRE(l.list);
    const auto o = client::read_offer(*l.list, "rtsp://h/x", std::nullopt, all, all);
    CHECK_FALSE(o.backchannel);
    CHECK(o.audio->url == "rtsp://h/x/a");
    CHECK(o.why_no_talk.find("no a=sendonly audio track") != std::string::npos);
  }
  SUBCASE("malformed") {
    CHECK(sdp::parse_media_list("v=0\r\nm=audio x RTP/AVP 0\r\n").error.line == 2);
    CHECK(sdp::parse_media_list("v=0\r\nm=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n").error.line == 3);
    CHECK(sdp::parse_media_list("v=0\r\ns=x\r\n").error.reason == "no m= line");
    CHECK(sdp::parse_media_list("v=0\r\nnonsense\r\nm=audio 0 RTP/AVP 0\r\n").error.line == 2);
  }
}
