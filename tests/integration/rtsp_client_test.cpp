// ptt-client --camera rtsp://... against RTSP cameras: camera-sim --rtsp (with and without Digest
// authentication), GStreamer's own ONVIF backchannel server (gst-rtsp-server's
// RTSPOnvifServer, tests/integration/gst_onvif_server.py) and a plain gst-rtsp-server that has no
// backchannel. The speech ptt-client sends must be in what the camera wrote.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <boost/asio/ip/tcp.hpp>

#include "camera_process.hpp"
#include "process.hpp"
#include "pttcam/audio/sndfile.hpp"
#include "pttcam/dsp/align.hpp"
#include "speech_check.hpp"
#include "talk_check.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;

namespace {

constexpr double kTalkSeconds = 4;

// ptt-client talking for kTalkSeconds with the speech WAV as its microphone.
struct Talker {
  Talker(const fs::path& dir, const std::string& url, const std::string& transport = "udp",
         const std::string& script = "0+" + std::to_string(kTalkSeconds))
      : process(args(dir, url, transport, script), dir / "client.log") {}
  static std::vector<std::string> args(const fs::path& dir, const std::string& url, const std::string& transport,
                                       const std::string& script) {
    // 64 kbit/s: the test is about the path, and Opus at its default rate keeps only ~0.9 of the waveform.
    return {PTTCAM_CLIENT_BIN, "--camera", url, "--rtsp-transport", transport, "--input",
            std::string("wav:") + PTTCAM_SPEECH_WAV, "--bitrate", "64000", "--speaker",
            "wav:" + (dir / "client_speaker.wav").string(), "--talk-script", script, "--events",
            (dir / "client.jsonl").string(), "--summary", (dir / "client.json").string()};
  }
  int finish() {
    const auto code = process.wait(40s);
    REQUIRE_MESSAGE(code.has_value(), process.output());
    return *code;
  }
  Process process;
};

// Every window of the talked speech is in `heard` (correlation >= 0.85). A speaker starved by a
// loaded machine (`underrun_samples`, counted by the camera) inserts silence mid-window and
// shifts what follows: those windows are the speaker's, not the path's (which the caller checks
// by the camera's packet counts); the speech must still be found in several.
void check_speech(const std::vector<float>& heard, const std::string& label, long underrun_samples = 0) {
  const auto speech = pttcam::audio::read_mono_48k(PTTCAM_SPEECH_WAV);
  const auto windows = speech_windows_in(speech, heard, 0.4, kTalkSeconds - 0.4);
  REQUIRE(windows.size() >= 5);
  auto sorted = windows;
  std::sort(sorted.begin(), sorted.end());
  MESSAGE(label << ": " << windows.size() << " speech windows, worst correlation " << sorted.front() << ", median "
                << sorted[sorted.size() / 2] << "; speaker underrun samples " << underrun_samples);
  if (underrun_samples == 0) {
    CHECK(sorted.front() >= 0.85);
  } else {
    const auto good = std::count_if(windows.begin(), windows.end(), [](double c) { return c >= 0.85; });
    CHECK(good >= 3);
  }
}

// camera-sim serving RTSP (Opus backchannel: --backchannel-codecs opus; its default is PCMU, PCMA) on
// loopback, its playout 150 ms deep; with `model_codecs`, the codecs its model or quirk offers.
struct RtspCamera : CameraProcess {
  RtspCamera(const fs::path& dir, std::vector<std::string> extra = {}, bool model_codecs = false)
      : CameraProcess(dir, Face::rtsp, with_defaults(std::move(extra), model_codecs), "camera.jsonl") {}
  static std::vector<std::string> with_defaults(std::vector<std::string> extra, bool model_codecs) {
    extra.insert(extra.begin(), {"--playout-delay-ms", "150"});
    if (!model_codecs) extra.insert(extra.begin(), {"--backchannel-codecs", "opus"});
    return extra;
  }
  std::string url(const std::string& credentials = "") const {
    return "rtsp://" + credentials + "127.0.0.1:" + std::to_string(port) + "/live";
  }
};

// gst-rtsp-server: GStreamer's ONVIF backchannel server, or a plain one without a backchannel.
struct GstServer {
  GstServer(const fs::path& dir, std::vector<std::string> extra)
      : process(args(dir, std::move(extra)), dir / "server.log") {
    REQUIRE_MESSAGE(wait_for_file(dir / "server_port", process, 20s), process.output());
    url = "rtsp://127.0.0.1:" + std::to_string(std::stoi(read_text(dir / "server_port"))) + "/cam";
  }
  static std::vector<std::string> args(const fs::path& dir, std::vector<std::string> extra) {
    std::vector<std::string> a{"/usr/bin/python3", std::string(PTTCAM_SOURCE_DIR) + "/tests/integration/gst_onvif_server.py",
                               "--port-file", (dir / "server_port").string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  ~GstServer() {
    process.signal(SIGTERM);
    process.wait(10s);
  }
  Process process;
  std::string url;
};

nlohmann::json client_summary(const fs::path& dir) { return nlohmann::json::parse(read_text(dir / "client.json")); }

// The best match of 100 ms of a `hz` sine anywhere in `audio` (48 kHz).
double tone_correlation(const std::vector<float>& audio, double hz) {
  std::vector<float> tone(4800);
  REQUIRE(audio.size() > 2 * tone.size());
  for (std::size_t i = 0; i < tone.size(); ++i) tone[i] = static_cast<float>(std::sin(2 * M_PI * hz * i / 48000));
  return pttcam::dsp::align(tone, audio, 0, static_cast<long>(audio.size() - tone.size())).correlation;
}

}  // namespace

TEST_CASE("ptt-client talks to camera-sim over RTSP with the ONVIF backchannel") {
  std::vector<std::string> auth;
  std::string credentials;
  std::string name = "udp";
  std::string transport = "udp";
  SUBCASE("UDP, no authentication") {}
  SUBCASE("UDP, Digest authentication") {
    auth = {"--user", "admin", "--password", "s3cret"};
    credentials = "admin:s3cret@";
    name = "udp_digest";
  }
  SUBCASE("TCP interleaved, Digest authentication") {
    auth = {"--user", "admin", "--password", "s3cret"};
    credentials = "admin:s3cret@";
    name = transport = "tcp";
  }
  const auto dir = scratch_dir("rtsp_client_camera_sim_" + name);
  RtspCamera camera(dir, auth);
  Talker talker(dir, camera.url(credentials), transport);
  const int code = talker.finish();
  REQUIRE_MESSAGE(code == 0, (talker.process.output() + "\ncamera:\n" + camera.process_.output()));
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "\"rtsp_session_end\"", 1, camera.process_, 10s));  // TEARDOWN
  const auto summary = camera.stop();
  INFO(summary.dump());
  CHECK(summary["rtsp"]["backchannel_packets"].get<long>() > 150);
  CHECK(summary["rtsp"]["auth_failures"] == 0);
  const auto client = client_summary(dir);
  CHECK(client["protocol"] == "rtsp");
  CHECK(client["rtsp"]["backchannel"] == "opus");
  CHECK(client["rtsp"]["auth_retries"].get<int>() == (credentials.empty() ? 0 : 1));
  CHECK(client["rtsp"]["transport"] == transport);
  if (transport == "tcp") CHECK(client["rtsp"]["interleaved_out"].get<long>() > 150);
  CHECK(client["camera_audio"]["frames_normal"].get<long>() > 100);  // the camera's microphone played
  CHECK(summary["lost"] == 0);
  CHECK(summary["frames_normal"].get<long>() >= 190);  // 4 s of 20 ms frames, every one played
  check_speech(pttcam::audio::read_mono_48k(dir / "speaker.wav"), "camera-sim " + name,
               summary["speaker_underrun_samples"].get<long>());
}

