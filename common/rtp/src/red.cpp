#include "pttcam/rtp/red.hpp"

#include <algorithm>

namespace pttcam::rtp {
namespace {

constexpr std::uint8_t kFollows = 0x80;  // F bit: another block header follows
constexpr std::size_t kFullHeader = 4;   // F, PT, 14-bit offset, 10-bit length
constexpr std::size_t kLastHeader = 1;   // F = 0, PT

std::uint8_t u8(std::byte b) noexcept { return std::to_integer<std::uint8_t>(b); }

}  // namespace

const char* to_string(RedError error) noexcept {
  switch (error) {
    case RedError::truncated_header: return "red_truncated_header";
    case RedError::truncated_block: return "red_truncated_block";
    case RedError::too_many_blocks: return "red_too_many_blocks";
  }
  return "?";
}

RedParseResult parse_red(std::span<const std::byte> payload) noexcept {
  RedPayload out;
  std::array<std::size_t, kRedMaxBlocks> lengths{};
  std::size_t pos = 0;
  for (;;) {
    if (pos >= payload.size()) return {std::nullopt, RedError::truncated_header};
    const std::uint8_t first = u8(payload[pos]);
    if ((first & kFollows) == 0) {
      out.primary.payload_type = first & 0x7f;
      pos += kLastHeader;
      break;
    }
    if (payload.size() - pos < kFullHeader) return {std::nullopt, RedError::truncated_header};
    if (out.redundant_count == kRedMaxBlocks) return {std::nullopt, RedError::too_many_blocks};
    const std::uint32_t rest = (std::uint32_t{u8(payload[pos + 1])} << 16) | (std::uint32_t{u8(payload[pos + 2])} << 8) |
                               std::uint32_t{u8(payload[pos + 3])};
    RedBlock& block = out.redundant[out.redundant_count];
    block.payload_type = first & 0x7f;
    block.timestamp_offset = rest >> 10;
    lengths[out.redundant_count] = rest & 0x3ff;
    ++out.redundant_count;
    pos += kFullHeader;
  }
  for (std::size_t i = 0; i < out.redundant_count; ++i) {
    if (payload.size() - pos < lengths[i]) return {std::nullopt, RedError::truncated_block};
    out.redundant[i].data = payload.subspan(pos, lengths[i]);
    pos += lengths[i];
  }
  out.primary.data = payload.subspan(pos);
  return {out, {}};
}

std::size_t write_red(std::span<const RedBlock> redundant, std::span<const std::byte> primary,
                      std::uint8_t primary_payload_type, std::span<std::byte> out) noexcept {
  if (redundant.size() > kRedMaxBlocks) return 0;
  std::size_t total = kLastHeader + primary.size();
  for (const auto& b : redundant) {
    if (b.timestamp_offset > kRedMaxTimestampOffset || b.data.size() > kRedMaxBlockBytes) return 0;
    total += kFullHeader + b.data.size();
  }
  if (total > out.size()) return 0;
  std::size_t pos = 0;
  for (const auto& b : redundant) {
    const std::uint32_t rest = (b.timestamp_offset << 10) | static_cast<std::uint32_t>(b.data.size());
    out[pos++] = std::byte{static_cast<std::uint8_t>(kFollows | (b.payload_type & 0x7f))};
    out[pos++] = std::byte{static_cast<std::uint8_t>(rest >> 16)};
    out[pos++] = std::byte{static_cast<std::uint8_t>(rest >> 8)};
    out[pos++] = std::byte{static_cast<std::uint8_t>(rest)};
  }
  out[pos++] = std::byte{static_cast<std::uint8_t>(primary_payload_type & 0x7f)};
  for (const auto& b : redundant) pos = static_cast<std::size_t>(std::copy(b.data.begin(), b.data.end(), out.begin() + static_cast<std::ptrdiff_t>(pos)) - out.begin());
  std::copy(primary.begin(), primary.end(), out.begin() + static_cast<std::ptrdiff_t>(pos));
  return total;
}

}  // namespace pttcam::rtp
