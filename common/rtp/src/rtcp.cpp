#include "pttcam/rtp/rtcp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "pttcam/net/byte_order.hpp"

namespace pttcam::rtp {

namespace {

using net::read_be;
using net::u8;
using net::write_be;

constexpr std::size_t kHeaderSize = 4;
constexpr std::size_t kWordSize = 4;
constexpr std::size_t kSenderInfoSize = 20;
constexpr std::size_t kReportBlockSize = 24;
constexpr std::uint8_t kVersion = 2;
constexpr std::uint8_t kPaddingBit = 0x20;
constexpr std::uint8_t kCountMask = 0x1f;
constexpr std::uint8_t kSdesEnd = 0;
constexpr std::uint8_t kSdesCname = 1;
constexpr std::size_t kMaxText = 255;
constexpr std::int32_t kMaxLost = 0x7fffff;    // 24-bit signed
constexpr std::int32_t kMinLost = -0x800000;
constexpr std::uint32_t kSeqMod = 1u << 16;

std::string_view text_at(std::span<const std::byte> data) noexcept {
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}

std::int32_t sign_extend_24(std::uint32_t v) noexcept {
  return static_cast<std::int32_t>(v & 0x800000 ? v | 0xff000000u : v);
}

ReportBlock read_block(std::span<const std::byte> b) noexcept {
  ReportBlock r;
  r.ssrc = static_cast<std::uint32_t>(read_be(b, 0, 4));
  r.fraction_lost = u8(b, 4);
  r.cumulative_lost = sign_extend_24(static_cast<std::uint32_t>(read_be(b, 5, 3)));
  r.extended_highest_seq = static_cast<std::uint32_t>(read_be(b, 8, 4));
  r.jitter = static_cast<std::uint32_t>(read_be(b, 12, 4));
  r.last_sr = static_cast<std::uint32_t>(read_be(b, 16, 4));
  r.delay_since_last_sr = static_cast<std::uint32_t>(read_be(b, 20, 4));
  return r;
}

// `body` is the packet after its 4-byte header, padding removed.
bool parse_report(std::uint8_t type, std::uint8_t count, std::span<const std::byte> body, RtcpCompound& out) {
  const std::size_t fixed = 4 + (type == kRtcpSenderReport ? kSenderInfoSize : 0);
  if (body.size() < fixed || (body.size() - fixed) / kReportBlockSize < count) return false;
  if (out.report_count == RtcpCompound::kMaxReports) {
    ++out.dropped;
    return true;
  }
  RtcpReport& r = out.reports[out.report_count++];
  r = RtcpReport{};
  r.ssrc = static_cast<std::uint32_t>(read_be(body, 0, 4));
  if (type == kRtcpSenderReport)
    r.sender = SenderInfo{read_be(body, 4, 8), static_cast<std::uint32_t>(read_be(body, 12, 4)),
                          static_cast<std::uint32_t>(read_be(body, 16, 4)),
                          static_cast<std::uint32_t>(read_be(body, 20, 4))};
  for (std::size_t i = 0; i < count; ++i) r.blocks[i] = read_block(body.subspan(fixed + i * kReportBlockSize));
  r.block_count = count;
  // Anything after the blocks is a profile-specific extension (RFC 3550 §6.4.1): skipped.
  return true;
}

// Chunks: SSRC, then items (type, length, text) up to a zero type, then zeros to the next word.
bool parse_sdes(std::uint8_t count, std::span<const std::byte> body, RtcpCompound& out) {
  std::size_t at = 0;
  for (std::size_t chunk = 0; chunk < count; ++chunk) {
    if (body.size() - at < 4) return false;
    const auto ssrc = static_cast<std::uint32_t>(read_be(body, at, 4));
    at += 4;
    std::optional<std::string_view> cname;
    for (;;) {
      if (at >= body.size()) return false;  // no end item
      const std::uint8_t item = u8(body, at);
      if (item == kSdesEnd) break;
      if (body.size() - at < 2) return false;
      const std::size_t length = u8(body, at + 1);
      if (body.size() - at - 2 < length) return false;
      if (item == kSdesCname && !cname) cname = text_at(body.subspan(at + 2, length));
      at += 2 + length;
    }
    at = (at / kWordSize + 1) * kWordSize;  // the end item and its padding to the word
    if (at > body.size()) return false;
    if (cname) {
      if (out.cname_count == RtcpCompound::kMaxCnames)
        ++out.dropped;
      else
        out.cnames[out.cname_count++] = RtcpCname{ssrc, *cname};
    }
  }
  return true;  // trailing bytes after the counted chunks are ignored
}

bool parse_bye(std::uint8_t count, std::span<const std::byte> body, RtcpCompound& out) {
  if (body.size() / 4 < count) return false;
  RtcpBye bye;
  for (std::size_t i = 0; i < count; ++i) bye.ssrcs[i] = static_cast<std::uint32_t>(read_be(body, 4 * i, 4));
  bye.count = count;
  const std::size_t at = 4 * std::size_t{count};
  if (at < body.size()) {
    const std::size_t length = u8(body, at);
    if (body.size() - at - 1 < length) return false;
    bye.reason = text_at(body.subspan(at + 1, length));
  }
  if (out.bye)
    ++out.dropped;
  else
    out.bye = bye;
  return true;
}

}  // namespace

const char* to_string(RtcpError error) noexcept {
  switch (error) {
    case RtcpError::too_short: return "too_short";
    case RtcpError::bad_version: return "bad_version";
    case RtcpError::bad_length: return "bad_length";
    case RtcpError::bad_padding: return "bad_padding";
    case RtcpError::bad_report: return "bad_report";
    case RtcpError::bad_sdes: return "bad_sdes";
    case RtcpError::bad_bye: return "bad_bye";
  }
  return "unknown";
}

RtcpParseResult parse_rtcp(std::span<const std::byte> datagram) noexcept {
  const auto fail = [](RtcpError e) { return RtcpParseResult{std::nullopt, e}; };
  if (datagram.size() < kHeaderSize) return fail(RtcpError::too_short);
  RtcpParseResult result{RtcpCompound{}, {}};
  RtcpCompound& out = *result.compound;
  std::size_t at = 0;
  while (at < datagram.size()) {
    const auto rest = datagram.subspan(at);
    if (rest.size() < kHeaderSize) return fail(RtcpError::bad_length);
    const std::uint8_t first = u8(rest, 0);
    if ((first >> 6) != kVersion) return fail(RtcpError::bad_version);
    const std::uint8_t count = first & kCountMask;
    const std::uint8_t type = u8(rest, 1);
    const std::size_t size = (read_be(rest, 2, 2) + 1) * kWordSize;
    if (size > rest.size()) return fail(RtcpError::bad_length);
    auto body = rest.subspan(kHeaderSize, size - kHeaderSize);
    at += size;
    if (first & kPaddingBit) {
      // A.2: only the last packet of a compound may be padded; the count includes itself.
      if (at != datagram.size() || body.empty()) return fail(RtcpError::bad_padding);
      const std::size_t pad = u8(body, body.size() - 1);
      if (pad == 0 || pad > body.size()) return fail(RtcpError::bad_padding);
      body = body.first(body.size() - pad);
    }
    bool ok = true;
    RtcpError error{};
    switch (type) {
      case kRtcpSenderReport:
      case kRtcpReceiverReport:
        ok = parse_report(type, count, body, out);
        error = RtcpError::bad_report;
        break;
      case kRtcpSdes:
        ok = parse_sdes(count, body, out);
        error = RtcpError::bad_sdes;
        break;
      case kRtcpBye:
        ok = parse_bye(count, body, out);
        error = RtcpError::bad_bye;
        break;
      default: ++out.skipped; break;
    }
    if (!ok) return fail(error);
  }
  return result;
}

std::size_t write_rtcp(const RtcpReportSpec& spec, std::span<std::byte> out) noexcept {
  if (spec.blocks.size() > kRtcpMaxCount || spec.cname.empty() || spec.cname.size() > kMaxText ||
      spec.bye_reason.size() > kMaxText)
    return 0;
  const std::size_t report_size =
      kHeaderSize + 4 + (spec.sender ? kSenderInfoSize : 0) + kReportBlockSize * spec.blocks.size();
  // SSRC, CNAME item, at least one zero octet ending the item list, then up to the word.
  const std::size_t sdes_size = kHeaderSize + ((4 + 2 + spec.cname.size()) / kWordSize + 1) * kWordSize;
  const std::size_t bye_size =
      spec.bye ? kHeaderSize + 4 + (spec.bye_reason.empty() ? 0 : (1 + spec.bye_reason.size() + 3) / kWordSize * kWordSize)
               : 0;
  const std::size_t total = report_size + sdes_size + bye_size;
  if (total > out.size()) return 0;
  std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(total), std::byte{0});

