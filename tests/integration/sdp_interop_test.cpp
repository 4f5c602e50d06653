// The SDP pttcam writes is all a standard receiver needs: ffmpeg (`-i ours.sdp`) and GStreamer
// (`filesrc ! sdpdemux`) each receive and decode an RTP/Opus stream that the *other* tool sends,
// described only by an SDP from write_sdp(). And the SDP ffmpeg writes for its own stream, today,
// parses with parse_sdp(). No pttcam binary is involved: this is the groundwork for --sdp/--sdp-out.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "process.hpp"
#include "pttcam/net/asio.hpp"
#include "pttcam/sdp/description.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;
namespace sdp = pttcam::sdp;

namespace {

constexpr const char* kFfmpeg = "/usr/bin/ffmpeg";
constexpr const char* kGstLaunch = "/usr/bin/gst-launch-1.0";
constexpr int kToneHz = 440;

// A free even UDP port whose successor is free too: ffmpeg and sdpdemux bind PORT and PORT+1 (RTCP,
// they ignore a=rtcp-mux). Checked on the IPv4 and IPv6 wildcard addresses, where the tools bind;
// each probe is closed before the tool starts, so another process could take the port in between
// (then the tool fails to bind and the test fails loudly, it does not hang).
unsigned short free_port_pair() {
  using boost::asio::ip::udp;
  boost::asio::io_context io;
  const auto bindable = [&](udp protocol, unsigned short port) {
    boost::system::error_code ec;
    udp::socket s(io);
    s.open(protocol, ec);
    if (!ec) s.bind(udp::endpoint(protocol, port), ec);
    return !ec;
  };
  for (int attempt = 0; attempt < 100; ++attempt) {
    unsigned short port = 0;
    {
      udp::socket probe(io, udp::endpoint(udp::v4(), 0));
      port = probe.local_endpoint().port();
    }
    if (port % 2 != 0 || port == 65534) continue;
    const auto next = static_cast<unsigned short>(port + 1);
    if (bindable(udp::v4(), port) && bindable(udp::v4(), next) && bindable(udp::v6(), port) &&
        bindable(udp::v6(), next))
      return port;
  }
  FAIL("no free UDP port pair");
  return 0;
}

// True once some socket is bound to UDP `port` (IPv4 or IPv6), per /proc/net/udp{,6}: the
// receiver is ready when its socket exists, not after a guessed sleep.
bool udp_port_bound(unsigned short port) {
  char hex[8];
  std::snprintf(hex, sizeof hex, ":%04X", port);
  for (const char* table : {"/proc/net/udp", "/proc/net/udp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local;
      fields >> slot >> local;
      if (local.size() > 5 && local.compare(local.size() - 5, 5, hex) == 0) return true;
    }
  }
  return false;
}

bool wait_bound(unsigned short port, Process& owner, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (udp_port_bound(port)) return true;
    if (!owner.running()) return false;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

bool wait_size(const fs::path& path, std::uintmax_t bytes, Process& owner, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    if (fs::exists(path, ec) && fs::file_size(path, ec) >= bytes) return true;
    if (!owner.running()) return false;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

struct Tone {
  double seconds = 0;  // of 10 ms windows that carry signal
  double hz = 0;       // from zero crossings over those windows
};

// The decoded audio's audible part and its frequency: a sine sent through Opus comes back as the
// same sine, so a wrong decoder setup (rate, channels, payload) shows as a wrong pitch or silence.
Tone measure_tone(const std::vector<float>& samples) {
  constexpr std::size_t kWindow = 480;
  std::size_t windows = 0, crossings = 0;
  for (std::size_t at = 0; at + kWindow <= samples.size(); at += kWindow) {
    double energy = 0;
    for (std::size_t i = at; i < at + kWindow; ++i) energy += samples[i] * samples[i];
    if (std::sqrt(energy / kWindow) < 0.02) continue;
    ++windows;
    for (std::size_t i = at + 1; i < at + kWindow; ++i) crossings += (samples[i - 1] < 0) != (samples[i] < 0);
  }
  Tone t;
  t.seconds = windows * 0.01;
  t.hz = t.seconds > 0 ? crossings / (2 * t.seconds) : 0;
  return t;
}

sdp::PttcamStream stream_to(unsigned short port, bool redundancy, bool ipv6 = false) {
  sdp::PttcamStream s;
  s.family = ipv6 ? sdp::AddressFamily::ip6 : sdp::AddressFamily::ip4;
  s.address = ipv6 ? "::1" : "127.0.0.1";
  s.port = port;
  s.opus_payload_type = redundancy ? 96 : 111;  // any dynamic type must do
  if (redundancy) s.red_payload_type = 63;
  s.direction = sdp::Direction::sendonly;
  return s;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace

TEST_CASE("ffmpeg receives and decodes a stream described by pttcam's SDP") {
  bool redundancy = false;
  bool ipv6 = false;
  SUBCASE("Opus on payload type 111") {}
  SUBCASE("Opus on 96 with RED 63 listed") { redundancy = true; }
  SUBCASE("over IPv6") { ipv6 = true; }
  const auto dir = scratch_dir(redundancy ? "sdp_ffmpeg_red" : ipv6 ? "sdp_ffmpeg_ipv6" : "sdp_ffmpeg");
  const auto port = free_port_pair();
  const auto stream = stream_to(port, redundancy, ipv6);
  write_text(dir / "ours.sdp", sdp::write_sdp(sdp::describe(stream)));

  Process ffmpeg({kFfmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning", "-protocol_whitelist", "file,udp,rtp",
                  "-i", (dir / "ours.sdp").string(), "-t", "2", "-ac", "1", "-ar", "48000", "-f", "f32le", "-y",
                  (dir / "ffmpeg.f32").string()},
                 dir / "ffmpeg.log");
  REQUIRE_MESSAGE(wait_bound(port, ffmpeg, 30s), "ffmpeg never bound its port: " << ffmpeg.output());
  // GStreamer sends 5 s of a 440 Hz tone at the SDP's payload type; ffmpeg stops after 2 s of it.
  Process gst({kGstLaunch, "-q", "audiotestsrc", "is-live=true", "freq=" + std::to_string(kToneHz),
               "samplesperbuffer=960", "num-buffers=250", "!", "audio/x-raw,rate=48000,channels=1", "!", "opusenc",
               "!", "rtpopuspay", "pt=" + std::to_string(stream.opus_payload_type), "!", "udpsink",
               "host=" + stream.address, "port=" + std::to_string(port)},
              dir / "gst-send.log");
  const auto ffmpeg_exit = ffmpeg.wait(60s);
  INFO("ffmpeg: " << ffmpeg.output());
  INFO("SDP:\n" << read_text(dir / "ours.sdp"));
  REQUIRE(ffmpeg_exit == 0);
  gst.wait(30s);
  const auto tone = measure_tone(read_f32(dir / "ffmpeg.f32"));
  MESSAGE("ffmpeg decoded " << tone.seconds << " s of tone at " << tone.hz << " Hz");
  CHECK(tone.seconds >= 1.5);
  CHECK(std::abs(tone.hz - kToneHz) < kToneHz * 0.05);
}

TEST_CASE("GStreamer sdpdemux receives and decodes a stream described by pttcam's SDP") {
  bool redundancy = false;
  SUBCASE("Opus on payload type 111") {}
  SUBCASE("Opus on 96 with RED 63 listed") { redundancy = true; }
  const auto dir = scratch_dir(redundancy ? "sdp_gst_red" : "sdp_gst");
  const auto port = free_port_pair();
  const auto stream = stream_to(port, redundancy);
  write_text(dir / "ours.sdp", sdp::write_sdp(sdp::describe(stream)));

  const auto out = dir / "gst.f32";
  Process gst({kGstLaunch, "-e", "filesrc", "location=" + (dir / "ours.sdp").string(), "!", "sdpdemux", "!",
               "rtpopusdepay", "!", "opusdec", "!", "audioconvert", "!", "audioresample", "!",
               "audio/x-raw,format=F32LE,rate=48000,channels=1", "!", "filesink", "location=" + out.string()},
              dir / "gst.log");
  REQUIRE_MESSAGE(wait_bound(port, gst, 30s), "sdpdemux never bound its port: " << gst.output());
  // ffmpeg sends 4 s of a 440 Hz tone at the SDP's payload type (its RTP muxer's own defaults otherwise).
  Process ffmpeg({kFfmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning", "-re", "-f", "lavfi", "-i",
                  "sine=frequency=" + std::to_string(kToneHz) + ":sample_rate=48000", "-t", "4", "-ac", "1", "-c:a",
                  "libopus", "-payload_type", std::to_string(stream.opus_payload_type), "-f", "rtp",
                  "rtp://127.0.0.1:" + std::to_string(port)},
                 dir / "ffmpeg-send.log");
  // 2 s of decoded audio, then end the pipeline cleanly (EOS through -e) so the file is complete.
  const bool enough = wait_size(out, 2 * 48000 * sizeof(float), gst, 60s);
  INFO("gst: " << gst.output());
  INFO("ffmpeg sender: " << ffmpeg.output());
  INFO("SDP:\n" << read_text(dir / "ours.sdp"));
  REQUIRE(enough);
  REQUIRE(ffmpeg.wait(60s) == 0);
  gst.signal(SIGINT);
  CHECK(gst.wait(30s) == 0);
  const auto tone = measure_tone(read_f32(out));
  MESSAGE("sdpdemux decoded " << tone.seconds << " s of tone at " << tone.hz << " Hz");
  CHECK(tone.seconds >= 1.5);
  CHECK(std::abs(tone.hz - kToneHz) < kToneHz * 0.05);
}

TEST_CASE("parse_sdp reads the SDP ffmpeg writes for its own RTP stream") {
  // ffmpeg's defaults: payload type 97, its SDP on a file. The stream itself goes nowhere useful
  // (a free port nobody reads), only the SDP matters.
  const auto dir = scratch_dir("sdp_from_ffmpeg");
  const auto port = free_port_pair();
  Process ffmpeg({kFfmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning", "-f", "lavfi", "-i", "sine", "-t",
                  "0.2", "-c:a", "libopus", "-f", "rtp", "rtp://127.0.0.1:" + std::to_string(port), "-sdp_file",
                  (dir / "ffmpeg.sdp").string()},
                 dir / "ffmpeg.log");
  REQUIRE_MESSAGE(ffmpeg.wait(60s) == 0, ffmpeg.output());
  const auto text = read_text(dir / "ffmpeg.sdp");
  INFO(text);
  const auto parsed = sdp::parse_sdp(text);
  REQUIRE_MESSAGE(parsed, parsed.error.message());
  CHECK(parsed.description->opus.payload_type == 97);
  CHECK(parsed.description->address == "127.0.0.1");
  CHECK(parsed.description->port == port);
  CHECK(parsed.description->family == sdp::AddressFamily::ip4);
}
