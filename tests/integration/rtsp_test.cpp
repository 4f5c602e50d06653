// camera-sim --rtsp against clients nobody here wrote: GStreamer's ONVIF client talks into the
// backchannel (UDP and TCP interleaved, with Digest authentication) and the camera's WAV holds
// the speech; ffmpeg pulls the camera's microphone over interleaved TCP. Raw sockets send what a
// broken or hostile client would, and the camera stays usable.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "process.hpp"
#include "pttcam/audio/sndfile.hpp"
#include "pttcam/dsp/align.hpp"
#include "pttcam/dsp/levels.hpp"
#include "pttcam/net/asio.hpp"
#include "pttcam/rtsp/digest.hpp"
#include "talk_check.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;
using boost::asio::ip::tcp;

namespace {

// A camera-sim serving RTSP on loopback, its files in `dir`.
struct Camera {
  Camera(const fs::path& dir, std::vector<std::string> extra = {})
      : dir_(dir), process_(args(dir, std::move(extra)), dir / "camera.log") {
    REQUIRE_MESSAGE(wait_for_file(dir / "rtsp_port", process_, 20s), process_.output());
    port = std::stoi(read_text(dir / "rtsp_port"));
    url = "rtsp://127.0.0.1:" + std::to_string(port) + "/live";
  }
  static std::vector<std::string> args(const fs::path& dir, std::vector<std::string> extra) {
    std::vector<std::string> a{PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--rtsp", "127.0.0.1:0", "--rtsp-port-file",
                               (dir / "rtsp_port").string(), "--output", "wav:" + (dir / "speaker.wav").string(),
                               "--mic", "tone:440", "--events", (dir / "events.jsonl").string(), "--summary",
                               (dir / "camera.json").string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  nlohmann::json stop() {
    process_.signal(SIGTERM);
    REQUIRE_MESSAGE(process_.wait(20s) == 0, process_.output());
    return nlohmann::json::parse(read_text(dir_ / "camera.json"));
  }
  bool wait_event(const std::string& name, std::size_t count = 1) {
    return wait_for_lines(dir_ / "events.jsonl", "\"" + name + "\"", count, process_, 20s);
  }
  fs::path dir_;
  Process process_;
  int port = 0;
  std::string url;
};

// A raw RTSP connection with a receive timeout (a hang fails the test instead of stalling it).
struct Raw {
  explicit Raw(int port, long timeout_s = 5) : socket(io) {
    socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    timeval tv{timeout_s, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void write(const std::string& bytes) { boost::asio::write(socket, boost::asio::buffer(bytes)); }
  // One response: status line and headers, then Content-Length bytes of body. Empty on close.
  std::string response() {
    while (true) {
      const auto end = buffer.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        const auto cl = buffer.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) length = std::stoul(buffer.substr(cl + 16));
        if (buffer.size() >= end + 4 + length) {
          auto r = buffer.substr(0, end + 4 + length);
          buffer.erase(0, end + 4 + length);
          return r;
        }
      }
      char chunk[4096];
      const auto n = ::recv(socket.native_handle(), chunk, sizeof chunk, 0);
      if (n <= 0) return {};
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
  }
  std::string request(const std::string& text) {
    write(text);
    return response();
  }
  bool closed_by_peer() {
    char c;
    return ::recv(socket.native_handle(), &c, 1, 0) == 0;
  }
  boost::asio::io_context io;
  tcp::socket socket;
  std::string buffer;
};

std::string header_value(const std::string& response, const std::string& name) {
  const auto at = response.find("\r\n" + name + ": ");
  if (at == std::string::npos) return {};
  const auto from = at + name.size() + 4;
  return response.substr(from, response.find("\r\n", from) - from);
}

// The speech the client pushed, found in the speaker WAV: one lag from a 1 s piece, then each
// 300 ms window of the speech that is not near-silent, searched within 300 ms of where the window
// before it was found (the playout may shift when a loaded machine starves the speaker).
std::vector<double> speech_windows(const std::vector<float>& speech, const std::vector<float>& speaker) {
  constexpr long kWindow = 48 * 300;
  constexpr long kDrift = 48 * 300;
  REQUIRE(speech.size() > 48000 * 2);
  const std::span<const float> probe(speech.data() + 24000, 48000);
  const auto a = pttcam::dsp::align(probe, speaker, -24000, static_cast<long>(speaker.size()));
  MESSAGE("speech found in the speaker WAV with correlation " << a.correlation << " at "
                                                               << static_cast<double>(a.lag - 24000) / 48.0 << " ms");
  long offset = a.lag - 24000;  // speech[i] ~ speaker[i + offset]
  std::vector<double> out;
  for (long at = 0; at + kWindow <= static_cast<long>(speech.size()); at += kWindow) {
    const std::span<const float> w(speech.data() + at, kWindow);
    if (pttcam::dsp::rms_dbfs(w) < -40) continue;  // pauses between words say nothing
    const auto m = pttcam::dsp::align(w, speaker, at + offset - kDrift, at + offset + kDrift);
    if (m.correlation < 0.85)
      MESSAGE("window at " << at / 48 << " ms: correlation " << m.correlation << ", moved "
                           << static_cast<double>(m.lag - at - offset) / 48.0 << " ms");
    else
      offset = m.lag - at;
    out.push_back(m.correlation);
  }
  return out;
}

void check_tone(const std::vector<float>& audio, double hz) {
  REQUIRE(audio.size() > 48000);
  std::vector<float> tone(4800);
  for (std::size_t i = 0; i < tone.size(); ++i) tone[i] = static_cast<float>(std::sin(2 * M_PI * hz * i / 48000));
  const auto a = pttcam::dsp::align(tone, audio, 0, static_cast<long>(audio.size() - tone.size()));
  MESSAGE(hz << " Hz tone found with correlation " << a.correlation);
  CHECK(a.correlation > 0.9);
}

}  // namespace

TEST_CASE("GStreamer's ONVIF client talks into camera-sim over RTSP") {
  std::string protocols = "udp";
  std::vector<std::string> auth;
  std::string codecs;     // --backchannel-codecs; the client sends the first
  std::string expected;   // what the client says it sends
  SUBCASE("UDP, Opus") {
    codecs = "opus,pcmu";
    expected = "OPUS";
  }
  SUBCASE("TCP interleaved, Digest authentication, PCMU (the default offer)") {
    protocols = "tcp";
    auth = {"--user", "admin", "--password", "s3cret"};
    expected = "PCMU";
  }
  SUBCASE("UDP, L16 at 16 kHz") {
    codecs = "l16,pcmu";
    expected = "L16";
  }
  const auto dir = scratch_dir("rtsp_gst_onvif_" + protocols + "_" + expected);
  auto camera_args = auth;
  camera_args.insert(camera_args.end(), {"--playout-delay-ms", "150"});  // content is checked here, not timing
  if (!codecs.empty()) camera_args.insert(camera_args.end(), {"--backchannel-codecs", codecs});
  Camera camera(dir, camera_args);
  std::vector<std::string> script{"/usr/bin/python3", std::string(PTTCAM_SOURCE_DIR) + "/tests/integration/gst_onvif_talk.py",
                                  "--url", camera.url, "--wav", PTTCAM_SPEECH_WAV, "--protocols", protocols,
                                  "--mic-out", (dir / "mic.f32").string()};
  if (!auth.empty()) script.insert(script.end(), {"--user", "admin", "--password", "s3cret"});
  Process client(script, dir / "client.log");
  REQUIRE_MESSAGE(client.wait(90s) == 0, (client.output() + "\ncamera:\n" + camera.process_.output()));
  CHECK(client.output().find("backchannel " + expected) != std::string::npos);
  REQUIRE(camera.wait_event("rtsp_session_end"));  // PAUSE, TEARDOWN
  const auto summary = camera.stop();
  INFO(summary.dump());
  CHECK(summary["rtsp"]["backchannel_packets"].get<long>() > 100);
  // RTP still in flight when the client PAUSEs is dropped, not played.
  CHECK(summary["rtsp"]["backchannel_dropped"].get<long>() < 20);
  CHECK(summary["rtsp"]["auth_failures"] == 0);
  CHECK(summary["malformed"] == 0);
  const auto speech = pttcam::audio::read_mono_48k(PTTCAM_SPEECH_WAV);
  const auto speaker = pttcam::audio::read_mono_48k(dir / "speaker.wav");
  const auto windows = speech_windows(speech, speaker);
  REQUIRE(windows.size() >= 5);
  auto sorted = windows;
  std::sort(sorted.begin(), sorted.end());
  const auto good = std::count_if(windows.begin(), windows.end(), [](double c) { return c >= 0.85; });
  MESSAGE(protocols << " " << expected << ": " << windows.size() << " speech windows, " << good << " with correlation >= 0.85; worst "
                    << sorted.front() << ", median " << sorted[sorted.size() / 2] << "; speaker underrun samples "
                    << summary["speaker_underrun_samples"]);
  if (summary["speaker_underrun_samples"] == 0) {
    CHECK(sorted.front() >= 0.85);
  } else {
    // A speaker starved by a loaded machine inserts silence mid-window (the camera counts it):
    // that window is the speaker's, not the backchannel's. The rest must hold the speech.
    CHECK(static_cast<double>(good) >= 0.9 * static_cast<double>(windows.size()));
    CHECK(sorted[sorted.size() / 2] >= 0.95);
  }
  // And the camera's microphone reached the client through the same session.
  check_tone(read_f32(dir / "mic.f32"), 440);
  const auto events = read_events(dir / "events.jsonl");
  bool play_with_backchannel = false;
  for (const auto& e : events) play_with_backchannel |= e["event"] == "rtsp_play" && e["backchannel"] == true;
  CHECK(play_with_backchannel);
}

TEST_CASE("ffmpeg pulls the camera's microphone over RTSP") {
  std::vector<std::string> auth;
  std::string credentials;
  SUBCASE("no authentication") {}
  SUBCASE("Digest") {
    auth = {"--user", "admin", "--password", "s3cret"};
    credentials = "admin:s3cret@";
  }
  const auto dir = scratch_dir(auth.empty() ? "rtsp_ffmpeg" : "rtsp_ffmpeg_digest");
  Camera camera(dir, auth);
  const auto url = "rtsp://" + credentials + camera.url.substr(7);
  Process ffmpeg({"/usr/bin/ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url, "-t",
                  "2", "-ac", "1", "-ar", "48000", "-y", (dir / "out.wav").string()},
                 dir / "ffmpeg.log");
  REQUIRE_MESSAGE(ffmpeg.wait(60s) == 0, ffmpeg.output());
  const auto pulled = pttcam::audio::read_mono_48k(dir / "out.wav");
  CHECK(pulled.size() >= 48000 * 3 / 2);
  check_tone(pulled, 440);
  const auto summary = camera.stop();
  CHECK(summary["rtsp"]["microphone_packets"].get<long>() >= 75);
  CHECK(summary["rtsp"]["auth_failures"] == 0);
}

TEST_CASE("camera-sim's RTSP answers: Require, one talker, Digest, bad input, vanished clients") {
  const auto dir = scratch_dir("rtsp_protocol");
  Camera camera(dir, {"--user", "admin", "--password", "pw"});
  const std::string require = "Require: www.onvif.org/ver20/backchannel\r\n";
  // Authenticates `method uri` against the last challenge seen on `raw`.
  std::string nonce;
  const auto authorization = [&](const std::string& method, const std::string& uri) {
    return "Authorization: Digest username=\"admin\", realm=\"pttcam camera-sim\", nonce=\"" + nonce + "\", uri=\"" +
           uri + "\", response=\"" +
           pttcam::rtsp::digest_response(pttcam::rtsp::DigestAlgorithm::md5, "admin", "pttcam camera-sim", "pw", method,
                                         uri, nonce) +
           "\"\r\n";
  };

  Raw a(camera.port);
  SUBCASE("OPTIONS without credentials; DESCRIBE gets 401, then 200 with the backchannel only when required") {
    const auto options = a.request("OPTIONS " + camera.url + " RTSP/1.0\r\nCSeq: 1\r\n\r\n");
    CHECK(options.starts_with("RTSP/1.0 200 OK\r\nCSeq: 1\r\n"));
    CHECK(header_value(options, "Public").find("DESCRIBE") != std::string::npos);
    const auto challenge = a.request("DESCRIBE " + camera.url + " RTSP/1.0\r\nCSeq: 2\r\n" + require + "\r\n");
    REQUIRE(challenge.starts_with("RTSP/1.0 401 Unauthorized"));
    nonce = pttcam::rtsp::parse_digest_params(header_value(challenge, "WWW-Authenticate"))->at("nonce");
    const auto wrong = a.request("DESCRIBE " + camera.url + " RTSP/1.0\r\nCSeq: 3\r\n" +
                                 authorization("DESCRIBE", camera.url + "/other") + "\r\n");
    CHECK(wrong.starts_with("RTSP/1.0 401"));
    const auto with = a.request("DESCRIBE " + camera.url + " RTSP/1.0\r\nCSeq: 4\r\n" + require +
                                authorization("DESCRIBE", camera.url) + "\r\n");
    REQUIRE(with.starts_with("RTSP/1.0 200 OK"));
    CHECK(with.find("a=control:track1\r\na=recvonly") != std::string::npos);
    CHECK(with.find("a=control:track2\r\na=sendonly") != std::string::npos);
    const auto without = a.request("DESCRIBE " + camera.url + " RTSP/1.0\r\nCSeq: 5\r\n" + authorization("DESCRIBE", camera.url) + "\r\n");
    CHECK(without.find("track2") == std::string::npos);
    const auto unknown = a.request("DESCRIBE " + camera.url + " RTSP/1.0\r\nCSeq: 6\r\nRequire: funky.example/x\r\n" +
                                   authorization("DESCRIBE", camera.url) + "\r\n");
    CHECK(unknown.starts_with("RTSP/1.0 551 Option not supported"));
    CHECK(header_value(unknown, "Unsupported") == "funky.example/x");
    // Guessing costs the connection: the tenth wrong answer is the last one it gets.
    SUBCASE("ten wrong passwords close the connection") {
      Raw guess(camera.port);
      int answered = 0;
      for (int i = 0; i < 12; ++i) {
        const auto r = guess.request("DESCRIBE " + camera.url + " RTSP/1.0\r\nCSeq: " + std::to_string(i + 1) + "\r\n" +
                                     authorization("DESCRIBE", camera.url + "/guess") + "\r\n");
        if (r.empty()) break;
        CHECK(r.starts_with("RTSP/1.0 401"));
        ++answered;
      }
      CHECK(answered == 10);
      CHECK(a.request("OPTIONS " + camera.url + " RTSP/1.0\r\nCSeq: 20\r\n\r\n").starts_with("RTSP/1.0 200 OK"));
      CHECK(camera.stop()["rtsp"]["auth_failures"] == 11);  // the earlier wrong uri, then ten guesses
    }

    SUBCASE("one talker: a second backchannel SETUP gets 453; it is free again once the first client vanishes") {
      const auto track2 = camera.url + "/track2";
      const auto setup = a.request("SETUP " + track2 + " RTSP/1.0\r\nCSeq: 7\r\n" + require +
                                   "Transport: RTP/AVP/TCP;unicast;interleaved=2-3\r\n" + authorization("SETUP", track2) + "\r\n");
      REQUIRE(setup.starts_with("RTSP/1.0 200 OK"));
      CHECK(header_value(setup, "Transport") == "RTP/AVP/TCP;unicast;interleaved=2-3");
      const auto session = header_value(setup, "Session");
      CHECK(session.ends_with(";timeout=60"));
      const auto play = a.request("PLAY " + camera.url + "/ RTSP/1.0\r\nCSeq: 8\r\n" + require + "Session: " + session +
                                  "\r\n" + authorization("PLAY", camera.url + "/") + "\r\n");
      CHECK(play.starts_with("RTSP/1.0 200 OK"));
      REQUIRE(camera.wait_event("rtsp_backchannel_open"));
      Raw b(camera.port);
      const auto busy = b.request("SETUP " + track2 + " RTSP/1.0\r\nCSeq: 1\r\n" + require +
                                  "Transport: RTP/AVP;unicast;client_port=40000-40001\r\n" + authorization("SETUP", track2) + "\r\n");
      CHECK(busy.starts_with("RTSP/1.0 453 Speaker Busy"));
      a.socket.close();  // vanishes mid-session, no TEARDOWN
      REQUIRE(camera.wait_event("rtsp_backchannel_closed"));
      const auto free = b.request("SETUP " + track2 + " RTSP/1.0\r\nCSeq: 2\r\n" + require +
                                  "Transport: RTP/AVP;unicast;client_port=40000-40001\r\n" + authorization("SETUP", track2) + "\r\n");
      CHECK(free.starts_with("RTSP/1.0 200 OK"));
      CHECK(header_value(free, "Transport").find(";server_port=") != std::string::npos);
      const auto summary = camera.stop();
      CHECK(summary["rtsp"]["backchannel_busy"] == 1);
      CHECK(summary["rtsp"]["sessions"] == 2);
    }
  }
  SUBCASE("malformed requests are answered and closed; a slow client does not block others") {
    Raw slow(camera.port);
    slow.write("OPTIONS " + camera.url + " RTSP/1.0\r\nCSeq: 1\r\nX-Slow: ");  // and then nothing
    const struct {
      std::string bytes;
      std::string status;
    } cases[] = {
        {"HELLO\r\n\r\n", "400"},
        {"OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n", "505"},
        {"OPTIONS * RTSP/1.0\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", "400"},
        {"OPTIONS * RTSP/1.0\r\nContent-Length: 100000\r\n\r\n", "413"},
    };
    for (const auto& c : cases) {
      Raw bad(camera.port);
      const auto r = bad.request(c.bytes);
      CHECK(r.starts_with("RTSP/1.0 " + c.status));
      CHECK(bad.closed_by_peer());
    }
    // No CSeq: answered 400 without closing; interleaved junk on no channel is dropped.
    CHECK(a.request("OPTIONS * RTSP/1.0\r\n\r\n").starts_with("RTSP/1.0 400"));
    a.write(std::string("$\x07\x00\x03" "abc", 7));
    CHECK(a.request("GET_PARAMETER " + camera.url + " RTSP/1.0\r\nCSeq: 9\r\n" + authorization("GET_PARAMETER", camera.url) +
                    "\r\n")
              .starts_with("RTSP/1.0 401"));  // no nonce yet: challenged, still answering
    CHECK(a.request("OPTIONS " + camera.url + " RTSP/1.0\r\nCSeq: 10\r\n\r\n").starts_with("RTSP/1.0 200 OK"));
    const auto summary = camera.stop();
    CHECK(summary["rtsp"]["bad_requests"] == 4);
    CHECK(summary["rtsp"]["backchannel_dropped"] == 1);
  }
}

TEST_CASE("a silent RTSP session times out and releases the talk floor") {
  const auto dir = scratch_dir("rtsp_timeout");
  Camera camera(dir, {"--rtsp-session-timeout", "1"});
  Raw a(camera.port);
  const auto track2 = camera.url + "/track2";
  const auto setup = a.request("SETUP " + track2 + " RTSP/1.0\r\nCSeq: 1\r\nRequire: www.onvif.org/ver20/backchannel\r\n"
                               "Transport: RTP/AVP;unicast;client_port=40000-40001\r\n\r\n");
  REQUIRE(setup.starts_with("RTSP/1.0 200 OK"));
  const auto session = header_value(setup, "Session");
  CHECK(session.ends_with(";timeout=1"));
  const auto play = a.request("PLAY " + camera.url + "/ RTSP/1.0\r\nCSeq: 2\r\nSession: " + session + "\r\n\r\n");
  CHECK(play.starts_with("RTSP/1.0 200 OK"));
  REQUIRE(camera.wait_event("rtsp_backchannel_open"));
  REQUIRE(camera.wait_event("rtsp_backchannel_closed"));  // no keepalive: the sweep ends it
  const auto events = read_events(dir / "events.jsonl");
  bool timed_out = false;
  for (const auto& e : events) timed_out |= e["event"] == "rtsp_session_end" && e["reason"] == "timeout";
  CHECK(timed_out);
  // The session is gone: requests naming it get 454.
  CHECK(a.request("GET_PARAMETER " + camera.url + "/ RTSP/1.0\r\nCSeq: 3\r\nSession: " + session + "\r\n\r\n")
            .starts_with("RTSP/1.0 454 Session Not Found"));
  const auto summary = camera.stop();
  CHECK(summary["rtsp"]["session_timeouts"] == 1);
}

namespace {

// SETUP of the backchannel over UDP, then PLAY: the session id, or "" with the refusal in `status`.
std::string open_backchannel(Raw& raw, const std::string& url, std::string* status = nullptr) {
  const std::string require = "Require: www.onvif.org/ver20/backchannel\r\n";
  const auto setup = raw.request("SETUP " + url + "/track2 RTSP/1.0\r\nCSeq: 1\r\n" + require +
                                 "Transport: RTP/AVP;unicast;client_port=40010-40011\r\n\r\n");
  if (status) *status = setup.substr(0, setup.find("\r\n"));
  if (!setup.starts_with("RTSP/1.0 200")) return "";
  const auto session = header_value(setup, "Session");
  const auto play = raw.request("PLAY " + url + "/ RTSP/1.0\r\nCSeq: 2\r\n" + require + "Session: " + session + "\r\n\r\n");
  if (status) *status = play.substr(0, play.find("\r\n"));
  return play.starts_with("RTSP/1.0 200") ? session : "";
}

bool has_event(const fs::path& events, const std::string& name, const std::string& field, const std::string& value) {
  for (const auto& e : read_events(events))
    if (e["event"] == name && e.contains(field) && e[field] == value) return true;
  return false;
}

}  // namespace

TEST_CASE("one talker across both protocols: RTSP and pttcam's own refuse each other while one talks") {
  const auto dir = scratch_dir("rtsp_cross_floor");
  Camera camera(dir, {"--port-file", (dir / "camera_port").string()});
  REQUIRE(wait_for_file(dir / "camera_port", camera.process_, 10s));
  const std::string camera_udp = "127.0.0.1:" + std::to_string(std::stoi(read_text(dir / "camera_port")));
  const auto client = [&](const std::string& name, const std::string& script) {
    return std::make_unique<Process>(
        std::vector<std::string>{PTTCAM_CLIENT_BIN, "--insecure", "--camera", camera_udp, "--input", "tone:300", "--speaker", "null",
                                 "--talk-script", script, "--events", (dir / (name + ".jsonl")).string()},
        dir / (name + ".log"));
  };
  SUBCASE("an open RTSP backchannel: the pttcam client's talk is denied, speaker_busy") {
    Raw rtsp(camera.port);
    REQUIRE(!open_backchannel(rtsp, camera.url).empty());
    REQUIRE(camera.wait_event("rtsp_backchannel_open"));
    auto ptt = client("ptt", "0.3+1");
    INFO(ptt->output());
    REQUIRE(ptt->wait(30s) >= 0);
    CHECK(has_event(dir / "events.jsonl", "talk_denied", "reason", "speaker_busy"));
    CHECK(ptt->output().find("speaker_busy") != std::string::npos);
    const auto summary = camera.stop();
    CHECK(summary["session"]["talk_denied"] == 1);
  }
  SUBCASE("a pttcam client talking: the backchannel SETUP gets 453 Speaker Busy, and 200 once it released") {
    auto ptt = client("ptt", "0.2+3");
    REQUIRE(camera.wait_event("talk_granted"));
    Raw rtsp(camera.port);
    std::string status;
    CHECK(open_backchannel(rtsp, camera.url, &status).empty());
    CHECK(status == "RTSP/1.0 453 Speaker Busy");
    CHECK(has_event(dir / "events.jsonl", "rtsp_backchannel_busy", "holder", "pttcam client"));
    REQUIRE(camera.wait_event("talk_release"));
    Raw again(camera.port);
    CHECK(!open_backchannel(again, camera.url, &status).empty());
    CHECK(status == "RTSP/1.0 200 OK");
    REQUIRE(ptt->wait(30s) >= 0);
    CHECK(camera.stop()["rtsp"]["backchannel_busy"] == 1);
  }
}

TEST_CASE("the live-view cap tears an RTSP talker's session down: time_limit, and its burst cut (session_cap)") {
  const auto dir = scratch_dir("rtsp_session_cap");
  Camera camera(dir, {"--session-limit", "4", "--playout-delay-ms", "100"});
  Process client({"/usr/bin/python3", std::string(PTTCAM_SOURCE_DIR) + "/tests/integration/gst_onvif_talk.py", "--url",
                  camera.url, "--wav", PTTCAM_SPEECH_WAV},
                 dir / "client.log");
  REQUIRE(camera.wait_event("rtsp_session_end"));
  // The connection closed under it. Over UDP GStreamer 1.22 does not notice (pushing into the
  // backchannel still returns OK), as with a real camera that drops the session.
  REQUIRE(client.wait(30s).has_value());
  MESSAGE("client after the cap: " << client.output());
  CHECK(has_event(dir / "events.jsonl", "rtsp_session_end", "reason", "time_limit"));
  CHECK(has_event(dir / "events.jsonl", "cutoff", "cause", "session_cap"));
  const auto summary = camera.stop();
  INFO(summary.dump());
  CHECK(summary["rtsp"]["session_caps"] == 1);
  CHECK(summary["bursts_cut"] == 1);
  CHECK(summary["per_burst"][0]["ended_by"] == "session_cap");
}

TEST_CASE("a power cycle drops RTSP connections; nothing answers while booting, then it answers again") {
  const auto dir = scratch_dir("rtsp_power_cycle");
  Camera camera(dir, {"--boot-time", "2"});
  Raw before(camera.port);
  REQUIRE(!open_backchannel(before, camera.url).empty());
  REQUIRE(camera.wait_event("rtsp_backchannel_open"));
  camera.process_.signal(SIGHUP);
  REQUIRE(camera.wait_event("power_cycle"));
  CHECK(before.closed_by_peer());
  {
    Raw booting(camera.port);
    CHECK(booting.request("OPTIONS " + camera.url + " RTSP/1.0\r\nCSeq: 1\r\n\r\n").empty());  // closed unanswered
  }
  REQUIRE(camera.wait_event("camera_online"));
  Raw after(camera.port);
  CHECK(after.request("OPTIONS " + camera.url + " RTSP/1.0\r\nCSeq: 1\r\n\r\n").starts_with("RTSP/1.0 200 OK"));
  const auto summary = camera.stop();
  CHECK(summary["rtsp"]["refused_booting"] == 1);
  CHECK(summary["power_cycles"] == 1);
}

namespace {

// GStreamer's ONVIF client pushing the speech WAV into `camera`'s backchannel; its exit code.
int gst_talk(const Camera& camera, const fs::path& dir, Process** out = nullptr) {
  static std::unique_ptr<Process> client;
  client = std::make_unique<Process>(
      std::vector<std::string>{"/usr/bin/python3", std::string(PTTCAM_SOURCE_DIR) + "/tests/integration/gst_onvif_talk.py",
                               "--url", camera.url, "--wav", PTTCAM_SPEECH_WAV},
      dir / "client.log");
  if (out) *out = client.get();
  const auto code = client->wait(90s);
  REQUIRE_MESSAGE(code.has_value(), client->output());
  return *code;
}

// Correlation of each 300 ms window of the speech in the speaker WAV at one offset, found from the
// speech's 2-3 s piece (after any quirk's loss at the start).
std::vector<double> windows_at_one_offset(const std::vector<float>& speech, const std::vector<float>& speaker) {
  const std::span<const float> probe(speech.data() + 96000, 48000);
  const auto a = pttcam::dsp::align(probe, speaker, -96000, static_cast<long>(speaker.size()));
  const long offset = a.lag - 96000;
  std::vector<double> out;
  for (long at = 0; at + 14400 <= static_cast<long>(speech.size()); at += 14400) {
    const std::span<const float> w(speech.data() + at, 14400);
    if (pttcam::dsp::rms_dbfs(w) < -40) {
      out.push_back(-1);  // silent: says nothing
      continue;
    }
    out.push_back(pttcam::dsp::align(w, speaker, at + offset - 480, at + offset + 480).correlation);
  }
  return out;
}

}  // namespace

TEST_CASE("the model decides the backchannel's codecs; --backchannel-codecs overrides") {
  struct Row {
    std::vector<std::string> args;
    std::string expected;  // the backchannel's m= line and rtpmaps, or "551" for none
  };
  const std::string g711 = "m=audio 0 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=control:track2";
  const std::vector<Row> rows{
      {{}, g711},  // indoor-gen2, the default model
      {{"--model", "mini"}, g711},
      {{"--model", "outdoor"}, g711},
      {{"--model", "xt2"}, g711},
      {{"--model", "doorbell"},
       "m=audio 0 RTP/AVP 0 8 97\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:97 L16/16000\r\n"
       "a=control:track2"},
      {{"--model", "doorbell", "--backchannel-codecs", "opus"}, "m=audio 0 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n"},
      {{"--model", "indoor"}, "551"},
  };
  const auto dir = scratch_dir("rtsp_model_codecs");
  for (const auto& row : rows) {
    std::string label;
    for (const auto& a : row.args) label += a + " ";
    CAPTURE(label);
    fs::remove(dir / "rtsp_port");
    Camera camera(dir, row.args);
    Raw raw(camera.port);
    const auto sdp = raw.request("DESCRIBE " + camera.url + " RTSP/1.0\r\nCSeq: 1\r\nRequire: www.onvif.org/ver20/backchannel\r\n\r\n");
    INFO(sdp);
    if (row.expected == "551") {
      CHECK(sdp.starts_with("RTSP/1.0 551"));
    } else {
      REQUIRE(sdp.starts_with("RTSP/1.0 200 OK"));
      const auto back = sdp.substr(sdp.find("a=control:track1"));
      CHECK(back.find(row.expected) != std::string::npos);
    }
    camera.stop();
  }
}

TEST_CASE("quirk no-backchannel: the Require tag is accepted but no backchannel track is offered") {
  const auto dir = scratch_dir("rtsp_quirk_no_backchannel");
  Camera camera(dir, {"--quirk", "no-backchannel"});
  Process* client = nullptr;
  CHECK(gst_talk(camera, dir, &client) == 1);
  CHECK(client->output().find("the camera offered no backchannel") != std::string::npos);
  Raw raw(camera.port);
  const auto sdp = raw.request("DESCRIBE " + camera.url + " RTSP/1.0\r\nCSeq: 1\r\nRequire: www.onvif.org/ver20/backchannel\r\n\r\n");
  CHECK(sdp.starts_with("RTSP/1.0 200 OK"));  // not 551: the client cannot tell why
  CHECK(sdp.find("sendonly") == std::string::npos);
  CHECK(camera.stop()["rtsp"]["backchannel_packets"] == 0);
}

TEST_CASE("quirk g711-only: PCMU/PCMA only; a client that sends Opus is not heard") {
  const auto dir = scratch_dir("rtsp_quirk_g711_only");
  Camera camera(dir, {"--quirk", "g711-only"});
  Raw raw(camera.port);
  const std::string require = "Require: www.onvif.org/ver20/backchannel\r\n";
  const auto sdp = raw.request("DESCRIBE " + camera.url + " RTSP/1.0\r\nCSeq: 1\r\n" + require + "\r\n");
  const auto back = sdp.substr(sdp.find("a=control:track1"));
  CHECK(back.find("m=audio 0 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n") != std::string::npos);
  // A client that sends Opus anyway (as one that ignores the SDP's codecs does).
  boost::asio::io_context io;
  boost::asio::ip::udp::socket udp(io, boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const auto port = udp.local_endpoint().port();
  const auto setup = raw.request("SETUP " + camera.url + "/track2 RTSP/1.0\r\nCSeq: 2\r\n" + require +
                                 "Transport: RTP/AVP;unicast;client_port=" + std::to_string(port) + "-" +
                                 std::to_string(port + 1) + "\r\n\r\n");
  REQUIRE(setup.starts_with("RTSP/1.0 200 OK"));
  const auto transport = header_value(setup, "Transport");
  const auto server_port = std::stoi(transport.substr(transport.find("server_port=") + 12));
  const auto session = header_value(setup, "Session");
  REQUIRE(raw.request("PLAY " + camera.url + "/ RTSP/1.0\r\nCSeq: 3\r\n" + require + "Session: " + session + "\r\n\r\n")
              .starts_with("RTSP/1.0 200 OK"));
  const boost::asio::ip::udp::endpoint to(boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_port));
  for (int i = 0; i < 10; ++i) {
    std::array<std::uint8_t, 15> opus{0x80, 111, 0, static_cast<std::uint8_t>(i), 0, 0, 0x03, 0xC0, 0, 0, 0, 1, 0xF8, 0xFF, 0xFE};
    if (i == 0) opus[1] |= 0x80;  // marker
    udp.send_to(boost::asio::buffer(opus), to);
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(raw.request("TEARDOWN " + camera.url + "/ RTSP/1.0\r\nCSeq: 4\r\nSession: " + session + "\r\n\r\n")
              .starts_with("RTSP/1.0 200 OK"));
  const auto summary = camera.stop();
  CHECK(summary["rtsp"]["backchannel_wrong_codec"] == 10);
  CHECK(summary["rtsp"]["backchannel_packets"] == 0);
  CHECK(summary["frames_normal"] == 0);
  // And it will not be told to offer Opus.
  Process refused({PTTCAM_CAMERA_BIN, "--insecure", "--rtsp", "127.0.0.1:0", "--quirk", "g711-only", "--backchannel-codecs", "opus"},
                  dir / "refused.log");
  CHECK(refused.wait(10s) == 2);
  CHECK(refused.output().find("--quirk g711-only offers PCMU and PCMA only") != std::string::npos);
}

TEST_CASE("quirk drop-first-second: the first second of talk after the backchannel opens is lost") {
  const auto dir = scratch_dir("rtsp_quirk_drop_first");
  Camera camera(dir, {"--quirk", "drop-first-second", "--playout-delay-ms", "150"});
  CHECK(gst_talk(camera, dir) == 0);
  const auto summary = camera.stop();
  CHECK(summary["rtsp"]["backchannel_quirk_dropped"].get<long>() > 5);
  const auto speech = pttcam::audio::read_mono_48k(PTTCAM_SPEECH_WAV);
  const auto speaker = pttcam::audio::read_mono_48k(dir / "speaker.wav");
  const auto w = windows_at_one_offset(speech, speaker);
  std::string figures;
  for (const auto c : w) figures += std::to_string(c).substr(0, 5) + " ";
  MESSAGE("speech windows of 300 ms, correlation in the speaker WAV: " << figures);
  // The first ~second (windows 0-2) is missing; from 1.5 s on the speech is there.
  for (std::size_t i = 0; i < 3; ++i)
    if (w[i] >= 0) CHECK(w[i] < 0.3);
  int heard = 0, spoken = 0;
  for (std::size_t i = 5; i < w.size(); ++i) {
    if (w[i] < 0) continue;
    ++spoken;
    heard += w[i] >= 0.85;
  }
  CHECK(heard >= 0.8 * spoken);
}

TEST_CASE("quirk l16-swapped: L16 announced, played with the wrong byte order: loud noise, no speech") {
  const auto dir = scratch_dir("rtsp_quirk_l16_swapped");
  Camera camera(dir, {"--quirk", "l16-swapped", "--playout-delay-ms", "150"});
  Process* client = nullptr;
  CHECK(gst_talk(camera, dir, &client) == 0);
  CHECK(client->output().find("backchannel L16") != std::string::npos);
  const auto summary = camera.stop();
  CHECK(summary["rtsp"]["backchannel_packets"].get<long>() > 50);
  const auto speech = pttcam::audio::read_mono_48k(PTTCAM_SPEECH_WAV);
  const auto speaker = pttcam::audio::read_mono_48k(dir / "speaker.wav");
  const auto w = windows_at_one_offset(speech, speaker);
  auto sorted = w;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  MESSAGE("median window correlation " << median << "; speaker " << pttcam::dsp::rms_dbfs(speaker) << " dBFS, speech "
                                       << pttcam::dsp::rms_dbfs(speech) << " dBFS");
  CHECK(median < 0.3);
  CHECK(pttcam::dsp::rms_dbfs(speaker) > pttcam::dsp::rms_dbfs(speech));  // swapped bytes: noise louder than the speech
}

TEST_CASE("quirk playout-delay: the talk plays seconds after it was sent") {
  const auto dir = scratch_dir("rtsp_quirk_playout_delay");
  Camera camera(dir, {"--quirk", "playout-delay"});
  CHECK(gst_talk(camera, dir) == 0);
  const auto summary = camera.stop();
  std::int64_t open_us = 0;
  for (const auto& e : read_events(dir / "events.jsonl"))
    if (e["event"] == "rtsp_backchannel_open") open_us = e["t_us"].get<std::int64_t>();
  REQUIRE(open_us > 0);
  const auto first_play = summary["per_burst"][0]["first_play_us"].get<std::int64_t>();
  MESSAGE("first talk audio played " << (first_play - open_us) / 1000 << " ms after the backchannel opened");
  CHECK(first_play - open_us > 1'900'000);  // 2 s added
}

TEST_CASE("quirk describe-require-timeout: a DESCRIBE with Require is never answered; without it, it is") {
  const auto dir = scratch_dir("rtsp_quirk_describe_timeout");
  Camera camera(dir, {"--quirk", "describe-require-timeout"});
  Raw with(camera.port, 2);
  CHECK(with.request("DESCRIBE " + camera.url + " RTSP/1.0\r\nCSeq: 1\r\nRequire: www.onvif.org/ver20/backchannel\r\n\r\n")
            .empty());  // nothing within 2 s
  Raw without(camera.port);
  CHECK(without.request("DESCRIBE " + camera.url + " RTSP/1.0\r\nCSeq: 1\r\n\r\n").starts_with("RTSP/1.0 200 OK"));
  CHECK(camera.stop()["rtsp"]["describes_ignored"] == 1);
}

TEST_CASE("quirk line-busy: a backchannel set up but idle locks pttcam's talk out") {
  const auto dir = scratch_dir("rtsp_quirk_line_busy");
  Camera camera(dir, {"--quirk", "line-busy", "--port-file", (dir / "camera_port").string()});
  REQUIRE(wait_for_file(dir / "camera_port", camera.process_, 10s));
  Raw raw(camera.port);
  const auto setup = raw.request("SETUP " + camera.url + "/track2 RTSP/1.0\r\nCSeq: 1\r\nRequire: www.onvif.org/ver20/backchannel\r\n"
                                 "Transport: RTP/AVP;unicast;client_port=40020-40021\r\n\r\n");
  REQUIRE(setup.starts_with("RTSP/1.0 200 OK"));  // set up, never PLAYed
  REQUIRE(camera.wait_event("rtsp_backchannel_open"));
  Process ptt({PTTCAM_CLIENT_BIN, "--insecure", "--camera", "127.0.0.1:" + std::to_string(std::stoi(read_text(dir / "camera_port"))),
               "--input", "tone:300", "--speaker", "null", "--talk-script", "0.3+1"},
              dir / "ptt.log");
  REQUIRE(ptt.wait(30s).has_value());
  CHECK(ptt.output().find("speaker_busy") != std::string::npos);
  CHECK(camera.stop()["session"]["talk_denied"] == 1);
}
