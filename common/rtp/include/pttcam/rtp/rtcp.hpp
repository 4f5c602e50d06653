#pragma once
// RTCP (RFC 3550 §6) as pttcam's endpoints need it: parse a compound packet (SR, RR with report
// blocks, SDES CNAME, BYE; other types skipped), write SR/RR + SDES CNAME (+ BYE) into a caller's
// buffer, tell RTCP from RTP on one port (RFC 5761 §4), keep a receiver's statistics for one
// source (RFC 3550 A.1, A.3, A.8) and schedule reports (A.7).
// Pure code: no sockets, no clock (times are passed in as microseconds on the caller's monotonic
// clock, randomness as a number in [0, 1)), no allocation.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace pttcam::rtp {

inline constexpr std::uint8_t kRtcpSenderReport = 200;
inline constexpr std::uint8_t kRtcpReceiverReport = 201;
inline constexpr std::uint8_t kRtcpSdes = 202;
inline constexpr std::uint8_t kRtcpBye = 203;
inline constexpr std::uint8_t kRtcpApp = 204;

// RFC 5761 §4: on a port shared with RTP, a datagram whose second octet is 192..223 is RTCP (those
// values, as RTP marker + payload type, are the ones RTP may not use there).
constexpr bool is_rtcp(std::span<const std::byte> datagram) noexcept {
  if (datagram.size() < 2) return false;
  const auto second = std::to_integer<std::uint8_t>(datagram[1]);
  return second >= 192 && second <= 223;
}

// The 5-bit count field bounds report blocks per SR/RR, chunks per SDES and sources per BYE.
inline constexpr std::size_t kRtcpMaxCount = 31;

struct ReportBlock {
  std::uint32_t ssrc = 0;              // the source this block reports on
  std::uint8_t fraction_lost = 0;      // since the previous report, in 1/256
  std::int32_t cumulative_lost = 0;    // 24-bit signed on the wire (duplicates can make it negative)
  std::uint32_t extended_highest_seq = 0;
  std::uint32_t jitter = 0;            // interarrival jitter, RTP timestamp units
  std::uint32_t last_sr = 0;           // middle 32 bits of the last SR's NTP timestamp, 0 if none
  std::uint32_t delay_since_last_sr = 0;  // 1/65536 s
  bool operator==(const ReportBlock&) const = default;
};

struct SenderInfo {
  std::uint64_t ntp_timestamp = 0;  // 32.32 fixed point seconds since 1900
  std::uint32_t rtp_timestamp = 0;
  std::uint32_t packet_count = 0;
  std::uint32_t octet_count = 0;
  bool operator==(const SenderInfo&) const = default;
};

// One SR (sender set) or RR.
struct RtcpReport {
  std::uint32_t ssrc = 0;
  std::optional<SenderInfo> sender;
  std::array<ReportBlock, kRtcpMaxCount> blocks{};
  std::size_t block_count = 0;
  std::span<const ReportBlock> report_blocks() const noexcept { return {blocks.data(), block_count}; }
};

struct RtcpCname {
  std::uint32_t ssrc = 0;
  std::string_view cname;  // views the parsed datagram
};

struct RtcpBye {
  std::array<std::uint32_t, kRtcpMaxCount> ssrcs{};
  std::size_t count = 0;
  std::string_view reason;  // views the parsed datagram; empty if none
  std::span<const std::uint32_t> sources() const noexcept { return {ssrcs.data(), count}; }
};

// What one compound packet said. Counts are bounded: reports or CNAMEs beyond the arrays are
// counted in `dropped`, a second BYE too; APP, feedback (RFC 4585), XR (RFC 3611) and unknown
// types in `skipped`.
struct RtcpCompound {
  static constexpr std::size_t kMaxReports = 2;
  static constexpr std::size_t kMaxCnames = 4;
  std::array<RtcpReport, kMaxReports> reports{};
  std::size_t report_count = 0;
  std::array<RtcpCname, kMaxCnames> cnames{};
  std::size_t cname_count = 0;
  std::optional<RtcpBye> bye;
  std::size_t skipped = 0;
  std::size_t dropped = 0;
  std::span<const RtcpReport> all_reports() const noexcept { return {reports.data(), report_count}; }
  std::span<const RtcpCname> all_cnames() const noexcept { return {cnames.data(), cname_count}; }
};