  const auto header = [&](std::size_t at, std::size_t count, std::uint8_t type, std::size_t size) {
    write_be(out, at, (kVersion << 6) | count, 1);
    write_be(out, at + 1, type, 1);
    write_be(out, at + 2, size / kWordSize - 1, 2);
  };

  header(0, spec.blocks.size(), spec.sender ? kRtcpSenderReport : kRtcpReceiverReport, report_size);
  write_be(out, 4, spec.ssrc, 4);
  std::size_t at = 8;
  if (spec.sender) {
    write_be(out, at, spec.sender->ntp_timestamp, 8);
    write_be(out, at + 8, spec.sender->rtp_timestamp, 4);
    write_be(out, at + 12, spec.sender->packet_count, 4);
    write_be(out, at + 16, spec.sender->octet_count, 4);
    at += kSenderInfoSize;
  }
  for (const auto& b : spec.blocks) {
    const auto lost = std::clamp(b.cumulative_lost, kMinLost, kMaxLost);
    write_be(out, at, b.ssrc, 4);
    write_be(out, at + 4, b.fraction_lost, 1);
    write_be(out, at + 5, static_cast<std::uint32_t>(lost) & 0xffffff, 3);
    write_be(out, at + 8, b.extended_highest_seq, 4);
    write_be(out, at + 12, b.jitter, 4);
    write_be(out, at + 16, b.last_sr, 4);
    write_be(out, at + 20, b.delay_since_last_sr, 4);
    at += kReportBlockSize;
  }

