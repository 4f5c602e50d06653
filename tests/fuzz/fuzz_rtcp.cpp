// parse_rtcp() over arbitrary bytes: no read outside the input (ASan / exact-size copies), every
// view inside it, counts within their arrays; a report that parses writes back with write_rtcp()
// and parses to the same fields. Each input is also forged into one RTCP packet of a known type
// whose length field covers it, so SR/RR/SDES/BYE bodies are reached from random bytes. The same
// bytes drive ReceptionStatistics as (sequence, timestamp, arrival) triples: its report block
// must stay within the wire's ranges.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "pttcam/net/byte_order.hpp"
#include "pttcam/rtp/rtcp.hpp"

using namespace pttcam::rtp;

namespace {

void check(std::span<const std::byte> input) {
  (void)is_rtcp(input);
  const auto parsed = parse_rtcp(input);
  if (!parsed) {
    if (static_cast<std::size_t>(parsed.error) >= kRtcpErrorCount) __builtin_trap();
    return;
  }
  const auto& c = *parsed.compound;
  if (c.report_count > RtcpCompound::kMaxReports || c.cname_count > RtcpCompound::kMaxCnames) __builtin_trap();
  const auto* begin = reinterpret_cast<const char*>(input.data());
  const auto inside = [&](std::string_view s) {
    return s.empty() || (s.data() >= begin && s.data() + s.size() <= begin + input.size());
  };
  for (const auto& n : c.all_cnames())
    if (!inside(n.cname)) __builtin_trap();
  if (c.bye && (!inside(c.bye->reason) || c.bye->count > kRtcpMaxCount)) __builtin_trap();

  std::array<std::byte, kRtcpMaxCompound> out{};
  for (const auto& report : c.all_reports()) {
    if (report.block_count > kRtcpMaxCount) __builtin_trap();
    RtcpReportSpec spec;
    spec.ssrc = report.ssrc;
    spec.sender = report.sender;
    spec.blocks = report.report_blocks();
    spec.cname = c.cname_count > 0 && !c.cnames[0].cname.empty() ? c.cnames[0].cname : "x";
    const auto n = write_rtcp(spec, out);
    if (n == 0 || n % 4 != 0) __builtin_trap();
    const auto again = parse_rtcp(std::span(out.data(), n));
    if (!again || again.compound->report_count != 1 || again.compound->cname_count != 1) __builtin_trap();
    const auto& r = again.compound->reports[0];
    if (r.ssrc != report.ssrc || r.sender != report.sender || r.block_count != report.block_count) __builtin_trap();
    if (!std::equal(r.blocks.begin(), r.blocks.begin() + static_cast<std::ptrdiff_t>(r.block_count),
                    report.blocks.begin()))
      __builtin_trap();
    if (again.compound->cnames[0].cname != spec.cname) __builtin_trap();
  }
}

void check_statistics(std::span<const std::byte> input) {
  ReceptionStatistics stats(48000, input.empty() ? 2 : 1 + (std::to_integer<int>(input[0]) & 1));
  std::int64_t arrival = 0;
  for (std::size_t at = 0; at + 8 <= input.size(); at += 8) {
    const auto seq = static_cast<std::uint16_t>(pttcam::net::read_be(input, at, 2));
    const auto ts = static_cast<std::uint32_t>(pttcam::net::read_be(input, at + 2, 4));
    arrival += static_cast<std::int64_t>(pttcam::net::read_be(input, at + 6, 2)) * 100;
    stats.on_packet(seq, ts, arrival);
    if (std::to_integer<int>(input[at]) == 0x55) stats.on_sender_report(pttcam::net::read_be(input, at, 8), arrival);
    if (std::to_integer<int>(input[at + 1]) < 0x10) {
      const auto block = stats.report_block(1, arrival);
      if (block.has_value() != stats.valid()) __builtin_trap();
      if (block && (block->cumulative_lost > 0x7fffff || block->cumulative_lost < -0x800000 ||
                    block->extended_highest_seq != stats.extended_highest_seq()))
        __builtin_trap();
    }
  }
}

// A compound written from the input's bytes, then one byte of it replaced.
void check_mutated_compound(std::span<const std::byte> input) {
  if (input.size() < 8) return;
  const auto at = [&](std::size_t i) { return std::to_integer<std::uint8_t>(input[i % input.size()]); };
  std::array<ReportBlock, 3> blocks{};
  for (std::size_t i = 0; i < blocks.size(); ++i)
    blocks[i] = ReportBlock{at(8 + i), at(9 + i), static_cast<std::int32_t>(at(10 + i)) - 128, at(11 + i), at(12 + i),
                            at(13 + i), at(14 + i)};
  const std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
  RtcpReportSpec spec;
  spec.ssrc = at(0);
  if (at(1) & 1) spec.sender = SenderInfo{at(2), at(3), at(4), at(5)};
  spec.blocks = std::span(blocks.data(), at(1) % 4);
  spec.cname = text.substr(0, 1 + at(2) % std::min<std::size_t>(input.size(), 40));
  spec.bye = (at(3) & 1) != 0;
  spec.bye_reason = text.substr(0, at(4) % 8);
  std::array<std::byte, kRtcpMaxCompound> out{};
  const auto n = write_rtcp(spec, out);
  if (n == 0) __builtin_trap();
  if (!parse_rtcp(std::span(out.data(), n))) __builtin_trap();
  out[at(5) * 7u % n] = input[6];
  // Exact-size copy so an over-read is still caught by ASan/valgrind.
  const std::vector<std::byte> mutated(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
  check(mutated);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  check(input);
  check_statistics(input);
  check_mutated_compound(input);

  if (size >= 8) {
    // Exact-size copy so an over-read is still caught by ASan/valgrind.
    std::vector<std::byte> forged(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(size / 4 * 4));
    forged[0] = (forged[0] & std::byte{0x3f}) | std::byte{0x80};
    forged[1] = static_cast<std::byte>(kRtcpSenderReport + std::to_integer<int>(forged[1]) % 5);
    pttcam::net::write_be(forged, 2, forged.size() / 4 - 1, 2);
    check(forged);
  }
  return 0;
}
