// The talk path over real PortAudio streams: ptt-client captures from a JACK port that
// pttcam-jack-io feeds with speech, camera-sim plays to a JACK port that pttcam-jack-io records.
// Needs JACK_DEFAULT_SERVER (tools/with-jack provides a private dummy-driver server).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>

#include "process.hpp"
#include "pttcam/audio/sndfile.hpp"
#include "talk_check.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;

TEST_CASE("talk path over PortAudio streams on a JACK dummy server") {
  REQUIRE_MESSAGE(std::getenv("JACK_DEFAULT_SERVER") != nullptr, "run me through tools/with-jack");
  const auto dir = scratch_dir("device_jack_talk_path");

  Process camera({PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(), "--output",
                  "device:system", "--mic", "none", "--events", (dir / "camera.jsonl").string(), "--summary",
                  (dir / "camera.json").string()},
                 dir / "camera.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "port", camera, 10s), camera.output());
  const auto port = std::to_string(std::stoi(read_text(dir / "port")));

  Process client({PTTCAM_CLIENT_BIN, "--insecure", "--camera", "127.0.0.1:" + port, "--input", "device:system", "--speaker", "null", "--talk-script",
                  "1.0+1.5,3.0+1.2", "--frame-ms", "10", "--bitrate", "64000", "--events", (dir / "client.jsonl").string(), "--summary",
                  (dir / "client.json").string()},
                 dir / "client.log");
  // Feeds the client's capture port and records the camera's playback port, on JACK's clock.
  Process jack_io({PTTCAM_JACK_IO_BIN, "--play", PTTCAM_SPEECH_WAV, "--to", "ptt-client:in_0", "--record",
                   (dir / "speaker.wav").string(), "--from", "camera-sim:out_0", "--seconds", "5.0", "--info",
                   (dir / "jack_io.json").string(), "--ready-file", (dir / "ready").string()},
                  dir / "jack_io.log");
  INFO("client: " << client.output());
  INFO("camera: " << camera.output());
  INFO("jack-io: " << jack_io.output());
  REQUIRE(wait_for_file(dir / "ready", jack_io, 10s));

  const auto client_code = client.wait(30s);
  REQUIRE(client_code.has_value());
  CHECK(*client_code == 0);
  const auto jack_code = jack_io.wait(30s);
  REQUIRE(jack_code.has_value());
  CHECK(*jack_code == 0);
  camera.signal(SIGTERM);
  REQUIRE(camera.wait(10s) == 0);

  const auto info = nlohmann::json::parse(read_text(dir / "jack_io.json"));
  const auto camera_summary = nlohmann::json::parse(read_text(dir / "camera.json"));
  const auto client_summary = nlohmann::json::parse(read_text(dir / "client.json"));
  const auto windows = key_windows(read_events(dir / "client.jsonl"));
  REQUIRE(windows.size() == 2);
  const auto input = pttcam::audio::read_mono_48k(PTTCAM_SPEECH_WAV);
  const auto output = pttcam::audio::read_mono_48k(dir / "speaker.wav");

  CHECK(client_summary["bursts"] == 2);
  CHECK(camera_summary["bursts"] == 2);
  CHECK(camera_summary["frames_normal"] == client_summary["frames_sent"]);
  // The dummy driver's clock, measured by pttcam-jack-io against the monotonic clock.
  const Timeline jack{info["record_t0_us"].get<std::int64_t>(), info["samples_per_second"].get<double>()};
  MESSAGE("JACK dummy driver ran at " << jack.rate << " samples per second of the monotonic clock");
  for (const auto& m : match_bursts(input, jack, output, jack, windows)) {
    MESSAGE("burst over JACK: correlation " << m.correlation << ", SNR " << m.snr_db << " dB, mouth-to-ear "
                                            << m.delay_ms << " ms (ground truth on JACK's clock)");
    // Median 300 ms piece (see match_bursts): measured 0.95-0.96 and 10-11.5 dB; unrelated audio
    // scores below 0.1.
    CHECK(m.correlation > 0.7);
    CHECK(m.snr_db > 3.0);
    CHECK(m.delay_ms > 0.0);
    CHECK(m.delay_ms < 250.0);
  }
  MESSAGE("camera self-reported mouth-to-ear p50: " << camera_summary["mouth_to_ear_ms"]["p50"] << " ms");
  CHECK(peak_outside_windows(output, jack, windows) < 1e-4);
}

// --cold-mic: the capture stream is opened at each key-down and closed at each key-up. On JACK a
// closed stream has no port (PortAudio registers a new one, in_1, in_2, ..., at each open), so
// pttcam-jack-io has to connect the client's capture port again at every press (its reconnect
// count shows the port went away); nothing is captured while the key is up (a warm microphone
// discards about 48000 samples a second there); and every press is still heard, the speech it
// carries, with a talk-start that includes the open.
TEST_CASE("cold microphone: opened at key-down, closed at key-up") {
  REQUIRE_MESSAGE(std::getenv("JACK_DEFAULT_SERVER") != nullptr, "run me through tools/with-jack");
  const auto dir = scratch_dir("device_jack_cold_mic");

  Process camera({PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(), "--output",
                  "device:system", "--mic", "none", "--summary", (dir / "camera.json").string()},
                 dir / "camera.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "port", camera, 10s), camera.output());
  const auto port = std::to_string(std::stoi(read_text(dir / "port")));
  Process client({PTTCAM_CLIENT_BIN, "--insecure", "--camera", "127.0.0.1:" + port, "--input", "device:system", "--speaker", "null",
                  "--cold-mic", "--talk-script", "1.5+1.2,3.5+1.0", "--events", (dir / "client.jsonl").string(),
                  "--summary", (dir / "client.json").string()},
                 dir / "client.log");
  // The client's port exists from its start (the device is opened once to check it) until
  // media::Sender::start() closes it; --wait-ports catches it in that window or at the first press.
  Process jack_io({PTTCAM_JACK_IO_BIN, "--play", PTTCAM_SPEECH_WAV, "--to", "ptt-client:in_[0-9]+", "--record",
                   (dir / "speaker.wav").string(), "--from", "camera-sim:out_0", "--seconds", "5.0", "--info",
                   (dir / "jack_io.json").string()},
                  dir / "jack_io.log");
  INFO("client: " << client.output());
  INFO("camera: " << camera.output());
  INFO("jack-io: " << jack_io.output());
  const auto client_code = client.wait(30s);
  REQUIRE(client_code.has_value());
  CHECK(*client_code == 0);
  REQUIRE(jack_io.wait(30s) == 0);
  camera.signal(SIGTERM);
  REQUIRE(camera.wait(10s) == 0);

  const auto client_summary = nlohmann::json::parse(read_text(dir / "client.json"));
  const auto camera_summary = nlohmann::json::parse(read_text(dir / "camera.json"));
  const auto info = nlohmann::json::parse(read_text(dir / "jack_io.json"));
  CHECK(client_summary["cold_microphone"] == true);
  CHECK(client_summary["mic_open_failures"] == 0);
  // Up to a device period or two arrive between the open and the ring being emptied at the press.
  CHECK(client_summary["samples_discarded_idle"].get<long>() < 2048);
  CHECK(info["reconnects"].get<int>() >= 1);
  int opens = 0, closes = 0, downs = 0;
  for (const auto& e : read_events(dir / "client.jsonl")) {
    if (e["event"] == "key_down") ++downs;
    if (e["event"] == "mic_open") {
      ++opens;
      CHECK(opens == downs);  // each open follows its press
      CHECK(e["open_ms"].get<double>() >= 0.0);
    }
    if (e["event"] == "mic_close") ++closes;
  }
  CHECK(opens == 2);
  CHECK(closes == 2);
  CHECK(camera_summary["bursts"] == 2);
  for (const auto& b : camera_summary["per_burst"]) CHECK(b["talk_start_ms"].is_number());
  // The speech got through the reopened ports (an unconnected port captures exact silence).
  const auto windows = key_windows(read_events(dir / "client.jsonl"));
  REQUIRE(windows.size() == 2);
  const Timeline jack{info["record_t0_us"].get<std::int64_t>(), info["samples_per_second"].get<double>()};
  const auto matches = match_bursts(pttcam::audio::read_mono_48k(PTTCAM_SPEECH_WAV), jack,
                                    pttcam::audio::read_mono_48k(dir / "speaker.wav"), jack, windows);
  CHECK(matches.size() == 2);
  for (const auto& m : matches) CHECK(m.correlation > 0.7);
}
