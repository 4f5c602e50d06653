// camera-sim: the camera end of push-to-talk. Receives RTP/Opus and plays it on its speaker.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>

#include "pttcam/audio/portaudio.hpp"
#include "pttcam/camera/camera.hpp"

namespace {

using namespace pttcam;

void print_summary(const nlohmann::json& s) {
  const auto u = [&](const char* k) { return s[k].get<unsigned long long>(); };
  std::printf("camera-sim: %llu burst(s); %llu packets (%llu malformed, %llu late, %llu duplicate); frames "
              "%llu played, %llu FEC-recovered, %llu concealed; mouth-to-ear p50 %.1f ms, p95 %.1f ms; "
              "%llu speaker underrun samples\n",
              u("bursts"), u("packets"), u("malformed"), u("late"), u("duplicate"), u("frames_normal"),
              u("frames_fec"), u("frames_concealed"), s["mouth_to_ear_ms"]["p50"].get<double>(),
              s["mouth_to_ear_ms"]["p95"].get<double>(), u("speaker_underrun_samples"));
  if (s["per_burst"].empty()) return;
  std::printf("camera-sim: talk-start latency (first sample captured -> first sample played), per burst:");
  for (const auto& b : s["per_burst"]) std::printf(" %.1f ms", b["talk_start_ms"].get<double>());
  std::printf("\n");
}

int run(int argc, char** argv) {
  CLI::App app{"camera-sim: a simulated security camera that plays push-to-talk audio (RTP/Opus)"};
  std::string listen = "0.0.0.0:5004";
  std::string output = "default";
  std::string port_file;
  std::string events_path;
  std::string summary_path;
  bool list = false;
  camera::CameraConfig config;
  app.add_option("--listen", listen, "Address to receive on, HOST:PORT (port 0 picks one)")->capture_default_str();
  app.add_option("--port-file", port_file, "Write the bound port here once listening");
  app.add_option("--output", output, "Speaker: default | speaker | device:NAME|INDEX | wav:PATH | null")
      ->capture_default_str();
  app.add_option("--playout-delay-ms", config.playout_delay_ms, "Fixed playout delay from a burst's first packet")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  app.add_option("--events", events_path, "Write a JSON Lines event log here");
  app.add_option("--summary", summary_path, "Write a JSON summary here at exit");
  app.add_flag("--list-devices", list, "List audio devices and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "camera-sim: %s (see --help)\n", e.what());
    return 2;
  }

  audio::PortAudioLibrary::set_client_name("camera-sim");
  if (list) {
    std::fputs(audio::format_device_list(audio::list_devices()).c_str(), stdout);
    return 0;
  }
  config.listen = net::parse_endpoint(listen);
  config.output = audio::parse_playback_spec(output);
  config.events_path = events_path;

  boost::asio::io_context io;
  camera::Camera cam(io, config);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    cam.stop();
    io.stop();
  });
  cam.start();
  const auto local = cam.local_endpoint();
  std::printf("camera-sim: listening on %s, speaker %s\n", net::to_string(local).c_str(),
              cam.speaker().describe().c_str());
  std::fflush(stdout);
  if (!port_file.empty()) net::write_port_file(port_file, local.port());
  io.run();

  const auto summary = cam.summary();
  print_summary(summary);
  if (!summary_path.empty()) std::ofstream(summary_path) << summary.dump(2) << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "camera-sim: %s\n", e.what());
    return 1;
  }
}
