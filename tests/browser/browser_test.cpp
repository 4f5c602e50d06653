// camera-sim --web in a real browser: Debian's Chromium, headless, driven by puppeteer-core
// (tests/browser/page.mjs) with its fake microphone playing tools/data/speech.wav. The page holds
// Space for 2 s: the camera's WAV holds that speech and digital silence around it, and the page
// showed TALKING and the camera's per-burst figures. Then the camera's microphone (a tone) heard
// by the page, permission denied, a second page told busy, and a camera without a speaker.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "camera_process.hpp"
#include "process.hpp"
#include "pttcam/audio/sndfile.hpp"
#include "pttcam/dsp/align.hpp"
#include "talk_check.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;

namespace {

// A camera-sim serving its page on loopback, its files in `dir`.
struct Camera : CameraProcess {
  Camera(const fs::path& dir, std::vector<std::string> extra = {}) : CameraProcess(dir, Face::web, std::move(extra)) {
    url = "http://127.0.0.1:" + std::to_string(port) + "/?processing=off";
  }
  std::string url;
};

// One scenario of page.mjs in Chromium, running; finish() returns what the page showed.
struct PageRun {
  PageRun(const std::string& scenario, const std::string& url, const fs::path& dir)
      : out(dir / (scenario + ".json")), node(args(scenario, url, dir), dir / (scenario + ".log")) {}
  static std::vector<std::string> args(const std::string& scenario, const std::string& url, const fs::path& dir) {
    const fs::path browser_dir = fs::path(PTTCAM_SOURCE_DIR) / "tests" / "browser";
    REQUIRE_MESSAGE(fs::exists(browser_dir / "node_modules" / "puppeteer-core"),
                    "puppeteer-core is not installed: run tools/setup (npm ci in tests/browser)");
    return {PTTCAM_NODE_BIN, (browser_dir / "page.mjs").string(), scenario, url, (dir / (scenario + ".json")).string(),
            dir.string(), PTTCAM_SPEECH_WAV};
  }
  nlohmann::json finish() {
    const auto code = node.wait(60s);
    INFO("page.mjs log: " << node.output());
    REQUIRE(fs::exists(out));
    const auto result = nlohmann::json::parse(read_text(out));
    INFO("page result: " << result.dump(1));
    REQUIRE(code == 0);
    REQUIRE(result["ok"] == true);
    return result;
  }
  fs::path out;
  Process node;
};

nlohmann::json run_page(const std::string& scenario, const std::string& url, const fs::path& dir) {
  return PageRun(scenario, url, dir).finish();
}

std::int64_t event_field(const std::vector<nlohmann::json>& events, const std::string& name, const char* field) {
  for (const auto& e : events)
    if (e["event"] == name) return e[field].get<std::int64_t>();
  FAIL("no event " << name);
  return 0;
}

}  // namespace

