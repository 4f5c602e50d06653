// Protected live views with the real programs on loopback (docs/security.md): the paired owner
// talks; strangers get no session, no audio and little back; a captured session replayed plays
// nothing, also into the restarted camera; a renewal is a new handshake; a second paired client
// is told busy. The capture is dumpcap's, read back with tshark.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "process.hpp"
#include "pttcam/control/wire.hpp"
#include "pttcam/net/asio.hpp"
#include "pttcam/secure/dtls.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

const std::string kCode = "24681357";

struct Camera {
  fs::path dir;
  Process process;
  std::string port;
  Camera(const fs::path& d, std::vector<std::string> extra = {}, const std::string& tag = "camera")
      : dir(d), process(args(d, extra, tag), d / (tag + ".log")) {
    REQUIRE_MESSAGE(wait_for_file(d / (tag + ".port"), process, 10s), process.output());
    port = read_text(d / (tag + ".port")).substr(0, read_text(d / (tag + ".port")).find('\n'));
  }
  static std::vector<std::string> args(const fs::path& d, const std::vector<std::string>& extra, const std::string& tag) {
    std::vector<std::string> a{PTTCAM_CAMERA_BIN, "--listen", "127.0.0.1:0", "--port-file", (d / (tag + ".port")).string(),
                               "--state-dir", (d / "camera-state").string(), "--pairing-code", kCode, "--output",
                               "wav:" + (d / (tag + "-speaker.wav")).string(), "--mic", "tone:440", "--summary",
                               (d / (tag + ".json")).string(), "--events", (d / (tag + ".jsonl")).string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::string address() const { return "127.0.0.1:" + port; }
  nlohmann::json stop(const std::string& tag = "camera") {
    process.signal(SIGTERM);
    REQUIRE_MESSAGE(process.wait(10s) == 0, process.output());
    return nlohmann::json::parse(read_text(dir / (tag + ".json")));
  }
};

void pair(const Camera& camera, const fs::path& config_dir) {
  Process p({PTTCAM_CLIENT_BIN, "--pair", "--camera", camera.address(), "--pairing-code", kCode, "--config-dir",
             config_dir.string()},
            config_dir.string() + ".pair.log");
  REQUIRE_MESSAGE(p.wait(20s) == 0, p.output());
}

struct Talk {
  int exit = -1;
  std::string output;
  nlohmann::json summary;
};

Talk talk(const Camera& camera, const fs::path& config_dir, const std::string& script, std::vector<std::string> extra = {}) {
  const auto name = config_dir.filename().string();
  std::vector<std::string> a{PTTCAM_CLIENT_BIN, "--camera", camera.address(), "--config-dir", config_dir.string(),
                             "--input", std::string("wav:") + PTTCAM_SPEECH_WAV, "--speaker", "null", "--talk-script",
                             script, "--summary", (camera.dir / (name + ".json")).string()};
  a.insert(a.end(), extra.begin(), extra.end());
  Process p(a, camera.dir / (name + ".log"));
  Talk t;
  const auto code = p.wait(60s);
  REQUIRE_MESSAGE(code.has_value(), "ptt-client hung: " << p.output());
  t.exit = *code;
  t.output = p.output();
  if (fs::exists(camera.dir / (name + ".json"))) t.summary = nlohmann::json::parse(read_text(camera.dir / (name + ".json")));
  return t;
}

// Sends datagrams from a socket of its own and counts the bytes that come back within `wait`.
struct Stranger {
  asio::io_context io;
  asio::ip::udp::socket socket{io, asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0)};
  asio::ip::udp::endpoint to;
  std::size_t sent = 0;
  explicit Stranger(const std::string& port) : to(asio::ip::address_v4::loopback(), static_cast<unsigned short>(std::stoi(port))) {
    socket.non_blocking(true);
  }
  void send(std::span<const std::byte> d) {
    socket.send_to(asio::buffer(d.data(), d.size()), to);
    sent += d.size();
  }
  std::size_t received(std::chrono::milliseconds wait) {
    std::size_t total = 0;
    std::array<std::byte, 2048> buf{};
    for (const auto end = std::chrono::steady_clock::now() + wait; std::chrono::steady_clock::now() < end;) {
      boost::system::error_code ec;
      asio::ip::udp::endpoint from;
      const auto n = socket.receive_from(asio::buffer(buf), from, 0, ec);
      if (!ec) total += n;
      else std::this_thread::sleep_for(5ms);
    }
    return total;
  }
};

std::vector<std::byte> clear_start() {
  pttcam::control::MessageWriter w;
  pttcam::control::Message m;
  m.body = pttcam::control::LiveViewStart{};
  const auto bytes = w.write(m);
  return {bytes.begin(), bytes.end()};
}

std::vector<std::byte> hex_bytes(const std::string& hex) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<std::byte>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// The UDP payloads dumpcap caught going to `port`, in order (tshark reads the file).
std::vector<std::vector<std::byte>> payloads_to(const fs::path& pcap, const std::string& port, const fs::path& dir) {
  Process tshark({"/usr/bin/tshark", "-r", pcap.string(), "-Y", "udp.dstport == " + port, "-T", "fields", "-e", "udp.payload"},
                 dir / "tshark.log");
  REQUIRE(tshark.wait(60s) == 0);
  std::vector<std::vector<std::byte>> out;
  std::istringstream lines(read_text(dir / "tshark.log"));
  for (std::string line; std::getline(lines, line);)
    if (line.size() >= 24 && line.find_first_not_of("0123456789abcdef") == std::string::npos) out.push_back(hex_bytes(line));
  return out;
}

}  // namespace

