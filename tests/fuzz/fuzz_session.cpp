// The two session state machines wired to each other (a camera and its client over a lossless
// wire), with the fuzzer pressing keys, letting time pass, power-cycling the camera and injecting
// arbitrary control messages: decoded from its bytes, sent to the camera from a stranger or from
// the client's own address, or to the client. Invariants: no crash or undefined behaviour; a
// stranger, who never sees the camera's answers (so never its cookie), never holds a session.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "fuzz_input.hpp"
#include "pttcam/control/wire.hpp"
#include "pttcam/session/camera_model.hpp"
#include "pttcam/session/camera_session.hpp"
#include "pttcam/session/client_session.hpp"

using namespace pttcam;
using session::Micros;
using session::Output;
using session::Peer;

namespace {

const Peer kCamera = net::parse_endpoint("10.0.0.2:5004");
const Peer kClient = net::parse_endpoint("10.0.0.5:40000");
const Peer kStranger = net::parse_endpoint("10.0.0.66:40000");

struct Wire {
  std::deque<control::Message> to_camera, to_client;
  bool lossy = false;
  void carry(const Output& out, bool from_camera) {
    for (const auto& o : out.send) {
      if (lossy) continue;
      if (!from_camera) to_camera.push_back(o.message);
      else if (o.to == kClient) to_client.push_back(o.message);  // what goes to a stranger is lost to it
    }
  }
};

// A message from the fuzzer's bytes: a valid header around its type and body, then decode().
std::optional<control::Message> forged(fuzz::Input& in, std::uint64_t current_id) {
  std::vector<std::byte> d(control::kHeaderSize);
  d[0] = std::byte{control::kMagic};
  d[1] = std::byte{control::kVersion};
  d[2] = static_cast<std::byte>(1 + in.u8() % std::variant_size_v<control::Body>);
  const std::uint8_t id_choice = in.u8();
  const std::uint64_t id = id_choice % 3 == 0 ? 0 : id_choice % 3 == 1 ? current_id : in.u64();
  for (int i = 0; i < 8; ++i) d[4 + i] = static_cast<std::byte>(id >> (56 - 8 * i));
  const auto body = in.bytes(in.u8() % 48);
  d[16] = static_cast<std::byte>(body.size() >> 8);
  d[17] = static_cast<std::byte>(body.size());
  d.insert(d.end(), body.begin(), body.end());
  auto result = control::decode(d);
  if (!result) return std::nullopt;
  return std::move(*result.message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  session::CameraSessionConfig cc;
  cc.model = *session::find_camera_model(in.u8() % 2 ? "indoor" : "indoor-gen2");
  cc.serial = "SN-1";
  cc.session_limit_us = 5'000'000 + in.u8() * 100'000;
  cc.warn_before_us = 1'000'000;
  cc.boot_time_us = 500'000;
  session::CameraSession camera(cc, 0);
  session::ClientSessionConfig kc;
  kc.renew = in.u8() % 2 == 0;
  session::ClientSession client(kc, kCamera);
  Wire wire;
  Micros now = 0;
  for (int ops = 0; !in.empty() && ops < 3000; ++ops) {
    const std::uint8_t op = in.u8();
    switch (op % 11) {
      case 0: wire.carry(client.start(now), false); break;
      case 1: wire.carry(client.key_down(now), false); break;
      case 2: wire.carry(client.key_up(now), false); break;
      case 3: wire.carry(client.stop(now), false); break;
      case 4: wire.carry(client.renew(now), false); break;
      case 5: wire.carry(camera.power_cycle(now), true); break;
      case 6: wire.carry(camera.on_other_version(in.u8(), op & 0x80 ? kStranger : kClient, now), true); break;
      case 7:
        if (const auto m = forged(in, camera.session_id())) wire.carry(camera.on_message(*m, op & 0x80 ? kStranger : kClient, now), true);
        break;
      case 8:
        if (const auto m = forged(in, client.session_id())) wire.carry(client.on_message(*m, now), false);
        break;
      case 9: wire.lossy = !wire.lossy; break;
      default:
        for (int t = 0; t <= (op >> 4); ++t) {
          now += 10'000;
          wire.carry(camera.on_tick(now), true);
          wire.carry(client.on_tick(now), false);
          while (!wire.to_camera.empty() || !wire.to_client.empty()) {
            if (!wire.to_camera.empty()) {
              const auto m = wire.to_camera.front();
              wire.to_camera.pop_front();
              wire.carry(camera.on_message(m, kClient, now), true);
            }
            if (!wire.to_client.empty()) {
              const auto m = wire.to_client.front();
              wire.to_client.pop_front();
              wire.carry(client.on_message(m, now), false);
            }
          }
        }
    }
    if (camera.session_open() && camera.session_peer() == kStranger) __builtin_trap();
  }
  (void)camera.summary();
  (void)client.summary();
  return 0;
}