  header(at, 1, kRtcpSdes, sdes_size);
  write_be(out, at + 4, spec.ssrc, 4);
  write_be(out, at + 8, kSdesCname, 1);
  write_be(out, at + 9, spec.cname.size(), 1);
  std::transform(spec.cname.begin(), spec.cname.end(), out.begin() + static_cast<std::ptrdiff_t>(at + 10),
                 [](char c) { return static_cast<std::byte>(c); });
  at += sdes_size;  // the end item and padding are the zeros written above

  if (spec.bye) {
    header(at, 1, kRtcpBye, bye_size);
    write_be(out, at + 4, spec.ssrc, 4);
    if (!spec.bye_reason.empty()) {
      write_be(out, at + 8, spec.bye_reason.size(), 1);
      std::transform(spec.bye_reason.begin(), spec.bye_reason.end(),
                     out.begin() + static_cast<std::ptrdiff_t>(at + 9), [](char c) { return static_cast<std::byte>(c); });
    }
  }
  return total;
}

std::optional<std::int64_t> round_trip_us(std::uint32_t arrival_middle32, const ReportBlock& block) noexcept {
  if (block.last_sr == 0) return std::nullopt;
  const std::uint32_t rtt = arrival_middle32 - block.last_sr - block.delay_since_last_sr;
  if (rtt > std::numeric_limits<std::int32_t>::max()) return std::nullopt;  // negative: clocks disagree
  return static_cast<std::int64_t>(rtt) * 1'000'000 / 65536;
}

// ---- ReceptionStatistics ----------------------------------------------------------------------------

ReceptionStatistics::ReceptionStatistics(std::uint32_t clock_rate, int min_sequential) noexcept
    : clock_rate_(clock_rate), min_sequential_(std::max(1, min_sequential)) {}