TEST_CASE("protected live views: the paired owner talks, strangers get nothing") {
  const auto dir = scratch_dir("secure_strangers");
  Camera camera(dir);
  pair(camera, dir / "owner");

  // A stranger with an ordinary ptt-client: not paired, it stops at once and says why.
  const auto unpaired = talk(camera, dir / "stranger", "0.2+1.0");
  CHECK(unpaired.exit == 1);
  CHECK(unpaired.output.find("not paired with camera") != std::string::npos);
  // An open-mode client is told, in clear, that the camera wants a paired client.
  const auto open = talk(camera, dir / "open", "0.2+0.5", {"--insecure"});
  CHECK(open.output.find("pairing_required") != std::string::npos);

  // Raw datagrams from a stranger: STARTs in clear, DTLS-looking junk, RTP. What comes back stays
  // within 3x what was sent.
  Stranger s(camera.port);
  const auto start = clear_start();
  for (int i = 0; i < 50; ++i) {
    s.send(start);
    std::vector<std::byte> junk(60, static_cast<std::byte>(i));
    junk[0] = std::byte{static_cast<unsigned char>(20 + i % 44)};
    s.send(junk);
    junk[0] = std::byte{0x80};
    s.send(junk);
  }
  const auto back = s.received(500ms);
  CHECK(back <= 3 * s.sent);
  MESSAGE("stranger sent " << s.sent << " B, got " << back << " B back");

  const auto owner = talk(camera, dir / "owner", "0.3+1.5");
  CHECK(owner.exit == 0);
  std::this_thread::sleep_for(300ms);
  const auto summary = camera.stop();
  INFO(summary.dump());
  CHECK(summary["session"]["sessions"] == 1);  // the owner's only
  CHECK(summary["dtls"]["handshakes"] == 1);
  CHECK(summary["dtls"]["handshakes_failed"] >= 1);
  CHECK(summary["unprotected_dropped"] >= 100);
  CHECK(summary["bursts"] == 1);
  CHECK(summary["frames_normal"] >= 60);
  CHECK(owner.summary["security"] == "paired");
  CHECK(owner.summary["camera_audio"]["frames_normal"] > 0);  // the camera's microphone, over SRTP
}

