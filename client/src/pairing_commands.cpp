#include "pttcam/client/pairing_commands.hpp"

#include <cstdio>

#include <boost/asio/io_context.hpp>

#include "pttcam/pairing/client.hpp"
#include "pttcam/secure/keyring.hpp"

namespace pttcam::client {

namespace {

constexpr std::chrono::seconds kPairTimeout{15};

void say_refused(const pairing::PairOutcome& out) {
  using Kind = pairing::PairOutcome::Kind;
  switch (out.kind) {
    case Kind::wrong_code:
      std::fprintf(stderr, "ptt-client: pairing refused: wrong pairing code\n");
      break;
    case Kind::locked:
      std::fprintf(stderr, "ptt-client: pairing refused: the camera is locked after too many wrong codes; try again in "
                           "%u s\n", out.locked_s);
      break;
    case Kind::busy:
      std::fprintf(stderr, "ptt-client: pairing refused: the camera is busy with another pairing attempt; try again\n");
      break;
    default: std::fprintf(stderr, "ptt-client: pairing failed: %s\n", out.error.c_str());
  }
}

}  // namespace

int pair_camera(const net::Udp::endpoint& camera, const std::string& code, const std::filesystem::path& config_dir) {
  const secure::ClientKeyring keyring(config_dir);
  const auto client_id = secure::new_id();
  boost::asio::io_context io;
  pairing::PairOutcome outcome;
  pairing::pair(io, boost::asio::ip::tcp::endpoint(camera.address(), camera.port()), code, client_id, kPairTimeout,
                [&](pairing::PairOutcome o) { outcome = std::move(o); });
  io.run();
  if (outcome.kind != pairing::PairOutcome::Kind::paired) {
    say_refused(outcome);
    return 1;
  }
  secure::CameraPairing p;
  p.camera_id = outcome.camera_id;
  p.client_id = client_id;
  p.key = outcome.key;
  p.camera_address = net::to_string(camera);
  keyring.save(p);
  std::printf("paired with camera %s; key saved in %s\n", p.camera_id.c_str(),
              (keyring.dir() / "cameras" / p.camera_id).c_str());
  return 0;
}

int unpair_camera(const std::optional<std::string>& camera_id, const std::optional<net::Udp::endpoint>& camera,
                  const std::filesystem::path& config_dir) {
  const secure::ClientKeyring keyring(config_dir);
  std::vector<std::string> ids;
  if (camera_id) {
    ids.push_back(*camera_id);
  } else if (camera) {
    for (const auto& p : keyring.all())
      if (p.camera_address == net::to_string(*camera)) ids.push_back(p.camera_id);
  }
  int removed = 0;
  for (const auto& id : ids) {
    if (!keyring.remove(id)) continue;
    std::printf("unpaired from camera %s (deleted %s)\n", id.c_str(), (keyring.dir() / "cameras" / id).c_str());
    ++removed;
  }
  if (removed > 0) return 0;
  std::fprintf(stderr, "ptt-client: no pairing with %s in %s\n",
               camera_id ? ("camera " + *camera_id).c_str() : ("a camera at " + net::to_string(*camera)).c_str(),
               (keyring.dir() / "cameras").c_str());
  return 1;
}

}  // namespace pttcam::client