void ReceptionStatistics::init_sequence(std::uint16_t sequence) noexcept {
  base_seq_ = sequence;
  max_seq_ = sequence;
  bad_seq_ = kSeqMod + 1;  // so seq == bad_seq is false
  cycles_ = 0;
  received_ = 0;
  received_prior_ = 0;
  expected_prior_ = 0;
  last_transit_.reset();  // a restarted source's timestamps relate nothing to the old ones
}

std::int64_t ReceptionStatistics::expected() const noexcept {
  if (!valid()) return 0;
  return static_cast<std::int64_t>(cycles_ + max_seq_) - static_cast<std::int64_t>(base_seq_) + 1;
}

std::uint32_t ReceptionStatistics::to_timestamp_units(std::int64_t us) const noexcept {
  // Split so that a large monotonic time times the clock rate cannot overflow.
  const auto seconds = static_cast<std::uint64_t>(us / 1'000'000);
  const auto rest = static_cast<std::uint64_t>(us % 1'000'000);
  return static_cast<std::uint32_t>(seconds * clock_rate_ + rest * clock_rate_ / 1'000'000);
}

bool ReceptionStatistics::on_packet(std::uint16_t seq, std::uint32_t rtp_timestamp, std::int64_t arrival_us,
                                    bool marker) noexcept {
  if (!started_) {
    started_ = true;
    init_sequence(seq);
    max_seq_ = static_cast<std::uint16_t>(seq - 1);
    probation_ = min_sequential_;
  }
  const auto udelta = static_cast<std::uint16_t>(seq - max_seq_);
  if (probation_ > 0) {
    // A source is valid after min_sequential_ packets in sequence.
    if (seq == static_cast<std::uint16_t>(max_seq_ + 1)) {
      --probation_;
      max_seq_ = seq;
      if (probation_ > 0) return false;
      init_sequence(seq);
    } else {
      probation_ = min_sequential_ - 1;
      max_seq_ = seq;
      return false;
    }
  } else if (udelta < kMaxDropout) {
    if (seq < max_seq_) cycles_ += kSeqMod;  // in order, with permissible gap: wrapped
    max_seq_ = seq;
  } else if (udelta <= kSeqMod - kMaxMisorder) {
    // A very large jump: a restarted source if the next packet follows this one, else a stray.
    if (seq == bad_seq_) {
      init_sequence(seq);
      ++restarts_;
    } else {
      bad_seq_ = (seq + 1u) & (kSeqMod - 1);
      return false;
    }
  }
  // else: a duplicate or a late packet within MAX_MISORDER: counted, max_seq unchanged.
  ++received_;

  // A.8: transit = arrival - timestamp (both in timestamp units, wrapping), D = transit delta.
  const std::uint32_t transit = to_timestamp_units(arrival_us) - rtp_timestamp;
  if (last_transit_) {
    const auto d = static_cast<std::int32_t>(transit - *last_transit_);
    const std::int64_t magnitude = d < 0 ? -static_cast<std::int64_t>(d) : d;
    const std::int64_t next = static_cast<std::int64_t>(jitter_q4_) + magnitude - ((jitter_q4_ + 8) >> 4);
    jitter_q4_ = static_cast<std::uint32_t>(std::clamp<std::int64_t>(next, 0, std::numeric_limits<std::uint32_t>::max()));
    if (!marker) {
      jitter_sum_q4_ += jitter_q4_;
      ++jitter_updates_;
      jitter_max_q4_ = std::max(jitter_max_q4_, jitter_q4_);
    }
  }
  last_transit_ = transit;
  return true;
}

double ReceptionStatistics::jitter_mean() const noexcept {
  return jitter_updates_ ? static_cast<double>(jitter_sum_q4_) / 16.0 / static_cast<double>(jitter_updates_) : 0.0;
}

void ReceptionStatistics::on_sender_report(std::uint64_t ntp_timestamp, std::int64_t arrival_us) noexcept {
  last_sr_ = ntp_middle32(ntp_timestamp);
  last_sr_arrival_us_ = arrival_us;
}

