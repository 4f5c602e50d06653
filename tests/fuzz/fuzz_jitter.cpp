// The jitter buffer alone, driven with packets whose every field is the fuzzer's (SSRC, sequence,
// timestamp, marker and end flags, FEC, duration, payload size, arrival time) and frames taken at
// any time, with flushes, stream restarts and new sessions in between. Invariants: no crash or
// undefined behaviour, frames are never negative in length, a normal or FEC frame has a
// payload within the store's limit.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_input.hpp"
#include "pttcam/jitter/jitter_buffer.hpp"

using namespace pttcam;
using jitter::FrameKind;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  jitter::JitterBuffer::Config config;
  const std::uint8_t setup = in.u8();
  config.min_delay_us = (setup & 0x0f) * 5'000;
  config.max_delay_us = config.min_delay_us + (setup >> 4) * 40'000;
  jitter::JitterBuffer jb(config);
  jitter::Micros now = 1'000'000;
  std::vector<std::byte> payload;
  for (int ops = 0; !in.empty() && ops < 4000; ++ops) {
    const std::uint8_t op = in.u8();
    now += (op >> 3) * 1'000;
    if ((op & 7) <= 3) {
      jitter::IncomingPacket p;
      const std::uint8_t flags = in.u8();
      p.ssrc = flags & 3;
      p.sequence = in.u16();
      p.timestamp = in.u32();
      p.marker = (flags & 4) != 0;
      p.end_of_burst = (flags & 8) != 0;
      p.ends_flagged = (flags & 16) == 0;
      p.has_fec = (flags & 32) != 0;
      p.samples = static_cast<int>(in.u16() % 5'761);  // up to 120 ms
      if (flags & 64) p.capture_us = static_cast<jitter::Micros>(in.u32());
      const auto bytes = in.bytes(in.u8() % 64);
      payload.assign(bytes.begin(), bytes.end());
      p.payload = payload;
      if (flags & 128) {
        jb.insert_redundant(p, now);
      } else {
        jb.insert(p, now);
      }
    } else if ((op & 7) <= 5) {
      const auto f = jb.next(now, 240);
      if (f.samples < 0) __builtin_trap();
      if ((f.kind == FrameKind::normal || f.kind == FrameKind::fec) &&
          f.payload.size() > jitter::JitterBuffer::kMaxPayload)
        __builtin_trap();
    } else if (op & 8) {
      jb.flush();
    } else if (op & 16) {
      jb.restart_stream();
    } else if (!jb.in_burst() && !jb.waiting()) {
      jb.forget_stream();
    }
    (void)jb.target_delay_us();
  }
  return 0;
}
