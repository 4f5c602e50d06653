// Parses arbitrary bytes; whatever parses must survive RtpWriter and parse again unchanged.
// Each input is also tried with a one-byte (0xBEDE) extension header forced in, because random
// bytes almost never spell that profile and the element parser would otherwise go unfuzzed.
// The raw input is also parsed as an RFC 2198 redundancy payload: every block must view the input,
// and a well-formed one must write back byte for byte.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "pttcam/rtp/packet.hpp"
#include "pttcam/rtp/red.hpp"

using namespace pttcam::rtp;

namespace {

void check_round_trip(std::span<const std::byte> input) {
  const auto first = parse(input);
  if (!first) {
    if (static_cast<std::size_t>(first.error) >= kParseErrorCount) __builtin_trap();
    return;
  }
  const RtpPacket& packet = *first.packet;
  // The payload must view the input, never memory around it.
  if (!packet.payload.empty() &&
      (packet.payload.data() < input.data() ||
       packet.payload.data() + packet.payload.size() > input.data() + input.size()))
    __builtin_trap();

  RtpWriter writer;
  const auto out = writer.write(packet.header, packet.extras, packet.payload);
  if (out.empty()) {
    // Only acceptable when the re-serialised form really is too big (e.g. a huge foreign input).
    const std::size_t ext = packet.extras.any() ? 4 + 36 : 0;  // our largest block: 9+2+5+9+9 -> 36
    if (12 + ext + packet.payload.size() <= kMaxDatagram) __builtin_trap();
    return;
  }
  const auto second = parse(out);
  if (!second) __builtin_trap();
  if (!(second.packet->header == packet.header)) __builtin_trap();
  if (!(second.packet->extras == packet.extras)) __builtin_trap();
  if (second.packet->csrc_count != 0) __builtin_trap();
  if (!std::ranges::equal(second.packet->payload, packet.payload)) __builtin_trap();
}

void check_red(std::span<const std::byte> input) {
  const auto parsed = parse_red(input);
  if (!parsed) return;
  const auto inside = [&](std::span<const std::byte> s) {
    return s.empty() || (s.data() >= input.data() && s.data() + s.size() <= input.data() + input.size());
  };
  for (const auto& block : parsed.payload->copies())
    if (!inside(block.data)) __builtin_trap();
  if (!inside(parsed.payload->primary.data)) __builtin_trap();
  std::vector<std::byte> out(input.size());
  const std::size_t n = write_red(parsed.payload->copies(), parsed.payload->primary.data, parsed.payload->primary.payload_type, out);
  if (n != input.size() || !std::ranges::equal(out, input)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  check_round_trip(input);
  check_red(input);

  if (size >= 16) {
    // Exact-size copy so an over-read is still caught by ASan/valgrind.
    std::vector<std::byte> forged(input.begin(), input.end());
    forged[0] = (forged[0] & std::byte{0x20}) | std::byte{0x90};  // v2, X set, keep P, no CSRC
    forged[12] = std::byte{0xbe};
    forged[13] = std::byte{0xde};
    forged[14] = std::byte{0};  // at most 255 words, so the block length stays mostly plausible
    forged[15] &= std::byte{0x07};
    check_round_trip(forged);
  }
  return 0;
}
