// Live-view sessions with the real binaries: the 5-minute cap (scaled down), talk floor on a
// model without a speaker, busy camera, power cycle with renew, two-way and half-duplex audio.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <thread>

#include "process.hpp"
#include "pttcam/audio/sndfile.hpp"
#include "pttcam/control/wire.hpp"
#include "pttcam/net/asio.hpp"
#include "talk_check.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;

namespace {

struct Camera {
  fs::path dir;
  std::unique_ptr<Process> process;
  std::string address;

  Camera(const fs::path& d, std::vector<std::string> extra) : dir(d) {
    std::vector<std::string> args{PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(),
                                  "--output", "wav:" + (dir / "speaker.wav").string(), "--events",
                                  (dir / "camera.jsonl").string(), "--summary", (dir / "camera.json").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    process = std::make_unique<Process>(args, dir / "camera.log");
    REQUIRE_MESSAGE(wait_for_file(dir / "port", *process, 10s), process->output());
    address = "127.0.0.1:" + std::to_string(std::stoi(read_text(dir / "port")));
  }
  nlohmann::json stop() {
    process->signal(SIGTERM);
    REQUIRE(process->wait(10s) == 0);
    return nlohmann::json::parse(read_text(dir / "camera.json"));
  }
  std::vector<nlohmann::json> events() const { return read_events(dir / "camera.jsonl"); }
};

// Runs a client to completion; returns its exit code. Files are NAME.jsonl, NAME.json, NAME.log.
int run_client(const fs::path& dir, const std::string& name, const std::string& camera, std::vector<std::string> extra) {
  std::vector<std::string> args{PTTCAM_CLIENT_BIN, "--insecure", "--camera", camera, "--events", (dir / (name + ".jsonl")).string(),
                                "--summary", (dir / (name + ".json")).string()};
  args.insert(args.end(), extra.begin(), extra.end());
  Process client(args, dir / (name + ".log"));
  const auto code = client.wait(60s);
  REQUIRE_MESSAGE(code.has_value(), "client hung: " << client.output());
  return *code;
}

std::vector<nlohmann::json> named(const std::vector<nlohmann::json>& events, const std::string& name) {
  std::vector<nlohmann::json> out;
  for (const auto& e : events)
    if (e["event"] == name) out.push_back(e);
  return out;
}

double tone_correlation(const std::vector<float>& signal, double hz) {
  std::vector<float> tone(4800);
  for (std::size_t i = 0; i < tone.size(); ++i)
    tone[i] = static_cast<float>(std::sin(2 * M_PI * hz * static_cast<double>(i) / 48000));
  if (signal.size() <= tone.size()) return 0;
  return pttcam::dsp::align(tone, signal, 0, static_cast<long>(signal.size() - tone.size())).correlation;
}

std::vector<float> slice_us(const std::vector<float>& s, std::int64_t t0_us, std::int64_t from_us, std::int64_t to_us) {
  const long a = std::clamp(to_index(from_us, t0_us), 0L, static_cast<long>(s.size()));
  const long b = std::clamp(to_index(to_us, t0_us), a, static_cast<long>(s.size()));
  return {s.begin() + a, s.begin() + b};
}

const std::string kSpeech = std::string("wav:") + PTTCAM_SPEECH_WAV;

}  // namespace

TEST_CASE("session cap cuts a talk burst at the limit, logged as time_limit on both sides") {
  const auto dir = scratch_dir("session_cap");
  Camera camera(dir, {"--mic", "none", "--session-limit", "3", "--warn-before", "1"});
  CHECK(run_client(dir, "client", camera.address, {"--input", kSpeech, "--speaker", "null", "--talk-script", "1.5+3.0"}) == 0);
  const auto summary = camera.stop();
  const auto cam = camera.events();
  const auto cli = read_events(dir / "client.jsonl");

  REQUIRE(named(cam, "session_end").size() == 1);
  CHECK(named(cam, "session_end")[0]["reason"] == "time_limit");
  CHECK(named(cam, "session_end")[0]["talking"] == true);
  CHECK(named(cam, "cutoff").size() == 1);
  CHECK(named(cam, "cutoff")[0]["cause"] == "session_cap");
  CHECK(named(cam, "session_warning").size() == 1);
  REQUIRE(named(cli, "session_end").size() == 1);
  CHECK(named(cli, "session_end")[0]["reason"] == "time_limit");
  CHECK(named(cli, "cutoff").size() == 1);
  CHECK(summary["bursts_cut"] == 1);

  // The speaker played speech until the cap and nothing after it.
  const auto out = pttcam::audio::read_mono_48k(dir / "speaker.wav");
  const auto t0 = event_time(cam, "camera_start");
  const auto end_us = named(cam, "session_end")[0]["t_us"].get<std::int64_t>();
  const auto start = named(cam, "session_accept")[0]["t_us"].get<std::int64_t>();
  MESSAGE("session lasted " << (end_us - start) / 1000 << " ms (limit 3000 ms)");
  CHECK(end_us - start >= 3'000'000);
  CHECK(end_us - start < 3'100'000);  // sanity: the camera wakes at the cap
  CHECK(pttcam::dsp::peak_abs(slice_us(out, t0, end_us - 500'000, end_us)) > 0.05);
  // After the cut only what was already queued for the speaker (a few ms) may still play.
  CHECK(pttcam::dsp::peak_abs(slice_us(out, t0, end_us + 20'000, end_us + 2'000'000)) < 1e-4);
}

TEST_CASE("the original indoor model has no speaker: every talk request is denied") {
  const auto dir = scratch_dir("session_indoor");
  Camera camera(dir, {"--mic", "none", "--model", "indoor"});
  CHECK(run_client(dir, "client", camera.address, {"--input", kSpeech, "--speaker", "null", "--talk-script", "0.5+1.0,2.0+0.5"}) == 0);
  const auto summary = camera.stop();
  const auto cli = read_events(dir / "client.jsonl");
  const auto accept = named(cli, "session_accept");
  REQUIRE(accept.size() == 1);
  CHECK(accept[0]["model"] == "indoor");
  const auto denied = named(cli, "talk_denied");
  REQUIRE(denied.size() == 2);
  CHECK(denied[0]["reason"] == "no_speaker");
  CHECK(read_text(dir / "client.log").find("talk denied: no_speaker") != std::string::npos);
  CHECK(summary["bursts"] == 0);
  CHECK(pttcam::dsp::peak_abs(pttcam::audio::read_mono_48k(dir / "speaker.wav")) < 1e-4);
}

TEST_CASE("a second client gets busy while a live view is open") {
  const auto dir = scratch_dir("session_busy");
  Camera camera(dir, {"--mic", "none"});
  Process first({PTTCAM_CLIENT_BIN, "--insecure", "--camera", camera.address, "--input", "tone:440", "--speaker", "null",
                 "--talk-script", "0.2+2.5", "--events", (dir / "first.jsonl").string()},
                dir / "first.log");
  REQUIRE(wait_for_lines(dir / "first.jsonl", "session_accept", 1, first, 10s));
  CHECK(run_client(dir, "second", camera.address, {"--input", "tone:440", "--speaker", "null", "--talk-script", "0.2+0.2"}) == 0);
  REQUIRE(first.wait(30s) == 0);
  camera.stop();
  const auto second = read_events(dir / "second.jsonl");
  REQUIRE(named(second, "session_reject").size() >= 1);
  CHECK(named(second, "session_reject")[0]["reason"] == "busy");
  CHECK(named(second, "talk_failed").size() == 1);
  CHECK(read_text(dir / "second.log").find("camera refused live view: busy") != std::string::npos);
}

TEST_CASE("power cycle mid-talk: the client notices within the timeout and, with --renew, talks again") {
  const auto dir = scratch_dir("session_power_cycle");
  Camera camera(dir, {"--mic", "none", "--reboot-at", "1.5", "--boot-time", "2"});
  CHECK(run_client(dir, "client", camera.address,
                   {"--input", kSpeech, "--speaker", "null", "--renew", "--keepalive-timeout", "2", "--talk-script",
                    "1.0+1.5,5.5+1.0"}) == 0);
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "burst_play_end", 1, *camera.process, 5s));
  const auto summary = camera.stop();
  const auto cam = camera.events();
  const auto cli = read_events(dir / "client.jsonl");

  const auto cycle_us = event_time(cam, "power_cycle");
  const auto lost = named(cli, "camera_not_responding");
  REQUIRE(lost.size() >= 1);
  const double noticed_s = static_cast<double>(lost[0]["t_us"].get<std::int64_t>() - cycle_us) / 1e6;
  // Silence is counted from the last keepalive heard (the camera sends one a second), so the
  // client notices between timeout - 1 s and the timeout after the plug is pulled.
  MESSAGE("client noticed the power cycle after " << noticed_s << " s (keepalive timeout 2 s)");
  CHECK(noticed_s > 0.9);
  CHECK(noticed_s < 2.2);
  CHECK(lost[0]["message"] == "camera not responding: check its power and network");
  CHECK(named(cli, "session_accept").size() == 2);
  CHECK(named(cli, "camera_rebooted").size() == 1);
  // The first burst was cut by the power cut; the second one played in full after the reboot.
  CHECK(summary["bursts"] == 2);
  const auto plays = named(cam, "burst_play_start");
  REQUIRE(plays.size() == 2);
  CHECK(plays[1]["t_us"].get<std::int64_t>() > cycle_us + 2'000'000);
  const auto ends = named(cam, "burst_play_end");
  REQUIRE(ends.size() == 1);
  CHECK(ends[0]["terminated"] == true);
}

TEST_CASE("two-way audio: the client's speaker plays the camera's microphone; half duplex mutes it while talking") {
  for (const bool half : {false, true}) {
    CAPTURE(half);
    const auto dir = scratch_dir(half ? "session_half_duplex" : "session_two_way");
    std::vector<std::string> cam_args{"--mic", "tone:1000"};
    if (half) cam_args.push_back("--half-duplex");
    Camera camera(dir, cam_args);
    CHECK(run_client(dir, "client", camera.address,
                     {"--input", "tone:300", "--speaker", "wav:" + (dir / "client-speaker.wav").string(),
                      "--talk-script", "1.0+1.0,2.5+0.1"}) == 0);
    camera.stop();
    const auto cli = read_events(dir / "client.jsonl");
    const auto heard = pttcam::audio::read_mono_48k(dir / "client-speaker.wav");
    const auto t0 = event_time(cli, "client_start");
    const auto windows = key_windows(cli);
    REQUIRE(windows.size() == 2);
    const auto before = slice_us(heard, t0, windows[0].down_us - 600'000, windows[0].down_us - 100'000);
    const auto during = slice_us(heard, t0, windows[0].down_us + 200'000, windows[0].up_us - 100'000);
    const double c_before = tone_correlation(before, 1000);
    MESSAGE("camera tone at the client before talking: correlation " << c_before);
    CHECK(c_before > 0.9);
    if (half) {
      CHECK(pttcam::dsp::peak_abs(during) < 1e-3);  // muted while the floor was held
    } else {
      CHECK(tone_correlation(during, 1000) > 0.9);  // full duplex: still there
    }
  }
}

TEST_CASE("ptt-client --camera-id must name the camera's serial") {
  const auto dir = scratch_dir("session_camera_id");
  Camera camera(dir, {"--mic", "none", "--serial", "FRONT-DOOR-1"});
  CHECK(run_client(dir, "wrong", camera.address, {"--input", "tone:440", "--speaker", "null", "--camera-id", "GARAGE-2",
                                                  "--talk-script", "0.3+0.2"}) == 0);
  CHECK(run_client(dir, "right", camera.address, {"--input", "tone:440", "--speaker", "null", "--camera-id",
                                                  "FRONT-DOOR-1", "--talk-script", "0.3+0.2"}) == 0);
  camera.stop();
  const auto wrong = read_events(dir / "wrong.jsonl");
  REQUIRE(named(wrong, "session_reject").size() >= 1);
  CHECK(named(wrong, "session_reject")[0]["reason"] == "unknown_camera");
  const auto right = read_events(dir / "right.jsonl");
  REQUIRE(named(right, "session_accept").size() == 1);
  CHECK(named(right, "session_accept")[0]["serial"] == "FRONT-DOOR-1");
}

TEST_CASE("camera-sim ignores and counts bad control messages and media outside a session") {
  const auto dir = scratch_dir("session_bad_input");
  Camera camera(dir, {"--mic", "none"});
  boost::asio::io_context io;
  boost::asio::ip::udp::socket sock(io, boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const auto port = static_cast<unsigned short>(std::stoi(read_text(dir / "port")));
  const boost::asio::ip::udp::endpoint to(boost::asio::ip::make_address("127.0.0.1"), port);
  pttcam::control::MessageWriter writer;
  const auto send = [&](const pttcam::control::Message& m) {
    const auto bytes = writer.write(m);
    REQUIRE_FALSE(bytes.empty());
    sock.send_to(boost::asio::buffer(bytes.data(), bytes.size()), to);
  };
  using namespace pttcam::control;
  // Media before any live view: an RTP/Opus packet (marker, PT 111) with a one-byte payload.
  const std::vector<unsigned char> rtp{0x80, 0xef, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xf8};
  sock.send_to(boost::asio::buffer(rtp), to);
  send({kVersion, 0, 1, TalkGranted{1}});              // a grant arriving at the camera: wrong direction
  send({kVersion, 77, 2, Keepalive{0}});               // no such session
  send({kVersion, 77, 3, TalkRequest{1}});             // no such session
  std::vector<unsigned char> unknown_type{0x50, kVersion, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0};
  sock.send_to(boost::asio::buffer(unknown_type), to);  // message type 0x7f
  std::vector<unsigned char> future{0x50, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0};
  sock.send_to(boost::asio::buffer(future), to);  // protocol version 9: answered with REJECT
  boost::asio::ip::udp::endpoint from;
  std::array<std::byte, 512> reply{};
  const std::size_t got = sock.receive_from(boost::asio::buffer(reply), from);  // the only answer
  const auto decoded = decode(std::span<const std::byte>(reply.data(), got));
  REQUIRE(decoded);
  REQUIRE(std::holds_alternative<Reject>(decoded.message->body));
  CHECK(std::get<Reject>(decoded.message->body).reason == RejectReason::unsupported_version);

  // None of it changed anything: a real client still gets a session and talks.
  CHECK(run_client(dir, "client", camera.address, {"--input", kSpeech, "--speaker", "null", "--talk-script", "0.3+0.5"}) == 0);
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "burst_play_end", 1, *camera.process, 5s));
  const auto s = camera.stop();
  CHECK(s["media_dropped"] == 1);
  CHECK(s["control_malformed"] == 1);
  CHECK(s["session"]["ignored_wrong_direction"] == 1);
  CHECK(s["session"]["ignored_unknown_session"] == 2);
  CHECK(s["session"]["sessions"] == 1);
  CHECK(s["bursts"] == 1);
  const auto accepted = named(read_events(dir / "client.jsonl"), "session_accept");
  REQUIRE(accepted.size() == 1);
  CHECK(accepted[0]["session_id"].get<std::uint64_t>() != 0);
}

TEST_CASE("a tap shorter than a frame plays at once, not later inside the next talk") {
  const auto dir = scratch_dir("session_short_tap");
  Camera camera(dir, {"--mic", "none"});
  CHECK(run_client(dir, "client", camera.address, {"--input", kSpeech, "--speaker", "null", "--talk-script",
                                                   "0.5+0.005,1.5+0.5"}) == 0);
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "burst_play_end", 2, *camera.process, 5s));
  const auto summary = camera.stop();
  CHECK(summary["bursts"] == 2);
  const auto plays = named(camera.events(), "burst_play_start");
  REQUIRE(plays.size() == 2);
  for (const auto& p : plays) {
    MESSAGE("talk-start " << p["talk_start_ms"] << " ms");
    CHECK(p["talk_start_ms"].get<double>() < 200.0);  // sanity: not held until the next grant
  }
}

TEST_CASE("camera-sim stopped while a burst still plays: the burst is heard to its end and kept in the summary") {
  const auto dir = scratch_dir("stop_while_playing");
  Camera camera(dir, {"--mic", "none", "--playout-delay-ms", "400"});
  CHECK(run_client(dir, "client", camera.address, {"--input", kSpeech, "--speaker", "null", "--talk-script", "0.3+1.0"}) == 0);
  const auto s = camera.stop();  // at once: about 400 ms of the burst is still to play
  CHECK(s["bursts"] == 1);
  REQUIRE(s["per_burst"].size() == 1);
  CHECK(s["per_burst"][0]["ended_by"] == "end");
  CHECK(s["talk_seconds"].get<double>() > 0.9);
}

namespace {

// A source that sends control datagrams and never proves its address: what a victim whose address
// an attacker spoofs would receive. It counts every byte that comes back.
struct Unvalidated {
  boost::asio::io_context io;
  boost::asio::ip::udp::socket sock{io, boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)};
  boost::asio::ip::udp::endpoint camera;
  pttcam::control::MessageWriter writer;
  std::size_t sent = 0, received = 0, rtp = 0, retries = 0, other = 0;

  explicit Unvalidated(unsigned short port) : camera(boost::asio::ip::make_address("127.0.0.1"), port) {
    sock.non_blocking(true);
  }
  void send(const pttcam::control::Message& m) {
    const auto bytes = writer.write(m);
    REQUIRE_FALSE(bytes.empty());
    sent += sock.send_to(boost::asio::buffer(bytes.data(), bytes.size()), camera);
  }
  // Reads whatever has arrived, for `wait`.
  void drain(std::chrono::milliseconds wait) {
    const auto until = std::chrono::steady_clock::now() + wait;
    std::array<std::byte, 2048> buf{};
    while (std::chrono::steady_clock::now() < until) {
      boost::system::error_code ec;
      boost::asio::ip::udp::endpoint from;
      const std::size_t n = sock.receive_from(boost::asio::buffer(buf), from, 0, ec);
      if (ec == boost::asio::error::would_block) {
        std::this_thread::sleep_for(5ms);
        continue;
      }
      REQUIRE_FALSE(ec);
      received += n;
      const auto first = std::to_integer<unsigned>(buf[0]);
      if (first >= 128 && first <= 191) {
        ++rtp;
        continue;
      }
      const auto d = pttcam::control::decode(std::span<const std::byte>(buf.data(), n));
      if (d && std::holds_alternative<pttcam::control::Retry>(d.message->body)) {
        ++retries;
      } else {
        ++other;
      }
    }
  }
};

}  // namespace

TEST_CASE("a START from an unproven address gets a small RETRY only: under 3x the bytes, no session, no audio") {
  const auto dir = scratch_dir("session_amplification");
  // A camera with a microphone and 2 Mbit/s of video: what a reflection would carry if it opened a view.
  Camera camera(dir, {"--mic", "tone:1000", "--video-kbps", "2000"});
  using namespace pttcam::control;
  Unvalidated victim(static_cast<unsigned short>(std::stoi(read_text(dir / "port"))));
  // One START, then a flood of 300 more over 1.5 s, some with a forged cookie.
  Cookie forged;
  forged.present = true;
  forged.bytes.fill(std::byte{0x42});
  victim.send({kVersion, 0, 1, LiveViewStart{}});
  victim.drain(300ms);
  CHECK(victim.retries == 1);
  for (std::uint32_t i = 0; i < 300; ++i) {
    victim.send({kVersion, 0, 2 + i, LiveViewStart{"", i % 3 == 0 ? forged : Cookie{}}});
    if (i % 20 == 19) victim.drain(100ms);
  }
  victim.drain(1500ms);  // past a keepalive interval: a session would have streamed by now
  MESSAGE("unvalidated source: sent " << victim.sent << " B in 301 STARTs, got back " << victim.received << " B ("
                                      << victim.retries << " RETRYs, " << victim.rtp << " RTP), ratio "
                                      << static_cast<double>(victim.received) / static_cast<double>(victim.sent));
  CHECK(victim.rtp == 0);
  CHECK(victim.other == 0);
  CHECK(victim.received < 3 * victim.sent);
  CHECK(victim.retries <= 8 + 4 * 5);  // the camera's per-source limit: 8 at once, 4 a second (5 s: generous)

  // The owner's client is unaffected: it answers the RETRY, gets its session and talks.
  CHECK(run_client(dir, "client", camera.address, {"--input", kSpeech, "--speaker", "null", "--talk-script", "0.3+0.5"}) == 0);
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "burst_play_end", 1, *camera.process, 5s));
  const auto s = camera.stop();
  CHECK(s["session"]["sessions"] == 1);
  CHECK(s["session"]["bad_cookies"] == 100);
  CHECK(s["bursts"] == 1);
  CHECK(named(camera.events(), "session_accept").size() == 1);
  const auto client = nlohmann::json::parse(read_text(dir / "client.json"));
  MESSAGE("client summary session: " << client["session"].dump());
}
