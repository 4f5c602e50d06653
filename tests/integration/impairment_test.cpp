// The talk path through net-impair: cutoffs are detected where the network made them, with the
// right cause, and the camera's loss count matches the proxy's own drop log.
#include <doctest/doctest.h>

#include <chrono>
#include <set>

#include "process.hpp"
#include "talk_check.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;

namespace {

struct Run {
  nlohmann::json camera;
  nlohmann::json proxy;
  std::vector<nlohmann::json> proxy_log;
  std::vector<nlohmann::json> camera_events;
};

Run run_impaired(const fs::path& dir, const std::string& up, const std::string& script, std::uint64_t seed) {
  Process camera({PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file", (dir / "camera.port").string(),
                  "--output", "null", "--mic", "none", "--events", (dir / "camera.jsonl").string(), "--summary",
                  (dir / "camera.json").string(), "--packets", (dir / "camera-packets.csv").string()},
                 dir / "camera.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "camera.port", camera, 10s), camera.output());
  Process proxy({PTTCAM_IMPAIR_BIN, "--listen", "127.0.0.1:0", "--port-file", (dir / "proxy.port").string(), "--to",
                 "127.0.0.1:" + std::to_string(std::stoi(read_text(dir / "camera.port"))), "--seed",
                 std::to_string(seed), "--up", up, "--log", (dir / "proxy.jsonl").string(), "--summary",
                 (dir / "proxy.json").string()},
                dir / "proxy.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "proxy.port", proxy, 10s), proxy.output());
  Process client({PTTCAM_CLIENT_BIN, "--insecure", "--camera", "127.0.0.1:" + std::to_string(std::stoi(read_text(dir / "proxy.port"))),
                  "--input", std::string("wav:") + PTTCAM_SPEECH_WAV, "--speaker", "null", "--talk-script", script,
                  "--events", (dir / "client.jsonl").string()},
                 dir / "client.log");
  INFO("client: " << client.output());
  REQUIRE(client.wait(60s) == 0);
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "burst_summary", 1, camera, 10s));
  proxy.signal(SIGTERM);
  camera.signal(SIGTERM);
  REQUIRE(proxy.wait(10s) == 0);
  REQUIRE(camera.wait(10s) == 0);
  return {nlohmann::json::parse(read_text(dir / "camera.json")), nlohmann::json::parse(read_text(dir / "proxy.json")),
          read_events(dir / "proxy.jsonl"), read_events(dir / "camera.jsonl")};
}

// RTP packets client -> camera that the proxy never delivered, as RFC 3550 A.3 counts them: every
// packet has its own sequence number (a burst's end repeats too), and drops after the last packet
// delivered are invisible to any receiver (nothing after them says they were sent).
long proxy_rtp_drops(const std::vector<nlohmann::json>& log) {
  std::set<long> delivered;
  long drops = 0;
  long trailing = 0;  // dropped since the last delivery
  for (const auto& p : log) {
    if (p["dir"] != "up" || !p.contains("rtp_seq")) continue;
    if (p["fate"] == "deliver") {
      delivered.insert(p["rtp_seq"].get<long>());
      drops += trailing;
      trailing = 0;
    } else if (!delivered.count(p["rtp_seq"].get<long>())) {
      ++trailing;
    }
  }
  return drops;
}

}  // namespace

TEST_CASE("a 500 ms outage inside a burst is exactly one cutoff of about that length, caused by loss") {
  const auto dir = scratch_dir("impair_outage");
  const auto run = run_impaired(dir, "outage=1.5+0.5", "1.0+2.0", 1);
  const auto& cutoffs = run.camera["cutoffs"];
  INFO(run.camera.dump());
  REQUIRE(cutoffs.size() == 1);
  CHECK(cutoffs[0]["cause"] == "loss");
  const double ms = cutoffs[0]["duration_ms"].get<double>();
  MESSAGE("outage of 500 ms heard as a cutoff of " << ms << " ms");
  CHECK(ms > 440);
  CHECK(ms < 560);
  CHECK(run.camera["bursts"].get<int>() >= 1);
  CHECK(run.camera["per_burst"].size() == 1);  // one talk burst, resumed after the gap
  CHECK(run.camera["rtp_lost"].get<long>() == proxy_rtp_drops(run.proxy_log));
  CHECK(proxy_rtp_drops(run.proxy_log) >= 24);  // 25 frames of 20 ms, give or take the edges
}

TEST_CASE("10 % random loss with FEC: no cutoff, frames rebuilt from FEC, loss counted as the proxy dropped it") {
  const auto dir = scratch_dir("impair_loss10");
  const auto run = run_impaired(dir, "loss=10", "0.5+4.0", 3);
  INFO(run.camera.dump());
  const long drops = proxy_rtp_drops(run.proxy_log);
  MESSAGE("proxy dropped " << drops << " RTP packets; camera: " << run.camera["frames_fec"] << " FEC-recovered, "
                           << run.camera["frames_concealed"] << " concealed (" << run.camera["concealed_pct"] << " %)");
  CHECK(drops > 5);
  CHECK(run.camera["cutoff_count"] == 0);
  CHECK(run.camera["frames_fec"].get<int>() > 0);
  CHECK(run.camera["rtp_lost"].get<long>() == drops);
}
