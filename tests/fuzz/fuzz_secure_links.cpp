// The camera's protected front door and a connected link (camera::SecureLinks, DTLS-PSK with
// SRTP AEAD_AES_128_GCM), attacked with the fuzzer's datagrams: arbitrary bytes from a stranger
// and from the client's own address, genuine records and SRTP packets with bytes changed, and
// replays. Invariants: no crash or undefined behaviour; the camera hears only control messages the
// client sent, each once; SRTP unprotects only packets the client protected, each once; the
// client's link stays up through it all.
#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "fuzz_input.hpp"
#include "pttcam/camera/secure_links.hpp"

using namespace pttcam;

namespace {

const net::Udp::endpoint kClient = net::parse_endpoint("10.0.0.5:40000");
const net::Udp::endpoint kStranger = net::parse_endpoint("10.0.0.66:40000");
const std::string kClientId(32, 'a');

secure::PairingKey key() {
  secure::PairingKey k{};
  k[0] = std::byte{7};
  return k;
}

void require(bool ok) {
  if (!ok) __builtin_trap();
}

struct Scene {
  std::vector<std::pair<std::vector<std::byte>, net::Udp::endpoint>> from_camera;
  camera::SecureLinks camera{std::string(32, 'c'),
                             [](std::string_view id) -> std::optional<secure::PairingKey> {
                               if (id == kClientId) return key();
                               return std::nullopt;
                             },
                             [this](std::span<const std::byte> d, const net::Udp::endpoint& to) {
                               from_camera.emplace_back(std::vector<std::byte>(d.begin(), d.end()), to);
                             }};
  std::unique_ptr<secure::DtlsSrtp> client = secure::DtlsSrtp::psk_client(
      [](std::string_view) { return std::optional<secure::PskIdentity>{{kClientId, key()}}; });
  std::set<std::vector<std::byte>> sent, heard;
  std::int64_t now = 1'000'000;

  // Runs the handshake over a lossless wire.
  bool connect() {
    for (int i = 0; i < 12; ++i) {
      for (const auto& d : client->take_outgoing()) hear(camera.on_datagram(d, kClient, now));
      for (auto& [d, to] : std::exchange(from_camera, {}))
        if (to == kClient) client->on_datagram(d);
    }
    return client->state() == secure::DtlsSrtp::State::connected;
  }
  void hear(const camera::SecureLinks::Heard& h) {
    for (const auto& m : h.control) {
      require(sent.count(m) == 1);      // never a message the client did not send
      require(heard.insert(m).second);  // never one twice
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  Scene s;
  require(s.connect());
  std::uint32_t counter = 0;
  for (int step = 0; step < 32 && !in.empty(); ++step) {
    const auto op = in.u8() % 6;
    const auto len = in.u8();
    const auto bytes = in.bytes(len);
    std::vector<std::byte> d(bytes.begin(), bytes.end());
    s.now += in.u16() * 1000;
    switch (op) {
      case 0:  // a stranger's datagram, and the same from the client's address
        s.hear(s.camera.on_datagram(d, kStranger, s.now));
        s.hear(s.camera.on_datagram(d, kClient, s.now));
        break;
      case 1: {  // a genuine control record, delivered once, then again, then changed at one byte
        std::vector<std::byte> message(4, std::byte{0x50});
        for (int i = 0; i < 4; ++i) message.push_back(static_cast<std::byte>(++counter >> (8 * i)));
        s.sent.insert(message);
        require(s.client->send(message));
        for (auto& r : s.client->take_outgoing()) {
          auto changed = r;
          if (!changed.empty()) changed[in.u8() % changed.size()] ^= std::byte{static_cast<unsigned char>(in.u8() | 1)};
          s.hear(s.camera.on_datagram(changed, kClient, s.now));
          s.hear(s.camera.on_datagram(r, kClient, s.now));
          s.hear(s.camera.on_datagram(r, kClient, s.now));
        }
        break;
      }
      case 2: {  // SRTP: a genuine packet with one byte changed fails; the genuine one passes once
        std::vector<std::byte> rtp(12 + d.size());
        const std::uint8_t header[12] = {0x80, 111, static_cast<std::uint8_t>(counter >> 8), static_cast<std::uint8_t>(counter), 0, 0, 0, 1, 1, 2, 3, 4};
        for (std::size_t i = 0; i < 12; ++i) rtp[i] = std::byte{header[i]};
        std::copy(d.begin(), d.end(), rtp.begin() + 12);
        ++counter;
        const auto clear = rtp;
        require(s.client->protect_rtp(rtp));
        auto changed = rtp;
        changed[in.u8() % changed.size()] ^= std::byte{static_cast<unsigned char>(in.u8() | 1)};
        require(!s.camera.unprotect(changed, false, kClient));
        auto good = rtp;
        require(s.camera.unprotect(good, false, kClient) && good == clear);
        auto again = rtp;
        require(!s.camera.unprotect(again, false, kClient));
        break;
      }
      case 3: {  // arbitrary bytes as SRTP or SRTCP, from the client and a stranger
        auto a = d, b = d;
        require(!s.camera.unprotect(a, in.u8() & 1, kStranger));
        (void)s.camera.unprotect(b, in.u8() & 1, kClient);  // 2^-128 to pass: not an invariant worth a trap
        break;
      }
      case 4:  // time passes: handshake timers
        s.camera.on_timer(s.now);
        break;
      case 5: {  // what the camera sends back must not break the client
        for (auto& [r, to] : std::exchange(s.from_camera, {}))
          if (to == kClient) s.client->on_datagram(r);
        break;
      }
    }
  }
  return 0;
}
