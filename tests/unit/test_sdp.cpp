#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "pttcam/sdp/description.hpp"

using namespace pttcam::sdp;

namespace {

std::string read_vector(const std::string& name) {
  std::ifstream in(std::string(PTTCAM_SDP_DATA_DIR) + "/" + name, std::ios::binary);
  REQUIRE_MESSAGE(in, "missing test vector " << name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string lf_to_crlf(const std::string& lf) {
  std::string out;
  for (char c : lf) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return out;
}

Description must_parse(std::string_view text) {
  auto r = parse_sdp(text);
  INFO(text);
  REQUIRE_MESSAGE(r, r.error.message());
  return *r.description;
}

std::string error_of(std::string_view text) {
  const auto r = parse_sdp(text);
  if (r) return "(parsed)";
  return r.error.message();
}

PttcamStream client_stream() {
  PttcamStream s;
  s.address = "127.0.0.1";
  s.port = 5004;
  return s;
}

}  // namespace

TEST_CASE("write_sdp") {
  SUBCASE("pttcam's stream, exact text with CRLF") {
    CHECK(write_sdp(describe(client_stream())) ==
          lf_to_crlf("v=0\n"
                     "o=- 0 0 IN IP4 127.0.0.1\n"
                     "s=pttcam\n"
                     "c=IN IP4 127.0.0.1\n"
                     "t=0 0\n"
                     "m=audio 5004 RTP/AVP 111\n"
                     "a=rtpmap:111 opus/48000/2\n"
                     "a=fmtp:111 maxplaybackrate=48000; sprop-maxcapturerate=48000; stereo=0; sprop-stereo=0; "
                     "useinbandfec=1; usedtx=0\n"
                     "a=ptime:20\n"
                     "a=rtcp-mux\n"
                     "a=sendonly\n"));
  }
  SUBCASE("with RFC 2198 redundancy, IPv6, receiving, 2.5 ms packets") {
    auto s = client_stream();
    s.family = AddressFamily::ip6;
    s.address = "::1";
    s.opus_payload_type = 96;
    s.red_payload_type = 63;
    s.red_copies = 2;
    s.ptime_ms = 2.5;
    s.max_average_bitrate = 24000;
    s.dtx = true;
    s.direction = Direction::recvonly;
    s.session_id = 3942345600;
    CHECK(write_sdp(describe(s)) ==
          lf_to_crlf("v=0\n"
                     "o=- 3942345600 0 IN IP6 ::1\n"
                     "s=pttcam\n"
                     "c=IN IP6 ::1\n"
                     "t=0 0\n"
                     "m=audio 5004 RTP/AVP 96 63\n"
                     "a=rtpmap:63 red/48000/2\n"
                     "a=fmtp:63 96/96/96\n"
                     "a=rtpmap:96 opus/48000/2\n"
                     "a=fmtp:96 maxplaybackrate=48000; sprop-maxcapturerate=48000; maxaveragebitrate=24000; "
                     "stereo=0; sprop-stereo=0; useinbandfec=1; usedtx=1\n"
                     "a=ptime:2.5\n"
                     "a=rtcp-mux\n"
                     "a=recvonly\n"));
  }
  SUBCASE("a=rtcp with and without an address; no direction, no fmtp") {
    Description d;
    d.address = "192.0.2.7";
    d.port = 40000;
    d.opus.payload_type = 97;
    d.rtcp = RtcpAttribute{40001, AddressFamily::ip4, "192.0.2.8"};
    const auto text = write_sdp(d);
    CHECK(text.find("a=rtcp:40001 IN IP4 192.0.2.8\r\n") != std::string::npos);
    CHECK(text.find("a=fmtp") == std::string::npos);
    CHECK(text.find("a=send") == std::string::npos);
    d.rtcp = RtcpAttribute{40001, std::nullopt, ""};
    CHECK(write_sdp(d).find("a=rtcp:40001\r\n") != std::string::npos);
  }
  SUBCASE("what cannot be written is refused with the reason") {
    const auto refused = [](Description d) -> std::string {
      try {
        write_sdp(d);
      } catch (const std::invalid_argument& e) {
        return e.what();
      }
      return "(written)";
    };
    const auto good = describe(client_stream());
    auto d = good;
    d.port = 0;
    CHECK(refused(d) == "cannot write SDP: the media port must not be 0");
    d = good;
    d.address = "camera.local";
    CHECK(refused(d) == "cannot write SDP: the address must be numeric and match IP4/IP6");
    d = good;
    d.family = AddressFamily::ip6;
    CHECK(refused(d) == "cannot write SDP: the address must be numeric and match IP4/IP6");
    d = good;
    d.red = RedFormat{111, 48000, 2, {}};
    CHECK(refused(d) == "cannot write SDP: RED and Opus need different payload types");
    d = good;
    d.opus.payload_type = 128;
    CHECK(refused(d) == "cannot write SDP: the Opus payload type must be 0..127");
    d = good;
    d.session_name = "two\r\nlines";
    CHECK(refused(d) == "cannot write SDP: the session name must be one line");
    d = good;
    d.ptime_ms = 0;
    CHECK(refused(d) == "cannot write SDP: a=ptime must be 0.001..60000 ms");
  }
}

TEST_CASE("parse_sdp: what ffmpeg and GStreamer write") {
  struct Row {
    const char* file;
    std::uint8_t payload_type;
    AddressFamily family;
    const char* address;
    std::uint16_t port;
    std::optional<bool> sprop_stereo;
    std::optional<std::uint32_t> sprop_maxcapturerate;
  };
  const Row rows[] = {
      {"ffmpeg-5.1-default.sdp", 97, AddressFamily::ip4, "127.0.0.1", 5004, std::nullopt, std::nullopt},
      {"ffmpeg-5.1-stereo.sdp", 97, AddressFamily::ip4, "127.0.0.1", 5008, true, std::nullopt},
      {"ffmpeg-5.1-ipv6-pt111.sdp", 111, AddressFamily::ip6, "::1", 5006, std::nullopt, std::nullopt},
      {"gstreamer-1.22-rtpopuspay-default.sdp", 96, AddressFamily::ip4, "127.0.0.1", 5004, false, 48000},
      {"gstreamer-1.22-rtpopuspay-pt100-ipv6.sdp", 100, AddressFamily::ip6, "::1", 6000, true, 48000},
  };
  for (const auto& row : rows) {
    CAPTURE(row.file);
    const auto text = read_vector(row.file);
    const auto d = must_parse(text);
    CHECK(d.opus.payload_type == row.payload_type);
    CHECK(d.opus.clock_rate == 48000);
    CHECK(d.opus.channels == 2);
    CHECK(d.family == row.family);
    CHECK(d.address == row.address);
    CHECK(d.port == row.port);
    CHECK(d.protocol == "RTP/AVP");
    CHECK(d.opus.parameters.sprop_stereo == row.sprop_stereo);
    CHECK(d.opus.parameters.sprop_maxcapturerate == row.sprop_maxcapturerate);
    CHECK(!d.red);
    CHECK(!d.rtcp_mux);
    CHECK(!d.direction);
    // What we read, we can write, and it reads back the same.
    CHECK(must_parse(write_sdp(d)) == d);
  }
}

TEST_CASE("parse_sdp: tolerance and choice of stream") {
  SUBCASE("our own output reads back to the same model") {
    for (const bool red : {false, true}) {
      auto s = client_stream();
      if (red) s.red_payload_type = 63;
      const auto d = describe(s);
      CHECK(must_parse(write_sdp(d)) == d);
    }
  }
  SUBCASE("LF-only line ends, a blank last line, unknown lines and attributes") {
    const auto d = must_parse(
        "v=0\no=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\ns=Talk\ni=not used\nu=http://example.com/\n"
        "c=IN IP4 224.2.17.12/127\nb=AS:64\nt=0 0\nr=7d 1h 0 25h\nx=not a type we know\na=tool:something\n"
        "m=audio 49170 RTP/AVP 98\na=rtpmap:98 opus/48000/2\na=mid:0\na=ssrc:1 cname:x\n\n");
    CHECK(d.address == "224.2.17.12");
    CHECK(d.port == 49170);
    CHECK(d.opus.payload_type == 98);
    CHECK(d.origin_username == "jdoe");
    CHECK(d.session_id == 2890844526u);
    CHECK(d.session_name == "Talk");
  }
  SUBCASE("the first audio m-line with Opus wins, with its RED; media c= and direction override") {
    const auto d = must_parse(lf_to_crlf(
        "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\na=recvonly\n"
        "m=video 51372 RTP/AVP 99\na=rtpmap:99 opus/48000/2\n"           // not audio
        "m=audio 0 RTP/AVP 111\na=rtpmap:111 opus/48000/2\n"             // disabled
        "m=audio 49000 RTP/AVP 0 8\n"                                    // no Opus
        "m=audio 49172 RTP/AVPF 0 109 62 63 110\nc=IN IP6 2001:db8::5\n"
        "a=rtpmap:109 OPUS/48000/2\na=fmtp:109 minptime=10;useinbandfec=1; Stereo=1 ;x-vendor=7\n"
        "a=rtpmap:62 red/48000/2\na=fmtp:62 0/0\n"                       // RED over another format
        "a=rtpmap:63 RED/48000/2\na=fmtp:63 109/109\n"
        "a=rtpmap:110 opus/48000/2\n"                                    // a second Opus: not chosen
        "a=ptime:20\na=maxptime:120\na=sendonly\na=rtcp-mux\na=rtcp:49173 IN IP6 2001:db8::6\n"
        "m=audio 49174 RTP/AVP 111\na=rtpmap:111 opus/48000/2\n"));
    CHECK(d.port == 49172);
    CHECK(d.protocol == "RTP/AVPF");
    CHECK(d.family == AddressFamily::ip6);
    CHECK(d.address == "2001:db8::5");
    CHECK(d.opus.payload_type == 109);
    CHECK(d.opus.parameters.minptime == 10.0);
    CHECK(d.opus.parameters.useinbandfec == true);
    CHECK(d.opus.parameters.stereo == true);
    REQUIRE(d.red);
    CHECK(d.red->payload_type == 63);
    CHECK(d.red->block_payload_types == std::vector<std::uint8_t>{109, 109});
    CHECK(d.ptime_ms == 20.0);
    CHECK(d.maxptime_ms == 120.0);
    CHECK(d.direction == Direction::sendonly);
    CHECK(d.rtcp_mux);
    REQUIRE(d.rtcp);
    CHECK(d.rtcp->port == 49173);
    CHECK(d.rtcp->family == AddressFamily::ip6);
    CHECK(d.rtcp->address == "2001:db8::6");
  }
  SUBCASE("session-level direction and connection apply to the stream") {
    const auto d = must_parse("v=0\nc=IN IP4 0.0.0.0\na=inactive\nm=audio 7 RTP/AVP 96\na=rtpmap:96 opus/48000\n");
    CHECK(d.direction == Direction::inactive);
    CHECK(d.session_name.empty());  // no s= line: not "pttcam"
    CHECK(d.address == "0.0.0.0");
    CHECK(d.opus.channels == 2);  // "opus/48000" without channels: the RFC's 2
  }
  SUBCASE("every RFC 7587 fmtp parameter") {
    const auto d = must_parse(
        "v=0\nc=IN IP4 10.0.0.1\nm=audio 5000 RTP/AVP 120\na=rtpmap:120 opus/48000/2\n"
        "a=fmtp:120 maxplaybackrate=16000; sprop-maxcapturerate=16000; maxaveragebitrate=20000; minptime=2.5; "
        "stereo=0; sprop-stereo=1; cbr=1; useinbandfec=0; usedtx=1; ptime=40\n");
    const auto& p = d.opus.parameters;
    CHECK(p.maxplaybackrate == 16000u);
    CHECK(p.sprop_maxcapturerate == 16000u);
    CHECK(p.maxaveragebitrate == 20000u);
    CHECK(p.minptime == 2.5);
    CHECK(p.stereo == false);
    CHECK(p.sprop_stereo == true);
    CHECK(p.cbr == true);
    CHECK(p.useinbandfec == false);
    CHECK(p.usedtx == true);
    CHECK(!d.ptime_ms);  // ptime in fmtp is not the media attribute
  }
}

TEST_CASE("parse_sdp: errors name the line and the reason") {
  const std::string head = "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n";
  const std::string opus = "a=rtpmap:96 opus/48000/2\n";
  struct Row {
    std::string text;
    const char* error;
  };
  const Row rows[] = {
      {"", "empty: no v=0 line"},
      {"\r\n\n", "empty: no v=0 line"},
      {"v=1\n", "line 1: an SDP starts with v=0, not \"v=1\""},
      {"o=- 0 0 IN IP4 1.2.3.4\nv=0\n", "line 1: an SDP starts with v=0, not \"o=- 0 0 IN IP4 1.2.3.4\""},
      {"v=0\nhello\n", "line 2: \"hello\" is not a TYPE=VALUE line"},
      {"v=0\nA=b\n", "line 2: \"A=b\" is not a TYPE=VALUE line"},
      {"v=0\ns=a\rb\n", "line 2: a CR or NUL inside the line (RFC 8866 text never holds one)"},
      {std::string("v=0\ns=a\0b\n", 10), "line 2: a CR or NUL inside the line (RFC 8866 text never holds one)"},
      {head, "no audio m-line offers opus"},
      {head + "m=audio 5004 RTP/AVP 0\n", "no audio m-line offers opus"},
      {head + "m=audio 5004 RTP/AVP 96\na=rtpmap:96 PCMU/8000\n", "no audio m-line offers opus"},
      {head + "m=audio 0 RTP/AVP 96\n" + opus, "line 6: the Opus stream is disabled (port 0)"},
      {head + "m=audio 70000 RTP/AVP 96\n" + opus, "line 6: port \"70000\" is not a number 0..65535"},
      {head + "m=audio 5004 RTP/SAVP 96\n" + opus, "line 6: transport \"RTP/SAVP\" is not RTP/AVP or RTP/AVPF"},
      {head + "m=audio 5004\n", "line 6: m= line \"m=audio 5004\": expected \"MEDIA PORT PROTO FORMAT...\""},
      {"v=0\nm=audio 5004 RTP/AVP 96\n" + opus, "line 2: no c= line for the audio stream (session or media level)"},
      {"v=0\nc=IN IP4 camera.local\n", "line 2: c= \"camera.local\" is not a numeric IP4 address"},
      {"v=0\nc=IN IP6 127.0.0.1\n", "line 2: c= \"127.0.0.1\" is not a numeric IP6 address"},
      {"v=0\nc=IN IP5 ::1\n", "line 2: c= address type \"IP5\" is not IP4 or IP6"},
      {"v=0\nc=ATM NSAP x\n", "line 2: c= network type \"ATM\" is not IN"},
      {"v=0\nc=IN IP4\n", "line 2: c= expected \"IN IP4|IP6 ADDRESS\""},
      {head + "m=audio 5004 RTP/AVP 96\nc=IN IP4 1.2.3\n" + opus, "line 7: c= \"1.2.3\" is not a numeric IP4 address"},
      {head + "m=audio 5004 RTP/AVP 96\na=rtpmap:96 opus/16000/2\n",
       "line 7: clock rate 16000 for opus (RFC 7587: always 48000)"},
      {head + "m=audio 5004 RTP/AVP 96\na=rtpmap:96 opus/48000/6\n",
       "line 7: channel count \"6\" (expected 2, or 1 from some writers)"},
      {head + "m=audio 5004 RTP/AVP 96\na=rtpmap:96 opus/x\n", "line 7: rtpmap \"opus\" has no clock rate"},
      {head + "m=audio 5004 RTP/AVP 96\n" + opus + "a=fmtp:96 useinbandfec=yes\n",
       "line 8: Opus parameter useinbandfec=\"yes\": expected 0 or 1"},
      {head + "m=audio 5004 RTP/AVP 96\n" + opus + "a=fmtp:96 maxaveragebitrate=1000\n",
       "line 8: Opus parameter maxaveragebitrate=\"1000\": expected 6000..510000"},
      {head + "m=audio 5004 RTP/AVP 96\n" + opus + "a=fmtp:96 minptime=-5\n",
       "line 8: Opus parameter minptime=\"-5\": expected a duration in ms"},
      {head + "m=audio 5004 RTP/AVP 96 63\n" + opus + "a=rtpmap:63 red/48000/2\na=fmtp:63 96//96\n",
       "line 9: RED fmtp \"96//96\": expected PT/PT/... (RFC 2198 §5)"},
      {head + "m=audio 5004 RTP/AVP 96 63\n" + opus + "a=rtpmap:63 red/8000\n",
       "line 8: clock rate 8000 for red (RFC 7587: always 48000)"},
      {head + "m=audio 5004 RTP/AVP 96\n" + opus + "a=ptime:twenty\n", "line 8: a=ptime needs a duration in ms"},
      {head + "m=audio 5004 RTP/AVP 96\n" + opus + "a=ptime\n", "line 8: a=ptime needs a duration in ms"},
      {head + "m=audio 5004 RTP/AVP 96\n" + opus + "a=rtcp:0\n", "line 8: a=rtcp port \"0\" is not 1..65535"},
      {head + "m=audio 5004 RTP/AVP 96\n" + opus + "a=rtcp:5005 IN IP4 ::1\n",
       "line 8: a=rtcp \"::1\" is not a numeric IP4 address"},
      {head + "m=audio 5004 RTP/AVP 300\na=rtpmap:300 opus/48000/2\n",
       "line 6: payload type \"300\" is not a number 0..127"},
      {std::string(kMaxSdpBytes + 1, 'v'), "larger than 65536 bytes"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    CHECK(error_of(row.text) == row.error);
  }
}