std::optional<ReportBlock> ReceptionStatistics::report_block(std::uint32_t source_ssrc, std::int64_t now_us) noexcept {
  if (!valid()) return std::nullopt;
  ReportBlock b;
  b.ssrc = source_ssrc;
  const std::int64_t expected_now = expected();
  const std::int64_t lost = expected_now - static_cast<std::int64_t>(received_);
  b.cumulative_lost = static_cast<std::int32_t>(std::clamp<std::int64_t>(lost, kMinLost, kMaxLost));
  const std::int64_t expected_interval = expected_now - expected_prior_;
  const std::int64_t received_interval = static_cast<std::int64_t>(received_ - received_prior_);
  expected_prior_ = expected_now;
  received_prior_ = received_;
  const std::int64_t lost_interval = expected_interval - received_interval;
  // All lost would be 256/256, one more than 8 bits hold: reported as 255.
  b.fraction_lost = expected_interval <= 0 || lost_interval <= 0
                        ? 0
                        : static_cast<std::uint8_t>(std::min<std::int64_t>(255, (lost_interval << 8) / expected_interval));
  b.extended_highest_seq = extended_highest_seq();
  b.jitter = jitter();
  if (last_sr_arrival_us_) {
    b.last_sr = last_sr_;
    const std::int64_t delay = std::max<std::int64_t>(0, now_us - *last_sr_arrival_us_);
    b.delay_since_last_sr = static_cast<std::uint32_t>(
        std::min<std::int64_t>(std::numeric_limits<std::uint32_t>::max(), delay * 65536 / 1'000'000));
  }
  return b;
}

// ---- interval ---------------------------------------------------------------------------------------

std::int64_t rtcp_interval_us(const IntervalInputs& in, double unit_random) noexcept {
  constexpr double kMinTime = 5.0;
  constexpr double kSenderFraction = 0.25;
  constexpr double kReceiverFraction = 1 - kSenderFraction;
  constexpr double kCompensation = 2.71828182845904523536 - 1.5;

  const double min_time = in.initial ? kMinTime / 2 : kMinTime;
  double bandwidth = in.rtcp_bandwidth;
  double n = std::max(1, in.members);
  // Senders share a quarter of the RTCP bandwidth when they are at most a quarter of the members.
  if (in.senders > 0 && in.senders <= in.members * kSenderFraction) {
    if (in.we_sent) {
      bandwidth *= kSenderFraction;
      n = in.senders;
    } else {
      bandwidth *= kReceiverFraction;
      n -= in.senders;
    }
  }
  double t = bandwidth > 0 && std::isfinite(bandwidth) ? in.avg_rtcp_size * n / bandwidth : min_time;
  if (!(t >= min_time)) t = min_time;  // also catches NaN
  t = std::min(t, 3600.0);               // an absurd input must not stop reporting for days
  const double u = std::isfinite(unit_random) ? std::clamp(unit_random, 0.0, 1.0) : 0.5;
  t *= u + 0.5;
  t /= kCompensation;
  return static_cast<std::int64_t>(t * 1e6);
}

RtcpSchedule::RtcpSchedule(double session_bandwidth_bps, std::int64_t now_us, double unit_random) noexcept
    : rtcp_bandwidth_(session_bandwidth_bps / 8 * 0.05),
      // A first guess before any compound was seen: an RR with one block and a short CNAME.
      avg_rtcp_size_(static_cast<double>(kUdpIpv4Overhead + 32 + 24 + 20)) {
  schedule(now_us, false, unit_random);
}

void RtcpSchedule::schedule(std::int64_t from_us, bool we_sent, double unit_random) noexcept {
  IntervalInputs in;
  in.rtcp_bandwidth = rtcp_bandwidth_;
  in.avg_rtcp_size = avg_rtcp_size_;
  in.we_sent = we_sent;
  in.initial = initial_;
  next_us_ = from_us + rtcp_interval_us(in, unit_random);
}

void RtcpSchedule::on_sent(std::int64_t now_us, std::size_t size, bool we_sent, double unit_random) noexcept {
  on_received(size);
  initial_ = false;
  schedule(now_us, we_sent, unit_random);
}

void RtcpSchedule::on_received(std::size_t size) noexcept {
  avg_rtcp_size_ += (static_cast<double>(size + kUdpIpv4Overhead) - avg_rtcp_size_) / 16;
}

}  // namespace pttcam::rtp