TEST_CASE("protected live views: a captured session replayed plays nothing, also into the restarted camera") {
  const auto dir = scratch_dir("secure_replay");
  std::vector<std::vector<std::byte>> captured;
  std::string port;
  {
    Camera camera(dir);
    port = camera.port;
    pair(camera, dir / "owner");
    Process dumpcap({"/usr/bin/dumpcap", "-i", "lo", "-f", "udp port " + camera.port, "-w", (dir / "capture.pcapng").string()},
                    dir / "dumpcap.log");
    REQUIRE_MESSAGE(wait_for_lines(dir / "dumpcap.log", "File:", 1, dumpcap, 20s), dumpcap.output());
    CHECK(talk(camera, dir / "owner", "0.3+1.0").exit == 0);
    std::this_thread::sleep_for(500ms);  // dumpcap's buffer
    dumpcap.signal(SIGINT);
    REQUIRE(dumpcap.wait(10s) == 0);
    captured = payloads_to(dir / "capture.pcapng", camera.port, dir);
    // What went to the camera: DTLS records and SRTP, never a control message in clear.
    std::size_t dtls = 0, srtp = 0;
    for (const auto& d : captured) {
      const auto first = std::to_integer<unsigned>(d[0]);
      CHECK(first != 0x50);
      dtls += first >= 20 && first <= 63;
      srtp += first >= 128 && first <= 191;
    }
    CHECK(dtls >= 4);
    CHECK(srtp >= 40);
    Stranger replay(camera.port);
    for (const auto& d : captured) replay.send(d);
    std::this_thread::sleep_for(500ms);
    const auto summary = camera.stop();
    INFO(summary.dump());
    CHECK(summary["session"]["sessions"] == 1);
    CHECK(summary["bursts"] == 1);  // the replay opened nothing and played nothing
  }
  // The camera restarts with the same keys (same --state-dir); the replay still plays nothing.
  Camera restarted(dir, {}, "restarted");
  Stranger replay(restarted.port);
  for (const auto& d : captured) replay.send(d);
  std::this_thread::sleep_for(500ms);
  const auto summary = restarted.stop("restarted");
  INFO(summary.dump());
  CHECK(summary["session"]["sessions"] == 0);
  CHECK(summary["bursts"] == 0);
  CHECK(summary["dtls"]["handshakes"] == 0);
  CHECK(summary["unprotected_dropped"].get<int>() + summary["dtls"]["records_dropped"].get<int>() > 0);
}

TEST_CASE("protected live views: a renewal after the cap is a new handshake, and talk goes on") {
  const auto dir = scratch_dir("secure_renewal");
  Camera camera(dir, {"--session-limit", "3", "--warn-before", "1"});
  pair(camera, dir / "owner");
  const auto owner = talk(camera, dir / "owner", "0.5+1.0,4.5+1.0", {"--renew"});
  CHECK(owner.exit == 0);
  std::this_thread::sleep_for(300ms);
  const auto summary = camera.stop();
  INFO(summary.dump());
  CHECK(summary["session"]["sessions"] >= 2);
  CHECK(summary["dtls"]["handshakes"] >= 2);
  CHECK(summary["bursts"] == 2);
  CHECK(summary["frames_normal"] >= 90);
}

TEST_CASE("protected live views: a second paired client is told busy") {
  const auto dir = scratch_dir("secure_busy");
  Camera camera(dir);
  pair(camera, dir / "first");
  pair(camera, dir / "second");
  Process first({PTTCAM_CLIENT_BIN, "--camera", camera.address(), "--config-dir", (dir / "first").string(), "--input",
                 "tone:300", "--speaker", "null", "--talk-script", "0.2+2.5"},
                dir / "first.log");
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "session_accept", 1, camera.process, 10s));
  const auto second = talk(camera, dir / "second", "0.2+0.3");
  CHECK(second.output.find("camera refused live view: busy") != std::string::npos);
  REQUIRE(first.wait(30s) == 0);
  const auto summary = camera.stop();
  CHECK(summary["session"]["rejected_busy"] >= 1);
  CHECK(summary["dtls"]["handshakes"] == 2);
}