TEST_CASE("ptt-client keeps an RTSP session alive past its timeout") {
  const auto dir = scratch_dir("rtsp_client_keepalive");
  // 3.5 s without talk audio, then a press: the session outlives its 2 s timeout only by the keepalive
  // (and the client's RTCP, which RFC 2326 also counts).
  RtspCamera camera(dir, {"--rtsp-session-timeout", "2"});
  Talker talker(dir, camera.url(), "udp", "3.5+0.5");
  const int code = talker.finish();
  REQUIRE_MESSAGE(code == 0, (talker.process.output() + "\ncamera:\n" + camera.process_.output()));
  const auto summary = camera.stop();
  INFO(summary.dump());
  CHECK(summary["rtsp"]["session_timeouts"] == 0);
  CHECK(summary["rtsp"]["backchannel_packets"].get<long>() >= 25);  // the press went through
  CHECK(client_summary(dir)["rtsp"]["keepalives"].get<int>() >= 4);  // every 2/3 s
  CHECK(summary["rtsp"]["requests"].get<int>() >= 6 + 4);            // and the camera answered them
}

TEST_CASE("ptt-client when the RTSP camera vanishes mid-talk: one line, exit 1") {
  const auto dir = scratch_dir("rtsp_client_camera_vanishes");
  RtspCamera camera(dir);
  Talker talker(dir, camera.url(), "tcp", "0+8");
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "\"rtsp_backchannel_open\"", 1, camera.process_, 10s));
  camera.process_.signal(SIGKILL);
  CHECK(talker.finish() == 1);
  const auto out = talker.process.output();
  INFO(out);
  CHECK(out.find("ptt-client: the camera closed the connection\n") != std::string::npos);
}

