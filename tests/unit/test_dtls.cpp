// common/secure/dtls: a pttcam live view's DTLS-PSK handshake, run in memory between a camera's
// listener and a client: the stateless cookie round trip, mutual proof of the paired key, control
// messages in DTLS records (replays dropped), and SRTP AEAD_AES_128_GCM keyed per session, with
// every bit flip of a protected packet rejected. Also the WebRTC certificate's fingerprint.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include "pttcam/secure/dtls.hpp"

using namespace pttcam::secure;

namespace {

PairingKey key_of(int seed) {
  PairingKey k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::byte>(seed * 31 + static_cast<int>(i));
  return k;
}

const std::string kCamera = "c0ffee00c0ffee00c0ffee00c0ffee00";
const std::string kClient = "0123456789abcdef0123456789abcdef";

std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> v;
  for (char c : s) v.push_back(static_cast<std::byte>(c));
  return v;
}

std::vector<std::byte> source_of(int port) { return {std::byte{127}, std::byte{0}, std::byte{0}, std::byte{1}, std::byte(port >> 8), std::byte(port & 0xFF)}; }

// One camera (listener + the connection it accepts) and one client, datagrams passed by hand.
struct Pair {
  DtlsListener listener;
  std::unique_ptr<DtlsSrtp> client;
  std::unique_ptr<DtlsSrtp> server;
  std::vector<std::byte> source = source_of(4000);
  std::int64_t slot = 7;
  std::size_t hello_verify_requests = 0, largest_hvr = 0, first_hello = 0;

  Pair(PairingKey camera_side, PairingKey client_side, std::string client_id = kClient)
      : listener(kCamera,
                 [camera_side](std::string_view id) -> std::optional<PairingKey> {
                   if (id == kClient) return camera_side;
                   return std::nullopt;
                 }),
        client(DtlsSrtp::psk_client([client_side, client_id](std::string_view camera) -> std::optional<PskIdentity> {
          if (camera != kCamera) return std::nullopt;
          return PskIdentity{client_id, client_side};
        })) {}

  void to_camera(const std::vector<std::byte>& d) {
    if (server) return server->on_datagram(d);
    auto r = listener.on_datagram(d, source, slot);
    if (!first_hello) first_hello = d.size();
    for (auto& reply : r.reply) {
      ++hello_verify_requests;
      largest_hvr = std::max(largest_hvr, reply.size());
      client->on_datagram(reply);
    }
    if (r.accepted) server = std::move(r.accepted);
  }
  // Runs the handshake to its end (or failure); at most `rounds` flights each way.
  void pump(int rounds = 10) {
    for (int i = 0; i < rounds; ++i) {
      auto up = client->take_outgoing();
      for (auto& d : up) to_camera(d);
      std::vector<std::vector<std::byte>> down;
      if (server) down = server->take_outgoing();
      for (auto& d : down) client->on_datagram(d);
      if (up.empty() && down.empty()) break;
    }
  }
  bool connected() const {
    return server && server->state() == DtlsSrtp::State::connected && client->state() == DtlsSrtp::State::connected;
  }
};

std::vector<std::byte> rtp_packet(std::uint16_t seq) {
  std::vector<std::byte> p = {std::byte{0x80}, std::byte{111}, std::byte(seq >> 8), std::byte(seq & 0xFF),
                              std::byte{0},    std::byte{0},   std::byte{0x10},     std::byte{0},
                              std::byte{0x12}, std::byte{0x34}, std::byte{0x56},    std::byte{0x78}};
  for (int i = 0; i < 40; ++i) p.push_back(static_cast<std::byte>(i));
  return p;
}

}  // namespace

