// The path a datagram really takes at both programs: media::Receiver (RTP -> RFC 2198 RED -> Opus
// -> jitter buffer -> decoder -> speaker) with measure::ReceiverMetrics observing it (event log,
// per-burst timeline: BurstAnalyzer), on a manual clock. The input is a list of operations:
//   op 0..3 (op & 3 == 0): a raw datagram (u16 length, bytes)
//   op & 3 == 1: an RTP packet built from fields (so the deeper layers are reached): SSRC choice,
//     sequence and timestamp steps, marker, every pttcam header extension with raw 64-bit times,
//     Opus or RED payload type, payload bytes
//   op & 3 == 2: a floor or session action (permit, release, drop, cut, new session, gate)
//   op & 3 == 3: time passes (op >> 2 ms, up to 63), the speaker plays and the receiver pumps
// Invariants: nothing crashes, no undefined behaviour (UBSan), and the counters add up.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "fuzz_input.hpp"
#include "pttcam/audio/endpoint.hpp"
#include "pttcam/measure/event_log.hpp"
#include "pttcam/measure/receiver_metrics.hpp"
#include "pttcam/media/receiver.hpp"
#include "pttcam/net/address.hpp"
#include "pttcam/rtp/packet.hpp"
#include "pttcam/rtp/red.hpp"
#include "pttcam/timing/clock.hpp"

using namespace pttcam;

namespace {

constexpr std::size_t kPeriod = 128;

class Speaker final : public audio::Playback {
 public:
  void start() override {}
  void stop() noexcept override {}
  std::string describe() const override { return "fuzz"; }
  std::size_t period_samples() const noexcept override { return kPeriod; }
  void period() {
    std::array<float, kPeriod> out{};
    on_output(out.data(), out.size());
  }
};

struct Stream {
  std::uint16_t seq = 1000;
  std::uint32_t ts = 48'000;
};

void built_packet(fuzz::Input& in, std::array<Stream, 4>& streams, media::Receiver& receiver,
                  const net::Udp::endpoint& from) {
  const std::uint8_t flags = in.u8();
  Stream& s = streams[flags & 3];
  s.seq = static_cast<std::uint16_t>(s.seq + static_cast<std::int8_t>(in.u8()));
  s.ts += static_cast<std::uint32_t>(static_cast<std::int16_t>(in.u16())) * 10;
  rtp::RtpHeader h;
  h.ssrc = 0x1000u + (flags & 3);
  h.sequence = s.seq;
  h.timestamp = s.ts;
  h.marker = (flags & 4) != 0;
  rtp::RtpExtras x;
  const std::uint8_t ext = in.u8();
  if (ext & 1) x.capture_time_us = in.u64();
  if (ext & 2) x.key_down_us = in.u64();
  if (ext & 4) x.key_up_us = in.u64();
  if (ext & 8) x.burst_start_ts = s.ts - static_cast<std::uint32_t>(in.u16());
  x.end_of_burst = (ext & 16) != 0;
  x.repeat = (ext & 32) != 0;
  x.repeat_distance = static_cast<std::uint8_t>(in.u8() % (rtp::RtpExtras::kMaxRepeatDistance + 1));
  const bool red = (flags & 8) != 0;
  h.payload_type = red ? rtp::kRedPayloadType : rtp::kOpusPayloadType;
  if (flags & 16) h.payload_type = in.u8() & 0x7f;
  std::vector<std::byte> payload;
  const auto body = in.bytes(in.u8());
  if (red) {
    // One copy 960 samples back, then the primary: the block header and lengths are consistent,
    // the bytes are the fuzzer's.
    const std::size_t copy = body.size() / 2;
    constexpr unsigned kOffset = 960;  // RFC 2198 block header: F, PT (7), offset (14), length (10)
    payload = {static_cast<std::byte>(0x80 | rtp::kOpusPayloadType), static_cast<std::byte>(kOffset >> 6),
               static_cast<std::byte>((kOffset & 0x3f) << 2 | (copy >> 8 & 0x03)), static_cast<std::byte>(copy & 0xff),
               static_cast<std::byte>(rtp::kOpusPayloadType)};
  }
  payload.insert(payload.end(), body.begin(), body.end());
  rtp::RtpWriter writer;
  const auto datagram = writer.write(h, x, payload);
  receiver.on_datagram(datagram, from);
}

void action(std::uint8_t op, media::Receiver& receiver) {
  switch ((op >> 2) % 7) {
    case 0: receiver.permit_burst(); break;
    case 1: receiver.release_floor(); break;
    case 2: receiver.drop_waiting(); break;
    case 3: receiver.cut("fuzz"); break;
    case 4: receiver.new_session(); break;
    case 5: receiver.set_gated(true); break;
    default: receiver.set_gated(false); break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  timing::ManualClock clock{1'000'000};
  measure::EventLog events;
  measure::ReceiverMetrics metrics({}, events, "fuzz_");
  auto speaker = std::make_unique<Speaker>();
  Speaker* out = speaker.get();
  media::Receiver receiver(std::move(speaker), media::Receiver::Options{}, clock, metrics);
  receiver.start();
  const auto from = net::parse_endpoint("127.0.0.1:40000");
  std::array<Stream, 4> streams{};
  for (int ops = 0; !in.empty() && ops < 2000; ++ops) {
    const std::uint8_t op = in.u8();
    switch (op & 3) {
      case 0: receiver.on_datagram(in.bytes(in.u16() % 1500), from); break;
      case 1: built_packet(in, streams, receiver, from); break;
      case 2: action(op, receiver); break;
      default:
        for (int ms = 0; ms <= (op >> 2); ms += 2) {
          clock.advance(2'667);
          out->period();
          receiver.pump();
        }
    }
  }
  // Let what waits play out (up to 0.6 s).
  for (int i = 0; i < 225; ++i) {
    clock.advance(2'667);
    out->period();
    receiver.pump();
  }
  receiver.stop();
  const auto& c = receiver.counters();
  if (c.dropped() > c.datagrams) __builtin_trap();
  (void)metrics.summary(receiver);
  return 0;
}