TEST_CASE("ptt-client with a wrong RTSP password: one line, exit 1") {
  const auto dir = scratch_dir("rtsp_client_wrong_password");
  RtspCamera camera(dir, {"--user", "admin", "--password", "s3cret"});
  Talker talker(dir, camera.url("admin:nope@"));
  CHECK(talker.finish() == 1);
  const auto out = talker.process.output();
  INFO(out);
  CHECK(out.find("ptt-client: the camera refused the user name or password (401 Unauthorized)\n") != std::string::npos);
  const auto summary = camera.stop();
  CHECK(summary["rtsp"]["backchannel_packets"] == 0);
}

TEST_CASE("ptt-client talks to GStreamer's ONVIF backchannel server") {
  std::string transport = "udp";
  std::string codec = "opus";
  SUBCASE("Opus, UDP") {}
  SUBCASE("Opus, TCP interleaved") { transport = "tcp"; }
  SUBCASE("PCMU, UDP") { codec = "pcmu"; }
  SUBCASE("PCMU, TCP interleaved") {
    codec = "pcmu";
    transport = "tcp";
  }
  SUBCASE("PCMA, UDP") { codec = "pcma"; }
  SUBCASE("L16 at 16 kHz, UDP") { codec = "l16"; }
  const auto dir = scratch_dir("rtsp_client_gst_onvif_" + codec + "_" + transport);
  {
    GstServer server(dir, {"--out", (dir / "backchannel.f32").string(), "--codec", codec});
    Talker talker(dir, server.url, transport);
    const int code = talker.finish();
    REQUIRE_MESSAGE(code == 0, (talker.process.output() + "\nserver:\n" + server.process.output()));
  }
  const auto client = client_summary(dir);
  INFO(client.dump());
  if (codec == "opus") {
    CHECK(client["rtsp"]["backchannel"] == "OPUS");
    CHECK(client["rtsp"]["backchannel_payload_type"] == 110);  // the SDP's, not pttcam's 111
  } else if (codec == "l16") {
    CHECK(client["rtsp"]["backchannel"] == "L16");
    CHECK(client["rtsp"]["backchannel_payload_type"] == 97);
    CHECK(client["bytes_sent"].get<long>() > 4 * 32000);  // 16 kHz, 2 bytes a sample
  } else {
    CHECK(client["rtsp"]["backchannel"] == (codec == "pcmu" ? "PCMU" : "PCMA"));
    CHECK(client["rtsp"]["backchannel_payload_type"] == (codec == "pcmu" ? 0 : 8));
    CHECK(client["bytes_sent"].get<long>() > 4 * 8000);  // 8000 bytes a second, plus headers
  }
  CHECK(client["camera_audio"]["frames_normal"].get<long>() > 100);
  check_speech(read_f32(dir / "backchannel.f32"), "gst-rtsp-server ONVIF " + codec + " " + transport);
}