TEST_CASE("dtls psk live view") {
  SUBCASE("the paired key connects both sides, and each learns who the other is") {
    Pair p(key_of(1), key_of(1));
    p.pump();
    REQUIRE(p.connected());
    CHECK(p.server->peer_identity() == kClient);
    CHECK(p.client->peer_identity() == kCamera);
    // Exactly one HelloVerifyRequest: the cookie round trip, never larger than the ClientHello.
    CHECK(p.hello_verify_requests == 1);
    CHECK(p.largest_hvr <= p.first_hello);
  }

  SUBCASE("control messages travel in records, and a replayed record is dropped") {
    Pair p(key_of(1), key_of(1));
    p.pump();
    REQUIRE(p.connected());
    REQUIRE(p.client->send(bytes_of("TALK_REQUEST")));
    auto records = p.client->take_outgoing();
    REQUIRE(records.size() == 1);
    p.server->on_datagram(records[0]);
    auto got = p.server->take_received();
    REQUIRE(got.size() == 1);
    CHECK(got[0] == bytes_of("TALK_REQUEST"));
    p.server->on_datagram(records[0]);  // the same record again: DTLS's replay window
    CHECK(p.server->take_received().empty());
    auto flipped = records[0];
    flipped.back() ^= std::byte{1};
    p.server->on_datagram(flipped);
    CHECK(p.server->take_received().empty());
    REQUIRE(p.server->send(bytes_of("TALK_GRANTED")));
    for (auto& d : p.server->take_outgoing()) p.client->on_datagram(d);
    auto back = p.client->take_received();
    REQUIRE(back.size() == 1);
    CHECK(back[0] == bytes_of("TALK_GRANTED"));
  }

  SUBCASE("SRTP: both directions, replays and every bit flip rejected") {
    Pair p(key_of(1), key_of(1));
    p.pump();
    REQUIRE(p.connected());
    auto clear = rtp_packet(1);
    auto packet = clear;
    REQUIRE(p.client->protect_rtp(packet));
    CHECK(packet.size() == clear.size() + 16);  // the GCM tag
    CHECK(!std::equal(clear.begin() + 12, clear.end(), packet.begin() + 12));  // payload encrypted
    for (std::size_t bit = 0; bit < packet.size() * 8; ++bit) {
      auto bad = packet;
      bad[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
      CHECK_MESSAGE(!p.server->unprotect_rtp(bad), "bit " << bit);
    }
    auto good = packet;
    REQUIRE(p.server->unprotect_rtp(good));
    CHECK(good == clear);
    auto again = packet;
    CHECK(!p.server->unprotect_rtp(again));  // replay
    auto down = rtp_packet(9);
    REQUIRE(p.server->protect_rtp(down));
    CHECK(p.client->unprotect_rtp(down));
    CHECK(down == rtp_packet(9));
    std::vector<std::byte> rtcp = {std::byte{0x80}, std::byte{200}, std::byte{0}, std::byte{6}, std::byte{0x12}, std::byte{0x34},
                                   std::byte{0x56}, std::byte{0x78}};
    rtcp.resize(28);
    auto sr = rtcp;
    REQUIRE(p.client->protect_rtcp(sr));
    CHECK(p.server->unprotect_rtcp(sr));
    CHECK(sr == rtcp);
  }

  SUBCASE("SRTP's replay window across the sequence number's wrap") {
    Pair p(key_of(1), key_of(1));
    p.pump();
    REQUIRE(p.connected());
    std::vector<std::vector<std::byte>> sent;
    for (std::uint32_t n = 65'000; n < 66'100; ++n) {  // 65535 -> 0 in the middle
      auto packet = rtp_packet(static_cast<std::uint16_t>(n));
      REQUIRE(p.client->protect_rtp(packet));
      sent.push_back(packet);
    }
    std::size_t played = 0;
    for (std::size_t i = 0; i < sent.size(); ++i) {
      // Delivered in pairs swapped: reordering inside the window is fine.
      auto packet = sent[i % 2 == 0 && i + 1 < sent.size() ? i + 1 : i % 2 == 1 ? i - 1 : i];
      played += p.server->unprotect_rtp(packet);
    }
    CHECK(played == sent.size());
    for (const std::size_t i : {std::size_t{10}, std::size_t{534}, std::size_t{537}, sent.size() - 1}) {
      auto again = sent[i];
      CHECK_MESSAGE(!p.server->unprotect_rtp(again), "replay of packet " << i);
    }
  }

  SUBCASE("keys are per session: a packet from one session does not play in the next") {
    Pair first(key_of(1), key_of(1));
    first.pump();
    Pair second(key_of(1), key_of(1));
    second.pump();
    REQUIRE(first.connected());
    REQUIRE(second.connected());
    auto packet = rtp_packet(5);
    REQUIRE(first.client->protect_rtp(packet));
    CHECK(!second.server->unprotect_rtp(packet));
  }

  SUBCASE("a wrong key, or an id the camera does not know, connects nothing") {
    for (auto [camera_key, client_key, id] : {std::tuple{1, 2, kClient}, std::tuple{1, 1, std::string(32, 'f')}}) {
      Pair p(key_of(camera_key), key_of(client_key), id);
      p.pump();
      CHECK(!p.connected());
      CHECK((!p.server || p.server->state() != DtlsSrtp::State::connected));
      CHECK(p.client->state() != DtlsSrtp::State::connected);
      CHECK(!p.client->send(bytes_of("x")));
      auto packet = rtp_packet(1);
      CHECK(!p.client->protect_rtp(packet));
    }
  }

  SUBCASE("a client not paired with this camera stops at once") {
    Pair p(key_of(1), key_of(1));
    p.client = DtlsSrtp::psk_client([](std::string_view) { return std::nullopt; });
    p.pump();
    CHECK(p.client->state() == DtlsSrtp::State::failed);
    CHECK(p.client->peer_identity() == kCamera);
  }

  SUBCASE("the cookie binds the source and the time slot") {
    Pair p(key_of(1), key_of(1));
    auto hello = p.client->take_outgoing();
    REQUIRE(hello.size() == 1);
    auto r = p.listener.on_datagram(hello[0], p.source, p.slot);
    REQUIRE(r.reply.size() == 1);
    CHECK(!r.accepted);
    p.client->on_datagram(r.reply[0]);
    auto with_cookie = p.client->take_outgoing();
    REQUIRE(with_cookie.size() == 1);
    // The same ClientHello from another source, or two slots later: a new HelloVerifyRequest, no state.
    auto elsewhere = p.listener.on_datagram(with_cookie[0], source_of(4001), p.slot);
    CHECK(!elsewhere.accepted);
    CHECK(elsewhere.reply.size() == 1);
    auto late = p.listener.on_datagram(with_cookie[0], p.source, p.slot + 2);
    CHECK(!late.accepted);
    auto next_slot = p.listener.on_datagram(with_cookie[0], p.source, p.slot + 1);
    CHECK(next_slot.accepted);
  }

  SUBCASE("garbage at the listener leaves nothing behind and the next client still connects") {
    Pair p(key_of(1), key_of(1));
    for (int i = 0; i < 50; ++i) {
      std::vector<std::byte> junk(static_cast<std::size_t>(13 + i * 7), static_cast<std::byte>(i));
      junk[0] = std::byte{22};
      auto r = p.listener.on_datagram(junk, p.source, p.slot);
      CHECK(!r.accepted);
    }
    p.pump();
    CHECK(p.connected());
  }

  SUBCASE("close_notify ends the peer's side") {
    Pair p(key_of(1), key_of(1));
    p.pump();
    REQUIRE(p.connected());
    p.client->close();
    CHECK(p.client->state() == DtlsSrtp::State::closed);
    for (auto& d : p.client->take_outgoing()) p.server->on_datagram(d);
    CHECK(p.server->state() == DtlsSrtp::State::closed);
  }
}

TEST_CASE("webrtc certificate") {
  const auto cert = Certificate::generate();
  const auto& f = cert->fingerprint();
  CHECK(f.size() == 32 * 3 - 1);  // 32 bytes, "AB:" each but the last
  CHECK(f.find_first_not_of("0123456789ABCDEF:") == std::string::npos);
  CHECK(Certificate::generate()->fingerprint() != f);  // a fresh key each time
  const unsigned char abc[] = {'a', 'b', 'c'};
  CHECK(sha256_fingerprint(abc).substr(0, 11) == "BA:78:16:BF");  // FIPS 180-2 test vector
}