enum class RtcpError {
  too_short,      // less than one 4-byte header
  bad_version,    // a packet in the compound is not version 2
  bad_length,     // a length field runs past the datagram
  bad_padding,    // padding on a packet other than the last, or a pad count that does not fit
  bad_report,     // the report count needs more room than the SR/RR's length gives
  bad_sdes,       // an SDES chunk or item runs past its packet, or is not terminated
  bad_bye,        // the source count or reason runs past the BYE's length
};
inline constexpr std::size_t kRtcpErrorCount = static_cast<std::size_t>(RtcpError::bad_bye) + 1;
const char* to_string(RtcpError error) noexcept;

struct RtcpParseResult {
  std::optional<RtcpCompound> compound;
  RtcpError error{};  // meaningful only when compound is empty
  explicit operator bool() const noexcept { return compound.has_value(); }
};

// Checks each layer before reading it (RFC 3550 A.2: version, lengths that add up to the datagram
// exactly, padding only on the last packet), then each packet's own fields. A compound that does
// not start with SR/RR is accepted (RFC 5506 reduced-size RTCP). Never reads outside `datagram`.
RtcpParseResult parse_rtcp(std::span<const std::byte> datagram) noexcept;

// One compound: SR (if `sender` is set) or RR, then SDES with the CNAME, then BYE if asked for.
struct RtcpReportSpec {
  std::uint32_t ssrc = 0;
  std::optional<SenderInfo> sender;
  std::span<const ReportBlock> blocks;  // at most kRtcpMaxCount
  std::string_view cname;               // 1..255 bytes (RFC 3550 §6.5.1: e.g. "user@host")
  bool bye = false;
  std::string_view bye_reason;  // at most 255 bytes
};

// Largest compound write_rtcp() can produce: SR with 31 blocks, a 255-byte CNAME, BYE with reason.
inline constexpr std::size_t kRtcpMaxCompound = (28 + 24 * kRtcpMaxCount) + (8 + 2 + 255 + 3) + (8 + 1 + 255 + 3);

// Writes the compound into `out`; returns its size, or 0 if `out` is too small or the spec breaks
// a limit above. No allocation.
std::size_t write_rtcp(const RtcpReportSpec& spec, std::span<std::byte> out) noexcept;

// ---- timestamps -----------------------------------------------------------------------------------

// NTP 32.32 from microseconds since the Unix epoch (the wall clock an SR carries).
constexpr std::uint64_t ntp_from_unix_us(std::int64_t unix_us) noexcept {
  constexpr std::uint64_t kUnixToNtpSeconds = 2'208'988'800ull;  // 1900-01-01 to 1970-01-01
  const auto us = static_cast<std::uint64_t>(unix_us < 0 ? 0 : unix_us);
  const std::uint64_t seconds = us / 1'000'000 + kUnixToNtpSeconds;
  const std::uint64_t fraction = ((us % 1'000'000) << 32) / 1'000'000;
  return (seconds << 32) | fraction;
}

// The "compact" NTP form LSR and DLSR use: 16.16 fixed point.
constexpr std::uint32_t ntp_middle32(std::uint64_t ntp) noexcept { return static_cast<std::uint32_t>(ntp >> 16); }

// RFC 3550 §6.4.1: round trip = A - LSR - DLSR, where A is when the report block arrived (middle
// 32 bits of NTP). Nothing when the block carries no LSR or the result would be negative.
std::optional<std::int64_t> round_trip_us(std::uint32_t arrival_middle32, const ReportBlock& block) noexcept;

// ---- receiver statistics --------------------------------------------------------------------------

// What a receiver keeps per source to fill its report block: RFC 3550 A.1 sequence validation
// (probation, MAX_DROPOUT, MAX_MISORDER, restart after two sequential packets far away), A.3 loss
// and A.8 jitter. Sequence numbers wrap 0xFFFF -> 0 and are counted in cycles. Called from the
// network thread only.
class ReceptionStatistics {
 public:
  static constexpr std::uint16_t kMaxDropout = 3000;
  static constexpr std::uint16_t kMaxMisorder = 100;

  // min_sequential: in-order packets needed before a source counts (A.1's MIN_SEQUENTIAL, 2); with
  // 1 the first packet counts at once.
  explicit ReceptionStatistics(std::uint32_t clock_rate = 48000, int min_sequential = 2) noexcept;

  // Feeds one RTP packet of this source. False while on probation and for a packet A.1 rejects
  // (a jump beyond MAX_DROPOUT not yet confirmed); those count nowhere. `marker`: the packet starts
  // a talk spurt (it updates the jitter but, as in Wireshark, not its mean and maximum).
  bool on_packet(std::uint16_t sequence, std::uint32_t rtp_timestamp, std::int64_t arrival_us,
                 bool marker = false) noexcept;

