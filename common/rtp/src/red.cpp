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

RedPacker::RedPacker(int redundancy, std::uint8_t primary_payload_type, std::uint8_t red_payload_type) noexcept
    : redundancy_(std::min<std::size_t>(static_cast<std::size_t>(std::max(redundancy, 0)), kMaxRedundancy)),
      primary_pt_(primary_payload_type),
      red_pt_(red_payload_type) {}

RedPacker::Packed RedPacker::pack(std::span<const std::byte> frame, std::uint32_t timestamp, bool first,
                                  std::size_t room) noexcept {
  if (redundancy_ == 0) return {frame, primary_pt_, 0};
  if (first) count_ = 0;
  std::array<RedBlock, kMaxRedundancy> blocks{};
  std::size_t n = 0;
  for (std::size_t i = count_ - std::min(count_, redundancy_); i < count_; ++i) {
    const std::uint32_t back = timestamp - copies_[i].timestamp;
    if (back <= kRedMaxTimestampOffset)
      blocks[n++] = {primary_pt_, back, std::span<const std::byte>(copies_[i].data.data(), copies_[i].size)};
  }
  const auto out = std::span<std::byte>(buffer_.data(), std::min(room, buffer_.size()));
  std::size_t size = write_red(std::span<const RedBlock>(blocks.data(), n), frame, primary_pt_, out);
  if (size == 0) {
    n = 0;
    size = write_red({}, frame, primary_pt_, out);
  }
  remember(frame, timestamp);
  if (size == 0) return {frame, primary_pt_, 0};  // not even the primary fits: plain is still playable
  return {std::span<const std::byte>(buffer_.data(), size), red_pt_, n};
}

void RedPacker::remember(std::span<const std::byte> frame, std::uint32_t timestamp) noexcept {
  if (frame.size() > kRedMaxBlockBytes) {
    count_ = 0;  // a frame too big to copy: later copies would skip it, so none until the next
    return;
  }
  if (count_ == copies_.size()) {
    std::rotate(copies_.begin(), copies_.begin() + 1, copies_.end());
    --count_;
  }
  Copy& c = copies_[count_++];
  std::copy(frame.begin(), frame.end(), c.data.begin());
  c.size = frame.size();
  c.timestamp = timestamp;
}

std::optional<PlacedCopy> place_copy(const RedBlock& copy, std::optional<int> copy_samples, std::uint8_t primary_payload_type,
                                     std::uint16_t primary_sequence, std::uint32_t primary_timestamp,
                                     int primary_samples) noexcept {
  if (copy.payload_type != primary_payload_type || !copy_samples || primary_samples <= 0 ||
      *copy_samples != primary_samples)
    return std::nullopt;
  const auto offset = static_cast<std::int64_t>(copy.timestamp_offset);
  const auto back = offset / primary_samples;
  if (offset % primary_samples != 0 || back < 1 || back > static_cast<std::int64_t>(kRedMaxBlocks)) return std::nullopt;
  return PlacedCopy{static_cast<std::uint16_t>(primary_sequence - back), primary_timestamp - copy.timestamp_offset,
                    static_cast<int>(back)};
}

}  // namespace pttcam::rtp
