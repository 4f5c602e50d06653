// Standard tools on the other end: GStreamer receives and decodes ptt-client's stream, and
// camera-sim plays a stream that GStreamer's RTP/Opus payloader sends. Proves the wire format
// is plain RFC 3550 + RFC 7587, and that our header extensions do not get in anyone's way.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <fstream>

#include "process.hpp"
#include "pttcam/audio/sndfile.hpp"
#include "pttcam/net/asio.hpp"
#include "talk_check.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;

namespace {

unsigned short free_udp_port() {
  boost::asio::io_context io;
  boost::asio::ip::udp::socket s(io, boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return s.local_endpoint().port();
}

}  // namespace

TEST_CASE("GStreamer receives and decodes ptt-client's RTP/Opus stream") {
  // Plain Opus (payload type 111), and with RFC 2198 redundancy (payload type 63), which
  // GStreamer's rtpreddec unpacks: the copies' layout is what standard receivers expect.
  bool redundancy = false;
  SUBCASE("plain Opus") {}
  SUBCASE("RFC 2198 redundancy") { redundancy = true; }
  const auto dir = scratch_dir(redundancy ? "interop_gst_receive_red" : "interop_gst_receive");
  const auto port = std::to_string(free_udp_port());
  std::vector<std::string> pipeline{"/usr/bin/gst-launch-1.0", "-q", "udpsrc", "address=127.0.0.1", "port=" + port,
                                    "caps=application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=111", "!"};
  if (redundancy) pipeline.insert(pipeline.end(), {"rtpreddec", "pt=63", "!"});
  pipeline.insert(pipeline.end(), {"rtpjitterbuffer", "!", "rtpopusdepay", "!", "opusdec", "!", "audioconvert", "!",
                                   "audioresample", "!", "audio/x-raw,format=F32LE,rate=48000,channels=1", "!", "filesink",
                                   "location=" + (dir / "gst.f32").string()});
  Process gst(pipeline, dir / "gst.log");
  // udpsrc has no ready signal; ptt-client's first press at 0.5 s leaves it ample time to bind.
  Process client({PTTCAM_CLIENT_BIN, "--insecure", "--camera", "127.0.0.1:" + port, "--input",
                  std::string("wav:") + PTTCAM_SPEECH_WAV, "--talk-script", "0.5+2.0", "--bitrate", "64000",
                  "--no-session", "--speaker", "null", "--redundancy", redundancy ? "1" : "0", "--summary",
                  (dir / "client.json").string()},
                 dir / "client.log");
  REQUIRE(client.wait(30s) == 0);
  REQUIRE_MESSAGE(gst.running(), gst.output());
  const auto sent = nlohmann::json::parse(read_text(dir / "client.json"));
  // Every packet but the burst's first carried a copy of the frame before it.
  CHECK(sent["redundant_copies"].get<long>() == (redundancy ? sent["frames_sent"].get<long>() - 1 : 0));
  // Everything sent has been received by now on loopback, except what the jitter buffer holds.
  std::this_thread::sleep_for(300ms);
  gst.signal(SIGINT);
  gst.wait(10s);
  const auto decoded = read_f32(dir / "gst.f32");
  INFO("gst: " << gst.output());
  REQUIRE(decoded.size() > 48000);  // at least a second of the 2 s burst
  // The decoded audio is the speech the client captured: find a 1 s piece of it.
  const auto input = pttcam::audio::read_mono_48k(PTTCAM_SPEECH_WAV);
  const std::span<const float> piece(decoded.data() + 24000, 48000);
  const auto a = pttcam::dsp::align(piece, input, 0, static_cast<long>(input.size()) - 48000);
  MESSAGE("GStreamer-decoded speech vs input: correlation " << a.correlation << " at input sample " << a.lag);
  CHECK(a.correlation > 0.8);
}

TEST_CASE("camera-sim plays a stream sent by GStreamer's rtpopuspay") {
  const auto dir = scratch_dir("interop_gst_send");
  Process camera({PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(), "--output",
                  "wav:" + (dir / "speaker.wav").string(), "--mic", "none", "--no-session", "--summary",
                  (dir / "camera.json").string()},
                 dir / "camera.log");
  REQUIRE(wait_for_file(dir / "port", camera, 10s));
  const auto port = std::to_string(std::stoi(read_text(dir / "port")));
  // One second of a 1 kHz tone (50 buffers of 960 samples), then EOS.
  Process gst({"/usr/bin/gst-launch-1.0", "-q", "audiotestsrc", "wave=sine", "freq=1000", "volume=0.5",
               "num-buffers=50", "samplesperbuffer=960", "!", "audio/x-raw,rate=48000,channels=1", "!", "opusenc",
               "!", "rtpopuspay", "pt=111", "!", "udpsink", "host=127.0.0.1", "port=" + port, "sync=true"},
              dir / "gst.log");
  REQUIRE_MESSAGE(gst.wait(30s) == 0, gst.output());
  // Standard senders mark no burst end: the camera ends the burst after 100 ms of concealment.
  std::this_thread::sleep_for(500ms);
  camera.signal(SIGTERM);
  REQUIRE(camera.wait(10s) == 0);
  const auto s = nlohmann::json::parse(read_text(dir / "camera.json"));
  INFO(s.dump());
  CHECK(s["malformed"] == 0);
  CHECK(s["bursts"] == 1);
  CHECK(s["frames_normal"].get<int>() >= 45);
  // The speaker played the tone: a 1 kHz sine correlates with what was recorded.
  const auto out = pttcam::audio::read_mono_48k(dir / "speaker.wav");
  std::vector<float> tone(4800);
  for (std::size_t i = 0; i < tone.size(); ++i) tone[i] = static_cast<float>(std::sin(2 * M_PI * 1000.0 * i / 48000));
  const auto a = pttcam::dsp::align(tone, out, 0, static_cast<long>(out.size() - tone.size()));
  MESSAGE("tone found in the speaker output with correlation " << a.correlation);
  CHECK(a.correlation > 0.9);
}