TEST_CASE("ptt-client plays a camera's audio in PCMU, PCMA and L16 (GStreamer's ONVIF server)") {
  std::string codec;
  std::string encoding;
  SUBCASE("PCMU") {
    codec = "pcmu";
    encoding = "PCMU";
  }
  SUBCASE("PCMA") {
    codec = "pcma";
    encoding = "PCMA";
  }
  SUBCASE("L16 at 16 kHz") {
    codec = "l16";
    encoding = "L16";
  }
  const auto dir = scratch_dir("rtsp_client_camera_audio_" + codec);
  {
    GstServer server(dir, {"--camera-codec", codec, "--codec", "pcmu"});
    // The adaptive playout: gst-rtsp-server often sends its first G.711 packets at once and the
    // next ~170 ms later (test_media reproduces it: "after a start-up stall").
    Process client(Talker::args(dir, server.url, "udp", "0.5+1.5"), dir / "client.log");
    const auto code = client.wait(40s);
    REQUIRE_MESSAGE(code == 0, (client.output() + "\nserver:\n" + server.process.output()));
    CHECK(client.output().find("does not decode") == std::string::npos);
  }
  const auto client = client_summary(dir);
  INFO(client.dump());
  CHECK(client["rtsp"]["camera_audio"] == encoding);
  CHECK(client["camera_audio"]["frames_normal"].get<long>() > 50);
  CHECK(client["camera_audio"]["payload_type"] == (codec == "pcmu" ? 0 : codec == "pcma" ? 8 : 98));  // the SDP's, not Opus's 111
  const auto heard = pttcam::audio::read_mono_48k((dir / "client_speaker.wav").string());
  const double correlation = tone_correlation(heard, 440);
  MESSAGE(encoding << " camera audio: 440 Hz tone found in the client's speaker with correlation " << correlation);
  CHECK(correlation > 0.9);
}

TEST_CASE("ptt-client and an RTSP camera without a backchannel: it says so and plays the camera's audio") {
  const auto dir = scratch_dir("rtsp_client_no_backchannel");
  GstServer server(dir, {"--plain"});
  Talker talker(dir, server.url, "udp", "0.5+0.5,1.5+0.5");
  CHECK(talker.finish() == 1);  // the user pressed the key and could not talk
  const auto out = talker.process.output();
  INFO(out);
  CHECK(out.find("ptt-client: the camera has no audio backchannel: it answered 551 (Option not supported) to "
                 "Require: www.onvif.org/ver20/backchannel; playing its audio only\n") != std::string::npos);
  CHECK(out.find("cannot talk: the camera has no audio backchannel") != std::string::npos);
  const auto client = client_summary(dir);
  CHECK(client["rtsp"]["require_refused"] == true);
  CHECK(client["talk_failed"] == 2);
  CHECK(client["frames_sent"] == 0);
  CHECK(client["camera_audio"]["frames_normal"].get<long>() > 50);
}

