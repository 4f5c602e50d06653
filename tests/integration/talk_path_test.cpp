// WAV in -> ptt-client -> RTP/UDP -> camera-sim -> WAV out, with the real binaries on loopback.
#include <doctest/doctest.h>

#include <chrono>

#include "process.hpp"
#include "pttcam/net/asio.hpp"
#include "pttcam/audio/sndfile.hpp"
#include "talk_check.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;

namespace {

struct TalkRun {
  int client_exit = -1;
  int camera_exit = -1;
  nlohmann::json camera_summary;
  nlohmann::json client_summary;
  std::vector<float> output;
  std::vector<KeyWindow> windows;
  std::int64_t client_start_us = 0;
  std::int64_t camera_start_us = 0;
};

// The default, protected path: the client pairs with the camera first (docs/security.md).
TalkRun run_talk(const fs::path& dir, const std::string& script, std::vector<std::string> client_extra = {}) {
  Process camera({PTTCAM_CAMERA_BIN, "--pairing-code", "13572468", "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(), "--output",
                  "wav:" + (dir / "speaker.wav").string(), "--mic", "none", "--events", (dir / "camera.jsonl").string(),
                  "--summary", (dir / "camera.json").string()},
                 dir / "camera.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "port", camera, 10s), camera.output());
  const std::string port = read_text(dir / "port").substr(0, read_text(dir / "port").find('\n'));
  Process pairing({PTTCAM_CLIENT_BIN, "--pair", "--camera", "127.0.0.1:" + port, "--pairing-code", "13572468", "--config-dir",
                   (dir / "client-config").string()},
                  dir / "pair.log");
  REQUIRE_MESSAGE(pairing.wait(20s) == 0, pairing.output());
  std::vector<std::string> args{PTTCAM_CLIENT_BIN, "--config-dir", (dir / "client-config").string(), "--camera", "127.0.0.1:" + port, "--input",
                                std::string("wav:") + PTTCAM_SPEECH_WAV, "--speaker", "null", "--talk-script", script,
                                "--events", (dir / "client.jsonl").string(), "--summary", (dir / "client.json").string()};
  args.insert(args.end(), client_extra.begin(), client_extra.end());
  Process client(args, dir / "client.log");
  TalkRun run;
  const auto code = client.wait(60s);
  REQUIRE_MESSAGE(code.has_value(), "ptt-client hung: " << client.output());
  run.client_exit = *code;
  // The last packet was sent before the client exited; give it time to be played, then stop.
  std::this_thread::sleep_for(300ms);
  camera.signal(SIGTERM);
  const auto cam_code = camera.wait(10s);
  REQUIRE_MESSAGE(cam_code.has_value(), "camera-sim did not stop on SIGTERM");
  run.camera_exit = *cam_code;
  INFO("client: " << client.output());
  INFO("camera: " << camera.output());
  REQUIRE(run.client_exit == 0);
  REQUIRE(run.camera_exit == 0);
  run.camera_summary = nlohmann::json::parse(read_text(dir / "camera.json"));
  run.client_summary = nlohmann::json::parse(read_text(dir / "client.json"));
  run.output = pttcam::audio::read_mono_48k(dir / "speaker.wav");
  const auto client_events = read_events(dir / "client.jsonl");
  run.windows = key_windows(client_events);
  run.client_start_us = event_time(client_events, "client_start");
  run.camera_start_us = event_time(read_events(dir / "camera.jsonl"), "camera_start");
  return run;
}

}  // namespace

TEST_CASE("talk path: WAV microphone to camera speaker WAV over loopback") {
  const auto dir = scratch_dir("talk_path_wav");
  const auto run = run_talk(dir, "0.4+1.6,2.6+1.4");
  const auto input = pttcam::audio::read_mono_48k(PTTCAM_SPEECH_WAV);

  REQUIRE(run.windows.size() == 2);
  INFO("camera summary: " << run.camera_summary.dump());  // everything needed to read a failure
  CHECK(run.client_summary["bursts"] == 2);
  CHECK(run.camera_summary["bursts"] == 2);
  CHECK(run.camera_summary["bursts_unterminated"] == 0);
  CHECK(run.camera_summary["malformed"] == 0);
  // Every frame the client sent was played (loopback loses nothing). The only concealment allowed
  // is the jitter buffer waiting out a scheduling hiccup (a stretch frame: nothing is lost).
  CHECK(run.camera_summary["frames_normal"] == run.client_summary["frames_sent"]);
  CHECK(run.camera_summary["lost"] == 0);
  CHECK(run.camera_summary["frames_concealed"] == run.camera_summary["frames_stretched"]);
  // CPU is split at the key edges (client) and at the bursts' play (camera): the talking stretch
  // is the 3 s of talk, give or take a tick, and CPU was used in it.
  const auto& cpu = run.client_summary["cpu_split"];
  CHECK(cpu["active_s"].get<double>() == doctest::Approx(3.0).epsilon(0.03));
  CHECK(cpu["active_cpu_s"].get<double>() > 0.0);
  CHECK(cpu["idle_s"].get<double>() > 0.3);
  CHECK(run.camera_summary["cpu_split"]["active_s"].get<double>() ==
        doctest::Approx(run.camera_summary["talk_seconds"].get<double>()).epsilon(0.05));

  // The WAV microphone starts at client start; the speaker WAV starts at camera start.
  const auto matches = match_bursts(input, {run.client_start_us}, run.output, {run.camera_start_us}, run.windows);
  for (const auto& m : matches) {
    MESSAGE("burst: correlation " << m.correlation << ", SNR " << m.snr_db << " dB, landed " << m.delay_ms
                                  << " ms after capture");
    CHECK(m.correlation > 0.8);
    CHECK(m.snr_db > 3.0);
    CHECK(m.delay_ms > 0.0);  // sanity: audio cannot arrive before it was captured
    CHECK(m.delay_ms < 250.0);
  }
  // While the key was up the speaker played digital silence: nothing was sent.
  const double peak = peak_outside_windows(run.output, {run.camera_start_us}, run.windows);
  MESSAGE("peak outside talk windows: " << peak);
  CHECK(peak < 1e-4);
  // ... and the speech file was not silent there, so this proves the client held it back.
  CHECK(pttcam::dsp::peak_abs(input) > 0.3);
}

TEST_CASE("talk path: 10 ms frames without FEC, and low-delay mode") {
  for (const auto& extra : {std::vector<std::string>{"--frame-ms", "10", "--no-fec"},
                            std::vector<std::string>{"--low-delay", "--frame-ms", "5", "--bitrate", "64000"}}) {
    CAPTURE(extra[0]);
    const auto dir = scratch_dir("talk_path_" + std::string(extra[0] == "--low-delay" ? "lowdelay" : "10ms"));
    const auto run = run_talk(dir, "0.3+1.2", extra);
    const auto input = pttcam::audio::read_mono_48k(PTTCAM_SPEECH_WAV);
    REQUIRE(run.windows.size() == 1);
    INFO("camera summary: " << run.camera_summary.dump());  // everything needed to read a failure
    CHECK(run.camera_summary["frames_normal"] == run.client_summary["frames_sent"]);
    const auto m = match_bursts(input, {run.client_start_us}, run.output, {run.camera_start_us}, run.windows).at(0);
    MESSAGE("correlation " << m.correlation << ", SNR " << m.snr_db << " dB, delay " << m.delay_ms << " ms");
    CHECK(m.correlation > 0.8);
    CHECK(m.snr_db > 3.0);
    CHECK(peak_outside_windows(run.output, {run.camera_start_us}, run.windows) < 1e-4);
  }
}

TEST_CASE("camera-sim survives malformed datagrams and counts them") {
  const auto dir = scratch_dir("camera_malformed");
  Process camera({PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(), "--output",
                  "null", "--mic", "none", "--no-session", "--summary", (dir / "camera.json").string(), "--events",
                  (dir / "camera.jsonl").string()},
                 dir / "camera.log");
  REQUIRE(wait_for_file(dir / "port", camera, 10s));
  const auto port = static_cast<unsigned short>(std::stoi(read_text(dir / "port")));
  boost::asio::io_context io;
  boost::asio::ip::udp::socket sock(io, boost::asio::ip::udp::v4());
  const boost::asio::ip::udp::endpoint to(boost::asio::ip::make_address("127.0.0.1"), port);
  const std::vector<std::vector<unsigned char>> bad{
      {},                                                     // empty
      {0x80, 0x6f, 0x00},                                     // truncated header
      {0x40, 0x6f, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xf8},       // version 1
      {0x8f, 0x6f, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1},             // 15 CSRCs announced, none present
      {0x90, 0x6f, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 9},  // extension longer than datagram
      {0xa0, 0x6f, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xf8, 0x40},  // padding count past the payload
  };
  for (const auto& d : bad) sock.send_to(boost::asio::buffer(d), to);
  // A well-formed RTP packet with another payload type is dropped and counted too.
  const std::vector<unsigned char> other_pt{0x80, 0x00, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0xf8};
  sock.send_to(boost::asio::buffer(other_pt), to);
  // The camera logs each drop; wait until it has seen them all, then check it is still alive.
  const auto events = dir / "camera.jsonl";
  REQUIRE(wait_for_lines(events, "packet_dropped", bad.size() + 1, camera, 10s));
  REQUIRE(camera.running());
  camera.signal(SIGTERM);
  REQUIRE(camera.wait(10s) == 0);
  const auto s = nlohmann::json::parse(read_text(dir / "camera.json"));
  CHECK(s["datagrams"] == bad.size() + 1);
  CHECK(s["malformed"] == bad.size());
  CHECK(s["wrong_payload_type"] == 1);
  CHECK(s["bursts"] == 0);
}