  // An SR from this source arrived: its NTP timestamp becomes the next blocks' LSR.
  void on_sender_report(std::uint64_t ntp_timestamp, std::int64_t arrival_us) noexcept;

  // The report block for this source as of now; also starts the next fraction-lost interval.
  // Nothing before the source is valid.
  std::optional<ReportBlock> report_block(std::uint32_t source_ssrc, std::int64_t now_us) noexcept;

  bool valid() const noexcept { return probation_ == 0 && started_; }
  std::uint64_t received() const noexcept { return received_; }
  std::int64_t expected() const noexcept;
  std::int64_t cumulative_lost() const noexcept { return expected() - static_cast<std::int64_t>(received_); }
  std::uint32_t extended_highest_seq() const noexcept { return static_cast<std::uint32_t>(cycles_ + max_seq_); }
  std::uint32_t jitter() const noexcept { return jitter_q4_ >> 4; }  // timestamp units
  // The jitter estimate's mean and maximum (timestamp units) over the packets that updated it,
  // except each talk spurt's first (marker): those pair with the packet before a pause, so they
  // show the pause, not the network. Wireshark's RTP stream statistics count the same packets.
  double jitter_mean() const noexcept;
  double jitter_max() const noexcept { return jitter_max_q4_ / 16.0; }
  std::uint32_t clock_rate() const noexcept { return clock_rate_; }
  std::uint64_t restarts() const noexcept { return restarts_; }

 private:
  void init_sequence(std::uint16_t sequence) noexcept;
  std::uint32_t to_timestamp_units(std::int64_t us) const noexcept;

  std::uint32_t clock_rate_;
  int min_sequential_;
  bool started_ = false;
  int probation_ = 0;
  std::uint16_t max_seq_ = 0;
  std::uint64_t cycles_ = 0;  // wraps counted, times 65536
  std::uint32_t base_seq_ = 0;
  std::uint32_t bad_seq_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t received_prior_ = 0;
  std::int64_t expected_prior_ = 0;
  std::uint64_t restarts_ = 0;
  std::optional<std::uint32_t> last_transit_;
  std::uint32_t jitter_q4_ = 0;  // jitter * 16, as A.8 keeps it
  std::uint64_t jitter_sum_q4_ = 0;
  std::uint64_t jitter_updates_ = 0;
  std::uint32_t jitter_max_q4_ = 0;
  std::uint32_t last_sr_ = 0;
  std::optional<std::int64_t> last_sr_arrival_us_;
};

// ---- transmission interval ------------------------------------------------------------------------

struct IntervalInputs {
  int members = 2;  // including ourselves
  int senders = 1;
  double rtcp_bandwidth = 0;  // octets/s for RTCP: 5 % of the session bandwidth
  double avg_rtcp_size = 0;   // octets, UDP and IP headers included
  bool we_sent = false;
  bool initial = false;  // no report sent yet: half the minimum
};

// RFC 3550 A.7 rtcp_interval(): the deterministic interval (at least 5 s, 2.5 s before the first
// report), scaled by a random factor in [0.5, 1.5) and divided by e - 3/2 to compensate for timer
// reconsideration. `unit_random` is in [0, 1). Result in microseconds.
std::int64_t rtcp_interval_us(const IntervalInputs& inputs, double unit_random) noexcept;

// When the next report is due, for a session of two (pttcam's client and camera). Reconsideration
// of A.7 is not needed with a fixed membership. Times in microseconds on the caller's clock.
class RtcpSchedule {
 public:
  static constexpr std::size_t kUdpIpv4Overhead = 28;

  // session_bandwidth_bps: the RTP stream's bit rate (e.g. the Opus bit rate plus headers).
  RtcpSchedule(double session_bandwidth_bps, std::int64_t now_us, double unit_random) noexcept;

  bool due(std::int64_t now_us) const noexcept { return now_us >= next_us_; }
  std::int64_t next_due_us() const noexcept { return next_us_; }

  // After sending a compound of `size` octets (UDP payload); we_sent: an RTP packet went out since
  // the report before this one.
  void on_sent(std::int64_t now_us, std::size_t size, bool we_sent, double unit_random) noexcept;
  // Every RTCP compound received also moves the average size (A.7).
  void on_received(std::size_t size) noexcept;

 private:
  void schedule(std::int64_t from_us, bool we_sent, double unit_random) noexcept;

  double rtcp_bandwidth_;
  double avg_rtcp_size_;
  bool initial_ = true;
  std::int64_t next_us_ = 0;
};

}  // namespace pttcam::rtp