TEST_CASE("protected live views: the owner's talk goes on through a stranger's flood") {
  const auto dir = scratch_dir("secure_flood");
  Camera camera(dir);
  pair(camera, dir / "owner");
  // A real ClientHello (each costs the camera a cookie check), a START in clear and junk, as fast as
  // 5,000 datagrams a second, for the whole talk.
  auto hello_source = pttcam::secure::DtlsSrtp::psk_client([](std::string_view) { return std::nullopt; });
  const auto hello = hello_source->take_outgoing().at(0);
  const auto start = clear_start();
  std::atomic<bool> flooding{true};
  std::size_t flood_sent = 0;
  std::thread flood([&] {
    Stranger s(camera.port);
    std::vector<std::byte> junk(200, std::byte{0x17});
    for (std::size_t i = 0; flooding; ++i) {
      s.send(i % 3 == 0 ? std::span<const std::byte>(hello) : i % 3 == 1 ? std::span<const std::byte>(start) : junk);
      ++flood_sent;
      if (i % 50 == 49) std::this_thread::sleep_for(10ms);
    }
  });
  const auto owner = talk(camera, dir / "owner", "0.3+2.0");
  flooding = false;
  flood.join();
  std::this_thread::sleep_for(300ms);
  const auto summary = camera.stop();
  INFO(summary.dump());
  CHECK(owner.exit == 0);
  CHECK(summary["session"]["sessions"] == 1);
  CHECK(summary["bursts"] == 1);
  CHECK(summary["cutoff_count"] == 0);
  CHECK(summary["frames_normal"].get<int>() + summary["frames_fec"].get<int>() >= 90);
  MESSAGE("flood: " << flood_sent << " datagrams; owner's burst: " << summary["frames_normal"] << " frames played, "
                    << summary["frames_concealed"] << " concealed; camera answered " << summary["dtls"]["hello_verify_sent"]
                    << " HelloVerifyRequests");
}

// The protected live view's door against a DTLS client nobody here wrote: OpenSSL's s_client with
// the paired client's id and key (read from its key file) completes the handshake, negotiates SRTP
// AEAD_AES_128_GCM, sends a LIVE_VIEW_START in a record and gets the ACCEPT back; with another key
// it gets no session.
TEST_CASE("protected live views: openssl s_client with the paired key opens a live view, with another key nothing") {
  const auto dir = scratch_dir("secure_openssl");
  Camera camera(dir);
  pair(camera, dir / "owner");
  const auto files = std::vector<fs::directory_entry>(fs::directory_iterator(dir / "owner" / "cameras"), {});
  REQUIRE(files.size() == 1);
  const auto pairing = nlohmann::json::parse(read_text(files[0].path()));
  const auto start = clear_start();
  {
    std::ofstream out(dir / "start.bin", std::ios::binary);
    out.write(reinterpret_cast<const char*>(start.data()), static_cast<std::streamsize>(start.size()));
  }
  const auto s_client = [&](const std::string& key, const std::string& name) {
    const std::string cmd = "(cat '" + (dir / "start.bin").string() + "'; sleep 1.5) | timeout 4 openssl s_client -dtls1_2 -connect " +
                            camera.address() + " -psk_identity " + pairing["client_id"].get<std::string>() + " -psk " +
                            key + " -cipher ECDHE-PSK-CHACHA20-POLY1305 -use_srtp SRTP_AEAD_AES_128_GCM -ign_eof";
    Process p({"/bin/sh", "-c", cmd}, dir / (name + ".log"));
    REQUIRE(p.wait(20s).has_value());
    return read_text(dir / (name + ".log"));
  };
  const auto good = s_client(pairing["key"], "s_client");
  CHECK(good.find("SRTP Extension negotiated, profile=SRTP_AEAD_AES_128_GCM") != std::string::npos);
  CHECK(good.find("Cipher is ECDHE-PSK-CHACHA20-POLY1305") != std::string::npos);
  CHECK(good.find(std::string("\x50\x02\x02\x00", 4)) != std::string::npos);  // an ACCEPT, decrypted by s_client
  std::string other = pairing["key"];
  other[0] = other[0] == '0' ? '1' : '0';
  const auto bad = s_client(other, "s_client_wrong_key");
  CHECK(bad.find(std::string("\x50\x02\x02\x00", 4)) == std::string::npos);
  std::this_thread::sleep_for(300ms);
  const auto summary = camera.stop();
  INFO(summary.dump());
  CHECK(summary["session"]["sessions"] == 1);
  // The wrong key's Finished fails its record MAC, which DTLS drops in silence (RFC 6347 4.1.2.7):
  // that handshake never completes, and is dropped as stalled after 10 s.
  CHECK(summary["dtls"]["handshakes"] == 1);
  CHECK(summary["dtls"]["hello_verify_sent"] == 2);
}
