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

  Process camera({PTTCAM_CAMERA_BIN, "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(), "--output",
                  "device:system", "--mic", "none", "--events", (dir / "camera.jsonl").string(), "--summary",
                  (dir / "camera.json").string()},
                 dir / "camera.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "port", camera, 10s), camera.output());
  const auto port = std::to_string(std::stoi(read_text(dir / "port")));

  Process client({PTTCAM_CLIENT_BIN, "--camera", "127.0.0.1:" + port, "--input", "device:system", "--speaker", "null", "--talk-script",
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
