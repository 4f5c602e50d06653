// Pairing with the real binaries: camera-sim's pairing port and ptt-client --pair/--unpair, the
// files both keep (modes, the same key on both sides), the lockout after 5 wrong codes, and the
// factory reset. Both programs run with --insecure, so these keep working whatever the live view
// requires.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "process.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

struct PairingCamera {
  fs::path dir;
  std::unique_ptr<Process> process;
  std::string address;

  PairingCamera(const fs::path& d, std::vector<std::string> extra) : dir(d) {
    fs::remove(dir / "port");
    std::vector<std::string> args{PTTCAM_CAMERA_BIN, "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(),
                                  "--output", "null", "--mic", "none", "--insecure", "--pairing-code", "24681357",
                                  "--state-dir", (dir / "state").string(), "--events", (dir / "camera.jsonl").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    process = std::make_unique<Process>(args, dir / "camera.log");
    REQUIRE_MESSAGE(wait_for_file(dir / "port", *process, 10s), process->output());
    address = "127.0.0.1:" + std::to_string(std::stoi(read_text(dir / "port")));
  }
  void stop() {
    process->signal(SIGTERM);
    REQUIRE(process->wait(10s) == 0);
  }
  nlohmann::json state() const { return nlohmann::json::parse(read_text(dir / "state" / "camera.json")); }
};

struct Run {
  int code;
  std::string output;
};

Run client(const fs::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), PTTCAM_CLIENT_BIN);
  args.insert(args.end(), {"--config-dir", (dir / "config").string()});
  Process p(args, dir / "client.log");
  const auto code = p.wait(30s);
  REQUIRE_MESSAGE(code.has_value(), "ptt-client hung: " << p.output());
  return {*code, p.output()};
}

Run pair(const PairingCamera& cam, const std::string& code) {
  return client(cam.dir, {"--pair", "--camera", cam.address, "--pairing-code", code, "--insecure"});
}

}  // namespace

TEST_CASE("pairing: ptt-client --pair keeps the same key as camera-sim, in private files") {
  const auto dir = scratch_dir("pairing_keys");
  PairingCamera cam(dir, {});
  CHECK(cam.process->output().find("camera-sim: pairing code 24681357 (camera id ") != std::string::npos);
  const auto camera_id = cam.state()["camera_id"].get<std::string>();

  const auto paired = pair(cam, "24681357");
  REQUIRE_MESSAGE(paired.code == 0, paired.output);
  const auto file = dir / "config" / "cameras" / camera_id;
  CHECK(paired.output == "paired with camera " + camera_id + "; key saved in " + file.string() + "\n");
  CHECK(mode_of(dir / "config") == 0700);
  CHECK(mode_of(file) == 0600);
  CHECK(mode_of(dir / "state") == 0700);
  CHECK(mode_of(dir / "state" / "camera.json") == 0600);
  const auto mine = nlohmann::json::parse(read_text(file));
  const auto clients = cam.state()["clients"];
  REQUIRE(clients.size() == 1);
  CHECK(clients[0]["id"] == mine["client_id"]);
  CHECK(clients[0]["key"] == mine["key"]);
  CHECK(mine["key"].get<std::string>().size() == 64);
  cam.stop();

  // The camera's pairings survive a restart; --factory-reset forgets them (not the camera id).
  PairingCamera again(dir, {});
  CHECK(again.state()["clients"].size() == 1);
  again.stop();
  PairingCamera reset(dir, {"--factory-reset"});
  CHECK(reset.state()["clients"].empty());
  CHECK(reset.state()["camera_id"] == camera_id);
  reset.stop();

  // --unpair deletes the file; a second time there is nothing to delete.
  const auto gone = client(dir, {"--unpair", "--camera-id", camera_id});
  CHECK_MESSAGE(gone.code == 0, gone.output);
  CHECK_FALSE(fs::exists(file));
  const auto none = client(dir, {"--unpair", "--camera-id", camera_id});
  CHECK(none.code == 1);
  CHECK(none.output.find("ptt-client: no pairing with camera " + camera_id) != std::string::npos);
}

TEST_CASE("pairing: 5 wrong codes lock the camera and the 6th attempt is refused even with the right code") {
  const auto dir = scratch_dir("pairing_lockout");
  PairingCamera cam(dir, {});
  for (int i = 0; i < 5; ++i) {
    const auto wrong = pair(cam, "11112222");
    CHECK(wrong.code == 1);
    CHECK(wrong.output == "ptt-client: pairing refused: wrong pairing code\n");
  }
  const auto locked = pair(cam, "24681357");
  CHECK(locked.code == 1);
  CHECK(locked.output.find("locked after too many wrong codes; try again in 60 s") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "config" / "cameras"));
  CHECK(cam.state()["clients"].empty());
  cam.stop();
  const auto events = read_text(dir / "camera.jsonl");
  std::size_t failed = 0;
  for (std::size_t at = 0; (at = events.find("\"pairing_failed\"", at)) != std::string::npos; ++at) ++failed;
  CHECK(failed == 5);
  CHECK(events.find("\"event\":\"pairing_locked\"") != std::string::npos);
  CHECK(events.find("pairing_succeeded") == std::string::npos);

  // The factory reset also lifts the lock.
  PairingCamera reset(dir, {"--factory-reset"});
  const auto paired = pair(reset, "24681357");
  CHECK_MESSAGE(paired.code == 0, paired.output);
  // --unpair by the address it was paired at.
  const auto gone = client(dir, {"--unpair", "--camera", reset.address});
  CHECK_MESSAGE(gone.code == 0, gone.output);
  CHECK(fs::is_empty(dir / "config" / "cameras"));
  reset.stop();
}
