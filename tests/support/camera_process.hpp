#pragma once
// camera-sim as a process for the integration and browser tests: one front end (RTSP or the web
// page) on a loopback port the kernel picks, pttcam's protocol on another, a 440 Hz tone as its
// microphone; its files in `dir`: speaker.wav, events (EVENTS_NAME), camera.json (summary),
// camera.log and the front end's port file.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.hpp"

namespace pttcam::test {

class CameraProcess {
 public:
  enum class Face { rtsp, web };

  CameraProcess(const fs::path& dir, Face face, std::vector<std::string> extra = {},
                const std::string& events_name = "events.jsonl")
      : dir_(dir), events_(dir / events_name), process_(args(dir, face, std::move(extra), events_), dir / "camera.log") {
    using namespace std::chrono_literals;
    const fs::path port_file = dir / (face == Face::rtsp ? "rtsp_port" : "web_port");
    REQUIRE_MESSAGE(wait_for_file(port_file, process_, 20s), process_.output());
    port = std::stoi(read_text(port_file));
  }

  static std::vector<std::string> args(const fs::path& dir, Face face, std::vector<std::string> extra,
                                       const fs::path& events) {
    const bool rtsp = face == Face::rtsp;
    // --insecure: pttcam's own protocol in its open mode (some tests talk it beside the front end).
    std::vector<std::string> a{PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", rtsp ? "--rtsp" : "--web", "127.0.0.1:0",
                               rtsp ? "--rtsp-port-file" : "--web-port-file",
                               (dir / (rtsp ? "rtsp_port" : "web_port")).string(), "--output",
                               "wav:" + (dir / "speaker.wav").string(), "--mic", "tone:440", "--events",
                               events.string(), "--summary", (dir / "camera.json").string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  // SIGTERM, a clean exit, and the summary it wrote.
  nlohmann::json stop() {
    using namespace std::chrono_literals;
    process_.signal(SIGTERM);
    REQUIRE_MESSAGE(process_.wait(20s) == 0, process_.output());
    return nlohmann::json::parse(read_text(dir_ / "camera.json"));
  }

  // `count` events named `name` in the camera's event log (false after 20 s, or if it exited).
  bool wait_event(const std::string& name, std::size_t count = 1) {
    using namespace std::chrono_literals;
    return wait_for_lines(events_, "\"" + name + "\"", count, process_, 20s);
  }

  fs::path dir_;
  fs::path events_;
  Process process_;
  int port = 0;
};

}  // namespace pttcam::test
