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

std::string http_exchange(int port, const std::string& bytes);

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
  // The page matched its clock to the camera's and sent its key-down time with the press.
  CHECK(burst["talk_start_from"] == "key");
  CHECK(page["figures_note"].get<std::string>().find("clocks agree") != std::string::npos);
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

TEST_CASE("browser: over HTTPS with a self-signed certificate the page loads, calls and hears the camera") {
  const auto dir = scratch_dir("browser_https");
  const auto cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  Process openssl(
      {PTTCAM_OPENSSL_BIN, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
       key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
      dir / "openssl.log");
  REQUIRE_MESSAGE(openssl.wait(30s) == 0, openssl.output());
  Camera cam(dir, {"--web-tls-cert", cert, "--web-tls-key", key});
  const auto https_url = "https://" + cam.url.substr(std::string("http://").size());
  // Chromium is told to accept the certificate (--ignore-certificate-errors in page.mjs for https).
  const auto page = run_page("listen", https_url, dir);
  // Plain HTTP to the HTTPS port gets no answer in HTTP, and is counted.
  const int port = std::stoi(read_text(dir / "web_port"));
  CHECK(http_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1", 0) != 0);
  const auto summary = cam.stop();
  MESSAGE("over HTTPS the page's analyser found " << page["camera_hz"].get<double>() << " Hz");
  CHECK(std::abs(page["camera_hz"].get<double>() - 440.0) < 20.0);
  CHECK(summary["web"]["tls"] == true);
  CHECK(summary["web"]["calls"].get<int>() >= 1);
  CHECK(summary["web"]["tls_failed"].get<int>() >= 1);
  const auto events = read_events(dir / "events.jsonl");
  bool https = false;
  for (const auto& e : events)
    if (e["event"] == "web_listen") https = e["url"].get<std::string>().rfind("https://", 0) == 0;
  CHECK(https);
}

TEST_CASE("web: a certificate without its key, or a file that is no certificate, is one line and exit 1 or 2") {
  const auto dir = scratch_dir("web_tls_usage");
  { std::ofstream(dir / "junk.pem") << "not a certificate\n"; }
  const auto junk = (dir / "junk.pem").string();
  Process half({PTTCAM_CAMERA_BIN, "--web", "127.0.0.1:0", "--web-tls-cert", junk}, dir / "half.log");
  CHECK(half.wait(10s) == 2);
  CHECK(half.output().find("--web-tls-cert and --web-tls-key go together") != std::string::npos);
  Process bad({PTTCAM_CAMERA_BIN, "--listen", "127.0.0.1:0", "--web", "127.0.0.1:0", "--output", "null", "--mic",
               "none", "--web-tls-cert", junk, "--web-tls-key", junk},
              dir / "bad.log");
  CHECK(bad.wait(10s) == 1);
  CHECK(bad.output().find("--web-tls-cert") != std::string::npos);
}

TEST_CASE("browser: an offer with other payload-type numbers (Opus 109, RED 120) talks and listens") {
  const auto dir = scratch_dir("browser_renumbered");
  Camera cam(dir);
  const auto page = run_page("renumbered", cam.url, dir);
  const auto summary = cam.stop();
  const auto events = read_events(dir / "events.jsonl");
  CHECK(event_field(events, "web_call_open", "opus_payload_type") == 109);
  CHECK(event_field(events, "web_call_open", "red_payload_type") == 120);
  // The camera's Opus, sent as its own 111, reaches the page as 109: the page hears the tone.
  MESSAGE("the page's analyser found " << page["camera_hz"].get<double>() << " Hz");
  CHECK(std::abs(page["camera_hz"].get<double>() - 440.0) < 20.0);
  // The page's RED 120 around Opus 109 plays at the camera as its own 63 around 111.
  REQUIRE(page["bursts"].size() == 1);
  CHECK(page["bursts"][0]["frames_normal"].get<int>() > 35);  // 1 s held is 50 frames
  CHECK(summary["red_copies_received"].get<int>() > 35);
  CHECK(summary["wrong_payload_type"] == 0);
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

namespace {

// Sends `bytes` on a fresh connection and reads what comes back until the camera closes it (true)
// or 5 s pass without a byte (false).
bool closed_by_camera(int port, const std::string& bytes, std::string& out) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  timeval tv{5, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  boost::asio::write(socket, boost::asio::buffer(bytes));
  char chunk[4096];
  for (;;) {
    const auto n = ::recv(socket.native_handle(), chunk, sizeof chunk, 0);
    if (n == 0) return true;
    if (n < 0) return false;
    out.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace

TEST_CASE("web: a keep-alive connection left silent is closed after --web-idle-timeout") {
  const auto dir = scratch_dir("web_idle");
  Camera cam(dir, {"--web-idle-timeout", "0.5"});
  const int port = std::stoi(read_text(dir / "web_port"));
  // A keep-alive request is answered, then the connection goes quiet: the camera closes it.
  std::string answered;
  const auto start = std::chrono::steady_clock::now();
  CHECK(closed_by_camera(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", answered));
  const auto waited_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("closed " << waited_ms << " ms after the request");
  CHECK(answered.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(answered.find("Hold to talk") != std::string::npos);
  // Half a request and then nothing: closed too, with nothing said.
  std::string half;
  CHECK(closed_by_camera(port, "GET / HTTP/1.1\r\nHo", half));
  CHECK(half.empty());
  const auto summary = cam.stop();
  CHECK(summary["web"]["idle_closed"] == 2);
  const auto events = read_events(dir / "events.jsonl");
  CHECK(std::count_if(events.begin(), events.end(), [](const auto& e) { return e["event"] == "web_idle_close"; }) == 2);
}

TEST_CASE("web: --web-idle-timeout is checked and needs --web") {
  const auto dir = scratch_dir("web_idle_usage");
  Process bad({PTTCAM_CAMERA_BIN, "--listen", "127.0.0.1:0", "--web-idle-timeout", "5"}, dir / "bad.log");
  CHECK(bad.wait(10s) == 2);
  CHECK(bad.output().find("--web-idle-timeout") != std::string::npos);
  Process zero({PTTCAM_CAMERA_BIN, "--web", "127.0.0.1:0", "--web-idle-timeout", "0"}, dir / "zero.log");
  CHECK(zero.wait(10s) == 2);
}

TEST_CASE("web: a press carries the page's key time on the camera's clock, believed only when plausible") {
  const auto dir = scratch_dir("web_key_time");
  Camera cam(dir);
  const int port = std::stoi(read_text(dir / "web_port"));
  // A call from Chromium's offer (it never connects: the floor is asked for over HTTP alone).
  const auto created = http_exchange(port, post("/whip", read_text(fs::path(PTTCAM_SOURCE_DIR) / "tests/data/webrtc/chromium_offer.sdp")));
  REQUIRE(created.rfind("HTTP/1.1 201", 0) == 0);
  const auto at = created.find("Location: ") + 10;
  const auto resource = created.substr(at, created.find("\r\n", at) - at);
  const auto clock = http_exchange(port, "GET " + resource + "/clock HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  REQUIRE(clock.rfind("HTTP/1.1 200", 0) == 0);
  const auto camera_us = nlohmann::json::parse(clock.substr(clock.find("\r\n\r\n") + 4))["camera_us"].get<std::int64_t>();
  const auto press = [&](const std::string& body) {
    CHECK(http_exchange(port, post(resource + "/talk", body, "text/plain")).rfind("HTTP/1.1 200", 0) == 0);
    CHECK(http_exchange(port, post(resource + "/talk", "release", "text/plain")).rfind("HTTP/1.1 200", 0) == 0);
  };
  press("press key_us=" + std::to_string(camera_us - 100'000));     // 100 ms before: believed
  press("press key_us=" + std::to_string(camera_us - 5'000'000));   // 5 s old: not
  press("press key_us=" + std::to_string(camera_us + 10'000'000));  // 10 s ahead: not
  press("press key_us=soon");
  press("press");
  cam.stop();
  std::vector<nlohmann::json> granted;
  for (const auto& e : read_events(dir / "events.jsonl"))
    if (e["event"] == "web_talk_granted") granted.push_back(e);
  REQUIRE(granted.size() == 5);
  CHECK(granted[0]["press_from"] == "key");
  MESSAGE("key to camera: " << granted[0]["key_to_camera_ms"] << " ms");
  CHECK(granted[0]["key_to_camera_ms"].get<double>() >= 100.0);
  for (std::size_t i = 1; i < granted.size(); ++i) {
    CHECK(granted[i]["press_from"] == "camera");
    CHECK_FALSE(granted[i].contains("key_to_camera_ms"));
  }
}