TEST_CASE("browser: hold Space for 2 s, the camera plays the speech and the page shows the burst") {
  const auto dir = scratch_dir("browser_talk");
  // Playout 40 ms deep: on a loaded machine the adaptive delay's few milliseconds let the
  // speaker underrun, which shifts what follows and spoils a window's match (the jitter buffer's
  // own tests cover adaptation; this one is about what the browser sent).
  Camera cam(dir, {"--jitter-min-ms", "40"});
  const auto page = run_page("talk", cam.url, dir);
  const auto summary = cam.stop();
  CHECK(page["state_while_held"] == "TALKING");
  CHECK(page["state_after"] == "");
  REQUIRE(page["bursts"].size() == 1);
  const auto& burst = page["bursts"][0];
  CHECK(burst["frames_normal"].get<int>() > 75);  // 2 s held is 100 frames of 20 ms
  CHECK(burst["talk_start_ms"].is_number());
  const auto row = page["burst_rows"][0];
  CHECK(row[0] == "1");
  CHECK(row[1].get<std::string>().find(" ms") != std::string::npos);  // talk-start shown in words
  CHECK(fs::exists(dir / "talking.png"));
  CHECK(summary["web"]["calls"] == 1);
  CHECK(summary["web"]["talk_packets"].get<int>() > 75);
  CHECK(summary["malformed"] == 0);
  // RED leads the answer, so Chromium wraps each frame with a copy of the one before (RFC 2198),
  // and the camera's receiver splits them like ptt-client's.
  CHECK(summary["red_copies_received"].get<int>() > 75);

  // Where the burst sits on the camera's clock: between the press and shortly after the release.
  const auto events = read_events(dir / "events.jsonl");
  const auto start = event_time(events, "camera_start");
  const auto granted = event_time(events, "web_talk_granted");
  const auto released = event_time(events, "web_talk_released");
  const auto first = event_field(events, "burst_summary", "first_play_us");
  const auto last = event_field(events, "burst_summary", "last_play_end_us");
  MESSAGE("held " << (released - granted) / 1000 << " ms at the camera; played " << (last - first) / 1000
                  << " ms, from " << (first - granted) / 1000 << " ms after the press");
  CHECK(first >= granted);
  CHECK(last <= released + 500'000);
  CHECK(last - first >= 1'700'000);

  // Every 300 ms window of what played that is not a pause in the speech (RMS under -34 dBFS) is
  // the speech the fake microphone captured (found anywhere in the file: Chromium starts and
  // loops it on its own).
  const auto speech = pttcam::audio::read_mono_48k(PTTCAM_SPEECH_WAV);
  const auto out = pttcam::audio::read_mono_48k(dir / "speaker.wav");
  const Timeline at{start};
  const long b = at.index(first), e = std::min(at.index(last), static_cast<long>(out.size()));
  constexpr long kWindow = 48 * 300;
  int windows = 0;
  for (long w = b + 48 * 60; w + kWindow <= e - 48 * 60; w += kWindow) {
    const std::span<const float> piece(out.data() + w, kWindow);
    const auto a = pttcam::dsp::align(piece, speech, -w, static_cast<long>(speech.size()));
    double energy = 0;
    for (const float v : piece) energy += static_cast<double>(v) * v;
    const double rms = std::sqrt(energy / kWindow);
    MESSAGE("window at " << (w - b) / 48 << " ms: correlation " << a.correlation << ", rms " << rms << ", from "
                         << a.lag / 48 << " ms into the file");
    if (rms < 0.02) continue;
    CHECK(a.correlation >= 0.85);
    ++windows;
  }
  CHECK(windows >= 4);
  // Digital silence before the press reached the camera and from 400 ms after the release.
  double outside = 0;
  for (long i = 0; i < static_cast<long>(out.size()); ++i)
    if (i < at.index(granted) || i > at.index(released + 400'000)) outside = std::max(outside, static_cast<double>(std::abs(out[static_cast<std::size_t>(i)])));
  long first_sound = -1, last_sound = -1;
  for (long i = 0; i < static_cast<long>(out.size()); ++i)
    if (out[static_cast<std::size_t>(i)] != 0.0f) {
      if (first_sound < 0) first_sound = i;
      last_sound = i;
    }
  INFO("sound from " << (first_sound - b) / 48.0 << " ms to " << (last_sound - e) / 48.0
                     << " ms around the burst's first and last sample");
  CHECK(outside == 0.0);
}

TEST_CASE("browser: the camera's microphone (a 440 Hz tone) plays in the page") {
  const auto dir = scratch_dir("browser_listen");
  Camera cam(dir);
  const auto page = run_page("listen", cam.url, dir);
  const auto summary = cam.stop();
  MESSAGE("the page's analyser found " << page["camera_hz"].get<double>() << " Hz");
  CHECK(std::abs(page["camera_hz"].get<double>() - 440.0) < 20.0);
  CHECK(summary["web"]["microphone_packets"].get<int>() > 0);
}

TEST_CASE("browser: microphone permission denied shows the fix and sends nothing") {
  const auto dir = scratch_dir("browser_denied");
  Camera cam(dir);
  const auto page = run_page("deny", cam.url, dir);
  const auto summary = cam.stop();
  CHECK(page["notice"].get<std::string>().find("allow the microphone") != std::string::npos);
  CHECK(summary["web"]["calls"] == 0);
  CHECK(summary["web"]["talk_packets"] == 0);
  CHECK(summary["packets"] == 0);
}

TEST_CASE("browser: a second page while one talks is told busy") {
  {
    const auto dir = scratch_dir("browser_busy");
    Camera cam(dir);
    const auto page = run_page("busy", cam.url, dir);
    const auto summary = cam.stop();
    CHECK(page["second_refusal"] == "busy");
    CHECK(page["second_talking"] == false);
    CHECK(page["second_notice"].get<std::string>().find("Someone else is talking") != std::string::npos);
    CHECK(summary["web"]["refusals"] == 1);
  }
}

TEST_CASE("browser: the indoor model has no speaker and the page says so") {
  {
    const auto dir = scratch_dir("browser_indoor");
    Camera cam(dir, {"--model", "indoor"});
    const auto page = run_page("refused", cam.url, dir);
    const auto summary = cam.stop();
    CHECK(page["refusal"] == "no_speaker");
    CHECK(page["saw_talking"] == false);
    CHECK(page["notice"].get<std::string>().find("no speaker") != std::string::npos);
    CHECK(summary["packets"] == 0);
  }
}

TEST_CASE("browser: the live view's cap warns, ends the call and renews") {
  const auto dir = scratch_dir("browser_cap");
  Camera cam(dir, {"--session-limit", "3", "--warn-before", "2"});
  const auto page = run_page("cap", cam.url, dir);
  const auto summary = cam.stop();
  CHECK(page["warning"].get<std::string>().find("The live view ends in") != std::string::npos);
  CHECK(page["countdown"].get<std::string>().find("s left") != std::string::npos);
  CHECK(page["status_at_end"] == "The live view ended.");
  CHECK(summary["web"]["calls_capped"].get<int>() >= 1);
  CHECK(summary["web"]["calls"].get<int>() >= 2);  // the renewed one
}

TEST_CASE("browser: a power cycle takes the camera away from the page and it comes back") {
  const auto dir = scratch_dir("browser_power");
  Camera cam(dir, {"--boot-time", "1"});
  PageRun run("power", cam.url, dir);
  // Unplugged once the page's call is up (SIGHUP is camera-sim's power cycle).
  REQUIRE(wait_for_lines(dir / "events.jsonl", "\"connected\"", 1, cam.process_, 30s));
  cam.process_.signal(SIGHUP);
  const auto page = run.finish();
  const auto summary = cam.stop();
  CHECK(page["status_offline"] == "Camera offline");
  CHECK(page["notice_offline"].get<std::string>().find("offline") != std::string::npos);
  CHECK(summary["power_cycles"] == 1);
  CHECK(summary["web"]["calls"].get<int>() >= 2);
}

namespace {

// One HTTP exchange on a fresh connection: the bytes sent as they are, everything read until
// the camera closes or 5 s pass.
std::string http_exchange(int port, const std::string& bytes) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  timeval tv{5, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  boost::asio::write(socket, boost::asio::buffer(bytes));
  socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send);
  std::string out;
  char chunk[4096];
  for (ssize_t n; (n = ::recv(socket.native_handle(), chunk, sizeof chunk, 0)) > 0;) out.append(chunk, static_cast<std::size_t>(n));
  return out;
}

std::string post(const std::string& target, const std::string& body, const std::string& type = "application/sdp") {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: " + type + "\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("web: what a broken or hostile client sends is answered, and the page still loads") {
  const auto dir = scratch_dir("web_hostile");
  Camera cam(dir);
  const int port = std::stoi(read_text(dir / "web_port"));
  CHECK(http_exchange(port, "HELLO\r\n\r\n").rfind("HTTP/1.1 400", 0) == 0);
  const auto bad_offer = http_exchange(port, post("/whip", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"));
  CHECK(bad_offer.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(bad_offer.find("the offer has no audio m-line") != std::string::npos);
  CHECK(http_exchange(port, post("/whip", std::string(200 * 1024, 'a'))).rfind("HTTP/1.1 400", 0) == 0);  // too big
  CHECK(http_exchange(port, post("/whip/0123/talk", "press", "text/plain")).rfind("HTTP/1.1 404", 0) == 0);
  CHECK(http_exchange(port, "DELETE /whip/nope HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 404", 0) == 0);
  CHECK(http_exchange(port, "GET /whip HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 405", 0) == 0);
  // More finished connections than the camera keeps at once: each one's slot comes back.
  for (int i = 0; i < 40; ++i) REQUIRE(http_exchange(port, "HELLO\r\n\r\n").rfind("HTTP/1.1 400", 0) == 0);
  const auto page = http_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(page.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(page.find("Hold to talk") != std::string::npos);
  const auto summary = cam.stop();
  CHECK(summary["web"]["bad_requests"].get<int>() >= 42);
  CHECK(summary["web"]["calls_refused"] == 1);
  CHECK(summary["web"]["calls"] == 0);
}