TEST_CASE("ptt-client names the cause when camera-sim's RTSP quirks stop its talk") {
  std::string quirk;
  std::vector<std::string> client_args;
  int expected_code = 1;
  std::string expected;  // in the client's output
  SUBCASE("g711-only, Opus forced: what the camera offers") {
    quirk = "g711-only";
    client_args = {"--codec", "opus"};
    expected = "ptt-client: the camera's backchannel takes PCMU/8000, PCMA/8000, none of which is the forced opus; "
               "playing its audio only\n";
  }
  SUBCASE("g711-only, codec left to the client: it talks PCMU") {
    quirk = "g711-only";
    expected_code = 0;
    expected = "backchannel PCMU/8000 PT 0";
  }
  SUBCASE("no-backchannel: no sendonly track") {
    quirk = "no-backchannel";
    expected = "ptt-client: cannot talk: the camera offers no audio backchannel (no a=sendonly audio track in its SDP)\n";
  }
  SUBCASE("describe-require-timeout: the DESCRIBE with Require goes unanswered; without it, it is") {
    quirk = "describe-require-timeout";
    expected = "ptt-client: the camera has no usable audio backchannel: it did not answer DESCRIBE with Require: "
               "www.onvif.org/ver20/backchannel (answered without it); playing its audio only\n";
  }
  const auto dir = scratch_dir("rtsp_client_quirk_" + quirk + (client_args.empty() ? "" : "_forced"));
  RtspCamera camera(dir, {"--quirk", quirk}, true);
  std::vector<std::string> argv{PTTCAM_CLIENT_BIN, "--camera", camera.url(), "--input",
                                "tone:880", "--speaker", "null", "--talk-script", "0.3+0.5"};
  argv.insert(argv.end(), client_args.begin(), client_args.end());
  Process client(argv, dir / "client.log");
  const auto code = client.wait(30s);
  INFO(client.output());
  CHECK(code == expected_code);
  CHECK(client.output().find(expected) != std::string::npos);
  const auto summary = camera.stop();
  if (expected_code == 0) CHECK(summary["rtsp"]["backchannel_packets"].get<long>() > 10);
  else CHECK(summary["rtsp"]["backchannel_packets"] == 0);
  if (quirk == "describe-require-timeout") {
    // The retry came on a new connection, and the camera's audio played.
    CHECK(summary["rtsp"]["describes_ignored"] == 1);
    CHECK(summary["rtsp"]["connections"] == 2);
    const auto events = read_text(dir / "camera.jsonl");
    CHECK(events.find("\"event\":\"rtsp_play\"") != std::string::npos);
  }
}

TEST_CASE("ptt-client hears camera-sim's RTSP live-view warning before the cap") {
  const auto dir = scratch_dir("rtsp_client_warning");
  RtspCamera camera(dir, {"--session-limit", "3", "--warn-before", "2"});
  Talker talker(dir, camera.url(), "tcp", "0.2+0.5,5+0.5");
  talker.finish();  // the cap ends the session: the camera closes the connection
  const auto out = talker.process.output();
  INFO(out);
  CHECK(out.find("ptt-client: live view ends in 2 s\n") != std::string::npos);
  const auto client = client_summary(dir);
  CHECK(client["rtsp"]["live_view_warnings"] == 1);
  const auto summary = camera.stop();
  CHECK(summary["rtsp"]["session_warnings"] == 1);
  CHECK(summary["rtsp"]["warning_answers"] == 1);
  CHECK(summary["rtsp"]["session_caps"] == 1);
}

TEST_CASE("ptt-client RTSP usage errors: one line, exit 2") {
  const auto dir = scratch_dir("rtsp_client_usage");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--camera", "rtsp://h:99999/live"}, "ptt-client: --camera: the port must be 1-65535"},
      {{"--camera", "rtsp://a:%zz@h/live"}, "ptt-client: --camera: a bad %-escape in the user or password"},
      {{"--camera", "127.0.0.1:5004", "--codec", "pcmu"}, "ptt-client: --codec and --rtsp-transport need --camera rtsp://..."},
      {{"--camera", "rtsp://h/live", "--codec", "g729"}, "ptt-client: --codec: one of opus, l16, pcmu, pcma"},
      {{"--camera", "rtsp://h/live", "--no-session"}, "ptt-client: --camera rtsp://...: --sdp, --sdp-out, --no-session"},
  };
  for (const auto& [args, expected] : cases) {
    std::vector<std::string> argv{PTTCAM_CLIENT_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p(argv, dir / "usage.log");
    CHECK(p.wait(10s) == 2);
    INFO(p.output());
    CHECK(p.output().starts_with(expected));
  }
}

TEST_CASE("ptt-client and an RTSP camera that is not there: one line, exit 1") {
  const auto dir = scratch_dir("rtsp_client_no_camera");
  // A port nothing listens on: bind one, note it, close it.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const auto port = a.local_endpoint().port();
  a.close();
  Process p({PTTCAM_CLIENT_BIN, "--camera", "rtsp://127.0.0.1:" + std::to_string(port) + "/live", "--speaker", "null"},
            dir / "client.log");
  CHECK(p.wait(20s) == 1);
  INFO(p.output());
  CHECK(p.output().find("ptt-client: cannot connect to rtsp://127.0.0.1:" + std::to_string(port) + "/live: Connection refused") !=
        std::string::npos);
}
