// RTSP 1.0 pure code: the stream parser (requests and $-interleaved frames, byte by byte, limits,
// errors), the response writer, Transport/Session/Require headers and Digest authentication.
#include <doctest/doctest.h>

#include <string>

#include "pttcam/rtsp/digest.hpp"
#include "pttcam/rtsp/headers.hpp"
#include "pttcam/rtsp/parser.hpp"

using namespace pttcam::rtsp;

namespace {

std::string frame(std::uint8_t channel, const std::string& payload) {
  std::string s = "$";
  s += static_cast<char>(channel);
  s += static_cast<char>(payload.size() >> 8);
  s += static_cast<char>(payload.size() & 0xff);
  return s + payload;
}

}  // namespace

TEST_CASE("StreamParser") {
  SUBCASE("a request, fed whole or one byte at a time, then need_more") {
    const std::string text =
        "DESCRIBE rtsp://127.0.0.1:8554/live RTSP/1.0\r\nCSeq: 2\r\nRequire:  www.onvif.org/ver20/backchannel \r\n"
        "Accept: application/sdp\r\n\r\n";
    for (const bool bytewise : {false, true}) {
      StreamParser p;
      StreamParser::Item item;
      if (bytewise) {
        for (std::size_t i = 0; i + 1 < text.size(); ++i) {
          REQUIRE(p.feed(text.substr(i, 1)));
          CHECK(p.next().kind == StreamParser::Kind::need_more);
        }
        REQUIRE(p.feed(text.substr(text.size() - 1)));
      } else {
        REQUIRE(p.feed(text));
      }
      item = p.next();
      REQUIRE(item.kind == StreamParser::Kind::request);
      CHECK(item.request.method == "DESCRIBE");
      CHECK(item.request.uri == "rtsp://127.0.0.1:8554/live");
      CHECK(item.request.cseq() == 2u);
      CHECK(item.request.header("require") == "www.onvif.org/ver20/backchannel");
      CHECK(p.next().kind == StreamParser::Kind::need_more);
    }
  }
  SUBCASE("interleaved frames mixed with requests, and a body") {
    StreamParser p;
    const std::string body = "position\r\n";
    REQUIRE(p.feed(frame(2, "rtp!") + "GET_PARAMETER rtsp://h/live/ RTSP/1.0\nCSeq: 7\nContent-Length: " +
                   std::to_string(body.size()) + "\n\n" + body + frame(3, "") + frame(0, std::string(300, 'x'))));
    auto a = p.next();
    REQUIRE(a.kind == StreamParser::Kind::interleaved);
    CHECK(a.frame.channel == 2);
    CHECK(a.frame.payload.size() == 4);
    CHECK(static_cast<char>(a.frame.payload[0]) == 'r');
    auto b = p.next();
    REQUIRE(b.kind == StreamParser::Kind::request);
    CHECK(b.request.body == body);
    CHECK(b.request.cseq() == 7u);
    auto c = p.next();
    REQUIRE(c.kind == StreamParser::Kind::interleaved);
    CHECK(c.frame.payload.empty());
    auto d = p.next();
    REQUIRE(d.kind == StreamParser::Kind::interleaved);
    CHECK(d.frame.payload.size() == 300);
    CHECK(p.counters().interleaved_frames == 3);
    CHECK(p.counters().requests == 1);
  }
  SUBCASE("bare LF line ends and a body, byte by byte, give what one feed gives") {
    const std::string text = "SET_PARAMETER * RTSP/1.0\nCSeq: 7\nContent-Length: 3\n\nabcOPTIONS * RTSP/1.0\r\nCSeq: 8\r\n\r\n";
    StreamParser p;
    std::vector<std::string> seen;
    for (const char c : text) {
      REQUIRE(p.feed(std::string(1, c)));
      for (auto item = p.next(); item.kind == StreamParser::Kind::request; item = p.next())
        seen.push_back(item.request.method + " " + item.request.body + std::to_string(*item.request.cseq()));
    }
    CHECK(seen == std::vector<std::string>{"SET_PARAMETER abc7", "OPTIONS 8"});
  }
  SUBCASE("a frame cut anywhere waits for the rest") {
    const auto f = frame(1, "abcdef");
    for (std::size_t cut = 0; cut < f.size(); ++cut) {
      StreamParser p;
      REQUIRE(p.feed(f.substr(0, cut)));
      CHECK(p.next().kind == StreamParser::Kind::need_more);
      REQUIRE(p.feed(f.substr(cut)));
      CHECK(p.next().kind == StreamParser::Kind::interleaved);
    }
  }
  SUBCASE("errors, each with the status a server answers") {
    struct Case {
      std::string text;
      ParseError error;
      int status;
    };
    const Case cases[] = {
        {"GARBAGE\r\n\r\n", ParseError::bad_request_line, 400},
        {"OPTIONS * RTSP/2.0\r\n\r\n", ParseError::unsupported_version, 505},
        {"GET / HTTP/1.1\r\n\r\n", ParseError::unsupported_version, 505},
        {"OPTIONS  * RTSP/1.0\r\n\r\n", ParseError::bad_request_line, 400},
        {"OPT(ONS * RTSP/1.0\r\n\r\n", ParseError::bad_request_line, 400},
        {"OPTIONS * RTSP/1.0\r\nno colon here\r\n\r\n", ParseError::bad_header, 400},
        {"OPTIONS * RTSP/1.0\r\n continued first\r\n\r\n", ParseError::bad_header, 400},
        {"OPTIONS * RTSP/1.0\r\nCSeq: 1\x01\r\n\r\n", ParseError::bad_header, 400},
        {"OPTIONS * RTSP/1.0\r\nContent-Length: -1\r\n\r\n", ParseError::bad_content_length, 400},
        {"OPTIONS * RTSP/1.0\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", ParseError::bad_content_length, 400},
        {"OPTIONS * RTSP/1.0\r\nContent-Length: 99999999999999999999999\r\n\r\n", ParseError::body_too_large, 413},
        {"OPTIONS * RTSP/1.0\r\nContent-Length: 16385\r\n\r\n", ParseError::body_too_large, 413},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      StreamParser p;
      REQUIRE(p.feed(c.text));
      const auto item = p.next();
      CHECK(item.kind == StreamParser::Kind::error);
      CHECK(item.error == c.error);
      CHECK(status_for(item.error) == c.status);
      CHECK(p.next().kind == StreamParser::Kind::error);  // the stream stays in error
      CHECK_FALSE(p.feed(std::string("OPTIONS * RTSP/1.0\r\n\r\n")));
    }
  }
  SUBCASE("limits: header bytes, header count, unread input") {
    StreamParser big;
    REQUIRE(big.feed("OPTIONS * RTSP/1.0\r\nX: " + std::string(9000, 'a')));
    CHECK(big.next().error == ParseError::header_too_large);
    StreamParser slow;  // the limit holds before the blank line arrives, byte by byte
    REQUIRE(slow.feed(std::string("OPTIONS * RTSP/1.0\r\n")));
    ParseError seen = ParseError::none;
    for (int i = 0; i < 9000 && seen == ParseError::none; ++i) {
      slow.feed(std::string(i % 20 == 19 ? "\n" : "a"));
      seen = slow.next().error;
    }
    CHECK(seen == ParseError::header_too_large);
    std::string many = "OPTIONS * RTSP/1.0\r\n";
    for (int i = 0; i < 65; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
    StreamParser count;
    REQUIRE(count.feed(many + "\r\n"));
    CHECK(count.next().error == ParseError::too_many_headers);
    Limits small;
    small.max_buffered = 100;
    StreamParser full(small);
    CHECK(full.feed(std::string(100, '$')));
    CHECK_FALSE(full.feed(std::string(1, '$')));
    CHECK(full.next().error == ParseError::buffer_full);
  }
}

TEST_CASE("Request and Response") {
  StreamParser p;
  REQUIRE(p.feed(std::string("PLAY rtsp://h/live/ RTSP/1.0\r\nCSeq: x1\r\nRequire: a, b\r\nrequire: c\r\n"
                             "Session: 12AB;timeout=60\r\n\r\n")));
  const auto r = p.next().request;
  CHECK_FALSE(r.cseq().has_value());
  CHECK(r.header_list("REQUIRE") == std::vector<std::string>{"a", "b", "c"});
  Response resp;
  resp.status = 551;
  resp.add("Unsupported", "b");
  CHECK(write_response(resp, 4) == "RTSP/1.0 551 Option not supported\r\nCSeq: 4\r\nUnsupported: b\r\n\r\n");
  Response sdp;
  sdp.body = "v=0\r\n";
  sdp.content_type = "application/sdp";
  CHECK(write_response(sdp, std::nullopt) ==
        "RTSP/1.0 200 OK\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n");
}

TEST_CASE("Transport, Session and Require headers") {
  SUBCASE("UDP unicast, TCP interleaved, preference order, what is left out") {
    const auto t = parse_transports(
        "RTP/SAVP;unicast;client_port=1-2, RTP/AVP;multicast;port=5000-5001, RTP/AVP;unicast;client_port=40000-40001;"
        "mode=\"PLAY\", RTP/AVP/TCP;unicast;interleaved=2-3");
    REQUIRE(t.size() == 2);
    CHECK(t[0].lower == Transport::Lower::udp);
    CHECK(t[0].client_port == PortPair{40000, 40001});
    CHECK(t[0].mode == "PLAY");
    CHECK(t[1].lower == Transport::Lower::tcp);
    CHECK(t[1].interleaved == std::pair<std::uint8_t, std::uint8_t>{2, 3});
    CHECK(parse_transports("RTP/AVP/UDP;unicast;client_port=5000")[0].client_port == PortPair{5000, 5001});
    CHECK(parse_transports("RTP/AVP;unicast;client_port=0-1").empty());
    CHECK(parse_transports("RTP/AVP;unicast;client_port=70000-70001").empty());
    CHECK(parse_transports("RTP/AVP/TCP;interleaved=300-301").empty());
    CHECK(parse_transports("").empty());
  }
  SUBCASE("written back") {
    Transport t;
    t.client_port = PortPair{40000, 40001};
    t.server_port = PortPair{50000, 50001};
    t.ssrc = 0xBEEF;
    CHECK(format_transport(t) == "RTP/AVP;unicast;client_port=40000-40001;server_port=50000-50001;ssrc=0000BEEF");
    Transport i;
    i.lower = Transport::Lower::tcp;
    i.interleaved = std::pair<std::uint8_t, std::uint8_t>{0, 1};
    CHECK(format_transport(i) == "RTP/AVP/TCP;unicast;interleaved=0-1");
    CHECK(parse_transports(format_transport(t)).front() == t);
  }
  SUBCASE("Session") {
    const auto s = parse_session("A1b2$-_.+;timeout=60");
    REQUIRE(s);
    CHECK(s->id == "A1b2$-_.+");
    CHECK(s->timeout_s == 60u);
    CHECK(format_session(*s) == "A1b2$-_.+;timeout=60");
    CHECK_FALSE(parse_session(""));
    CHECK_FALSE(parse_session("a b"));
    CHECK_FALSE(parse_session(";timeout=5"));
  }
  SUBCASE("Require") {
    const std::vector<std::string_view> supported{kBackchannelTag};
    CHECK(unsupported_options({"WWW.ONVIF.ORG/ver20/backchannel"}, supported).empty());
    CHECK(unsupported_options({"www.onvif.org/ver20/backchannel", "funky"}, supported) == std::vector<std::string>{"funky"});
  }
}

TEST_CASE("DigestAuth") {
  SUBCASE("digests against known values (RFC 7616 §3.9.1's example)") {
    // RFC 7616's worked example: user Mufasa, password "Circle of Life", qop=auth.
    const char* nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const char* cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    CHECK(digest_response(DigestAlgorithm::md5, "Mufasa", "http-auth@example.org", "Circle of Life", "GET", "/dir/index.html",
                          nonce, "00000001", cnonce, "auth") == "8ca523f5e9506fed4657c9700eebdbec");
    CHECK(digest_response(DigestAlgorithm::sha256, "Mufasa", "http-auth@example.org", "Circle of Life", "GET",
                          "/dir/index.html", nonce, "00000001", cnonce,
                          "auth") == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  }
  SUBCASE("challenge, answer, wrong password, unknown and stale nonces, misuse") {
    DigestAuth auth({.realm = "cam", .user = "admin", .password = "secret"});
    const auto ch = auth.challenge(0, false);
    REQUIRE(ch.size() == 2);
    CHECK(ch[0].find("algorithm=SHA-256") != std::string::npos);
    CHECK(ch[1].find("algorithm=MD5") != std::string::npos);
    const auto params = parse_digest_params(ch[0]);
    REQUIRE(params);
    const auto nonce = params->at("nonce");
    CHECK(nonce.size() == 32);
    CHECK(parse_digest_params(auth.challenge(0, false)[0])->at("nonce") != nonce);  // fresh each time
    CHECK(auth.challenge(0, true)[0].find("stale=TRUE") != std::string::npos);
    const std::string uri = "rtsp://127.0.0.1/live";
    const auto header = [&](DigestAlgorithm a, const std::string& password, const std::string& n, const std::string& u) {
      return "Digest username=\"admin\", realm=\"cam\", nonce=\"" + n + "\", uri=\"" + u + "\", response=\"" +
             digest_response(a, "admin", "cam", password, "DESCRIBE", u, n) + "\", algorithm=" + to_string(a);
    };
    using V = DigestAuth::Verdict;
    CHECK(auth.verify(header(DigestAlgorithm::md5, "secret", nonce, uri), "DESCRIBE", uri, 1000) == V::ok);
    CHECK(auth.verify(header(DigestAlgorithm::sha256, "secret", nonce, uri), "DESCRIBE", uri, 1000) == V::ok);
    CHECK(auth.verify(header(DigestAlgorithm::md5, "Secret", nonce, uri), "DESCRIBE", uri, 1000) == V::wrong_user_or_password);
    CHECK(auth.verify(header(DigestAlgorithm::md5, "secret", nonce, uri), "SETUP", uri, 1000) == V::wrong_user_or_password);
    CHECK(auth.verify(header(DigestAlgorithm::md5, "secret", std::string(32, '0'), uri), "DESCRIBE", uri, 1000) ==
          V::unknown_nonce);
    CHECK(auth.verify(header(DigestAlgorithm::md5, "secret", nonce, uri + "/x"), "DESCRIBE", uri, 1000) == V::wrong_uri);
    CHECK(auth.verify(header(DigestAlgorithm::md5, "secret", nonce, uri), "DESCRIBE", uri, 61'000'000) == V::stale_nonce);
    CHECK(auth.verify(std::nullopt, "DESCRIBE", uri, 0) == V::missing);
    CHECK(auth.verify("Basic YWRtaW46c2VjcmV0", "DESCRIBE", uri, 0) == V::malformed);
    CHECK(auth.verify("Digest username=\"admin\", nonce=\"unterminated", "DESCRIBE", uri, 0) == V::malformed);
    CHECK(auth.verify(header(DigestAlgorithm::md5, "secret", nonce, uri) + ", qop=auth", "DESCRIBE", uri, 0) ==
          V::malformed);  // qop without nc and cnonce
    DigestAuth md5_only({.user = "u", .password = "p", .algorithms = {DigestAlgorithm::md5}});
    CHECK(md5_only.challenge(0, false).size() == 1);
  }
  SUBCASE("parameters: quoting, escapes, duplicates") {
    const auto p = parse_digest_params(R"(Digest username="a\"b", realm=r, nc=00000001 , uri="x,y")");
    REQUIRE(p);
    CHECK(p->at("username") == "a\"b");
    CHECK(p->at("realm") == "r");
    CHECK(p->at("nc") == "00000001");
    CHECK(p->at("uri") == "x,y");
    CHECK_FALSE(parse_digest_params("Digest a=1, a=2"));
    CHECK_FALSE(parse_digest_params("Digest a=1 b=2"));
    CHECK_FALSE(parse_digest_params("Digestive a=1"));
  }
}
