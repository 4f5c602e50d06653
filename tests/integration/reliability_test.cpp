// Session reliability with the real binaries in the open mode (--insecure on both): a renewal
// after the cap plays nothing of the view before it; a new process on a dead client's port gets a
// session of its own instead of joining the dead one; each live view is a fresh stream of the
// camera's microphone at the client.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "process.hpp"
#include "pttcam/audio/sndfile.hpp"
#include "pttcam/dsp/levels.hpp"
#include "pttcam/timing/clock.hpp"
#include "talk_check.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;

namespace {

struct Camera {
  fs::path dir;
  std::unique_ptr<Process> process;
  std::string address;

  Camera(const fs::path& d, std::vector<std::string> extra) : dir(d) {
    std::vector<std::string> args{PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file",
                                  (dir / "port").string(), "--events", (dir / "camera.jsonl").string(), "--summary",
                                  (dir / "camera.json").string()};
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

std::vector<std::string> client_args(const fs::path& dir, const std::string& name, const std::string& camera,
                                     std::vector<std::string> extra) {
  std::vector<std::string> args{PTTCAM_CLIENT_BIN, "--insecure", "--camera", camera, "--events",
                                (dir / (name + ".jsonl")).string(), "--summary", (dir / (name + ".json")).string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<nlohmann::json> named(const std::vector<nlohmann::json>& events, const std::string& name) {
  std::vector<nlohmann::json> out;
  for (const auto& e : events)
    if (e["event"] == name) out.push_back(e);
  return out;
}

// A UDP port free on loopback now (the kernel's pick), for a client that must come back on it.
int free_udp_port() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

// The client's talk key, pressed through a FIFO on its --keys stdin at times the test chooses.
class Keys {
 public:
  explicit Keys(const fs::path& fifo) {
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    fifo_ = fifo;
  }
  ~Keys() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Waits (up to 10 s) for the client to open its end.
  void connect(Process& client) {
    for (int i = 0; i < 1000 && fd_ < 0 && client.running(); ++i) {
      fd_ = ::open(fifo_.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd_ < 0) std::this_thread::sleep_for(10ms);
    }
    REQUIRE_MESSAGE(fd_ >= 0, client.output());
  }
  void at(std::int64_t monotonic_us, const char* line) {
    const auto wait = monotonic_us - pttcam::timing::monotonic_us();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::microseconds(wait));
    REQUIRE(::write(fd_, line, std::strlen(line)) == static_cast<ssize_t>(std::strlen(line)));
  }
  void close() {
    ::close(fd_);
    fd_ = -1;
  }

 private:
  fs::path fifo_;
  int fd_ = -1;
};

std::int64_t nth_time(const fs::path& events, const std::string& name, std::size_t n, Process& owner) {
  REQUIRE_MESSAGE(wait_for_lines(events, "\"" + name + "\"", n + 1, owner, 10s), owner.output());
  return named(read_events(events), name).at(n)["t_us"].get<std::int64_t>();
}

struct RenewalRun {
  std::vector<nlohmann::json> camera, client;
  nlohmann::json summary;
  std::vector<float> speaker;
};

// One live view capped at 1.5 s with the key released 1 ms before the cap (its end packet's
// repeats, 5 and 10 ms later, then come after the camera ended the view and the client renewed
// it), then a 0.5 s press in the renewed view.
RenewalRun renew_at_key_up(const fs::path& dir) {
  Camera camera(dir, {"--mic", "tone:440", "--output", "wav:" + (dir / "speaker.wav").string(), "--session-limit",
                      "1.5", "--warn-before", "0"});
  Keys keys(dir / "keys");
  const auto args = client_args(dir, "client", camera.address,
                                {"--input", "tone:880", "--speaker", "null", "--renew", "--keys", "stdin"});
  std::string line = "exec";
  for (const auto& a : args) line += " '" + a + "'";
  Process client({"/bin/sh", "-c", line + " < '" + (dir / "keys").string() + "'"}, dir / "client.log");
  keys.connect(client);
  const auto accepted = nth_time(dir / "camera.jsonl", "session_accept", 0, *camera.process);
  keys.at(accepted + 300'000, "down\n");
  keys.at(accepted + 1'500'000 - 1'000, "up\n");
  const auto renewed = nth_time(dir / "camera.jsonl", "session_accept", 1, *camera.process);
  keys.at(renewed + 300'000, "down\n");
  keys.at(renewed + 800'000, "up\n");
  nth_time(dir / "camera.jsonl", "burst_summary", 1, *camera.process);
  keys.close();  // end of input: the client quits
  REQUIRE_MESSAGE(client.wait(10s) == 0, client.output());
  RenewalRun run;
  run.summary = camera.stop();
  run.camera = camera.events();
  run.client = read_events(dir / "client.jsonl");
  run.speaker = pttcam::audio::read_mono_48k(dir / "speaker.wav");
  return run;
}

std::vector<float> slice_us(const std::vector<float>& s, std::int64_t t0_us, std::int64_t from_us, std::int64_t to_us) {
  const long a = std::clamp(to_index(from_us, t0_us), 0L, static_cast<long>(s.size()));
  const long b = std::clamp(to_index(to_us, t0_us), a, static_cast<long>(s.size()));
  return {s.begin() + a, s.begin() + b};
}

}  // namespace

TEST_CASE("renewal after the cap plays no stale audio") {
  // The repeats land in the renewed view only if the key-up really came within 10 ms before the
  // cap; a loaded machine can miss that window, so up to four tries.
  RenewalRun run;
  bool hit = false;
  for (int attempt = 0; attempt < 4 && !hit; ++attempt) {
    run = renew_at_key_up(scratch_dir("reliability_renewal_" + std::to_string(attempt)));
    hit = run.summary["end_repeats_stale"].get<int>() > 0;
    MESSAGE("attempt " << attempt << ": end repeats " << run.summary["end_repeats"] << ", stale (ignored) "
                       << run.summary["end_repeats_stale"] << ", used " << run.summary["end_repeats_used"]);
  }
  // A warning, not a failure: the checks below hold either way, and a machine too loaded to hit
  // the window four times running says nothing about the code.
  WARN_MESSAGE(hit, "no end repeat reached the renewed view in four tries");
  const auto ends = named(run.camera, "session_end");
  REQUIRE(ends.size() >= 1);
  CHECK(ends[0]["reason"] == "time_limit");
  const auto granted = named(run.camera, "talk_granted");
  REQUIRE(granted.size() == 2);
  const auto cap_us = ends[0]["t_us"].get<std::int64_t>();
  const auto second_grant_us = granted[1]["t_us"].get<std::int64_t>();
  // Nothing starts playing between the cap and the next grant, and the speaker stays silent there.
  for (const auto& e : named(run.camera, "burst_play_start")) {
    const auto t = e["t_us"].get<std::int64_t>();
    CHECK_FALSE((t > cap_us && t < second_grant_us));
  }
  // The speaker file's time 0 is when its device started, a little after camera_start: place it
  // by the first sound, which is the first burst's first sample (play_us).
  const auto starts = named(run.camera, "burst_play_start");
  REQUIRE(starts.size() == 2);
  const auto first_sound = std::find_if(run.speaker.begin(), run.speaker.end(), [](float x) { return std::abs(x) > 1e-3f; });
  REQUIRE(first_sound != run.speaker.end());
  const std::int64_t origin_us = starts[0]["play_us"].get<std::int64_t>() -
                                 static_cast<std::int64_t>(first_sound - run.speaker.begin()) * 1'000'000 / 48'000;
  const auto second_play_us = starts[1]["play_us"].get<std::int64_t>();
  CHECK(pttcam::dsp::peak_abs(slice_us(run.speaker, origin_us, cap_us + 20'000, second_play_us - 5'000)) < 1e-4);
  // The press in the renewed view plays its own audio from its own first packet: one burst, not
  // headed by a 20 ms frame of the burst before.
  const auto firsts = named(run.camera, "burst_first_packet_received");
  REQUIRE(firsts.size() == 2);
  CHECK(starts[1]["seq"] == firsts[1]["seq"]);
  const auto bursts = named(run.camera, "burst_summary");
  REQUIRE(bursts.size() == 2);
  CHECK(bursts[1]["head_clipped_ms"] == 0.0);
  // Exactly the frames the client sent for that press, not one more.
  // (A first press cut by the cap before its key-up may have no last packet: take the newest.)
  const auto sent = named(run.client, "burst_last_packet");
  REQUIRE_FALSE(sent.empty());
  CHECK(bursts[1]["frames_normal"] == sent.back()["frames"]);
  CHECK(run.summary["bursts"] == 2);
}

TEST_CASE("a new process on a dead client's port gets a session of its own, not the dead one") {
  const auto dir = scratch_dir("reliability_restart");
  Camera camera(dir, {"--mic", "tone:440", "--output", "null"});
  const std::string port = std::to_string(free_udp_port());
  // The first client holds a live view (and the floor), then dies without a word.
  Process first(client_args(dir, "first", camera.address,
                            {"--local-port", port, "--input", "tone:880", "--speaker", "null", "--talk-script",
                             "0.3+30"}),
                dir / "first.log");
  REQUIRE_MESSAGE(wait_for_lines(dir / "first.jsonl", "\"talk_granted\"", 1, first, 10s), first.output());
  REQUIRE(wait_for_lines(dir / "first.jsonl", "\"camera_audio_burst_play_start\"", 1, first, 10s));
  first.signal(SIGKILL);
  first.wait(5s);
  const auto first_session = named(read_events(dir / "first.jsonl"), "session_accept").at(0)["session_id"];

  // A new process on the same port, well inside the camera's keepalive timeout.
  Process second(client_args(dir, "second", camera.address,
                             {"--local-port", port, "--input", "tone:880", "--speaker", "null", "--talk-script",
                              "0.5+0.5"}),
                 dir / "second.log");
  REQUIRE_MESSAGE(second.wait(20s) == 0, second.output());
  const auto summary = camera.stop();
  const auto cam = camera.events();
  const auto cli = read_events(dir / "second.jsonl");

  const auto accepted = named(cli, "session_accept");
  REQUIRE(accepted.size() == 1);
  CHECK(accepted[0]["session_id"] != first_session);
  const auto ends = named(cam, "session_end");
  REQUIRE(ends.size() >= 1);
  CHECK(ends[0]["session_id"] == first_session);
  CHECK(ends[0]["reason"] == "client_restarted");
  CHECK(ends[0]["talking"] == true);
  CHECK(named(cam, "session_accept").size() == 2);
  CHECK(summary["session"]["client_restarts"] == 1);
  // Its own talk is granted in its own session, and the camera's microphone plays as a new stream.
  REQUIRE(named(cli, "talk_granted").size() == 1);
  CHECK(named(cli, "talk_granted")[0]["session_id"] == accepted[0]["session_id"]);
  const auto streams = named(cli, "camera_audio_stream_playing");
  REQUIRE(streams.size() == 1);
  CHECK(streams[0]["reason"] == "first");
}

TEST_CASE("each live view is a fresh stream of the camera's microphone at the client") {
  const auto dir = scratch_dir("reliability_views");
  Camera camera(dir, {"--mic", "tone:440", "--output", "null", "--session-limit", "1.5", "--warn-before", "0"});
  Process client(client_args(dir, "client", camera.address,
                             {"--input", "tone:880", "--speaker", "null", "--renew", "--talk-script", "0.2+0.3,3.6+0.2"}),
                 dir / "client.log");
  REQUIRE_MESSAGE(client.wait(20s) == 0, client.output());
  camera.stop();
  const auto cli = read_events(dir / "client.jsonl");
  const auto views = named(cli, "session_accept").size();
  CHECK(views >= 3);
  // One stream per view, each chosen afresh ("first"): no delay or sequence state carried over.
  const auto streams = named(cli, "camera_audio_stream_playing");
  CHECK(streams.size() == views);
  for (const auto& s : streams) CHECK(s["reason"] == "first");
}
