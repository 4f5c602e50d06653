#include "pttcam/media/rtcp_reporter.hpp"

#include <chrono>

namespace pttcam::media {

double session_bandwidth_bps(const codec::OpusSettings& opus) noexcept {
  constexpr double kHeaderBytes = 12 + 8 + 20 + 36;  // RTP, UDP, IPv4, pttcam's extensions
  const double packets_per_s = 1000.0 / opus.frame_ms;
  return opus.bitrate * (1.0 + opus.redundancy) + packets_per_s * kHeaderBytes * 8;
}

std::int64_t unix_offset_us(const timing::Clock& clock) noexcept {
  const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  return wall - clock.now_us();
}

RtcpReporter::RtcpReporter(const Sender& sender, Receiver& receiver, std::string cname, double session_bandwidth_bps,
                           const timing::Clock& clock, std::int64_t unix_offset_us, SendFn send)
    : sender_(sender),
      receiver_(receiver),
      cname_(std::move(cname)),
      clock_(clock),
      unix_offset_us_(unix_offset_us),
      send_(std::move(send)),
      random_(std::random_device{}()),
      schedule_(session_bandwidth_bps, clock.now_us(), unit_random()) {}

double RtcpReporter::unit_random() { return std::uniform_real_distribution<double>(0.0, 1.0)(random_); }

std::size_t RtcpReporter::write(bool with_bye) {
  const std::int64_t now = clock_.now_us();
  rtp::RtcpReportSpec spec;
  spec.ssrc = sender_.ssrc();
  const auto& stats = sender_.stats();
  const std::uint64_t packets = stats.rtp_packets;
  if (packets != packets_at_last_report_) {
    rtp::SenderInfo info;
    info.ntp_timestamp = rtp::ntp_from_unix_us(now + unix_offset_us_);
    info.rtp_timestamp = sender_.rtp_timestamp_at(now);
    info.packet_count = static_cast<std::uint32_t>(packets);
    info.octet_count = static_cast<std::uint32_t>(stats.rtp_payload_octets);
    spec.sender = info;
  }
  std::array<rtp::ReportBlock, 1> blocks{};
  if (const auto block = receiver_.report_block(now)) {
    blocks[0] = *block;
    spec.blocks = std::span<const rtp::ReportBlock>(blocks.data(), 1);
  }
  spec.cname = cname_;
  spec.bye = with_bye;
  const std::size_t size = rtp::write_rtcp(spec, buffer_);
  if (size == 0) return 0;
  send_(std::span<const std::byte>(buffer_.data(), size));
  ++sent_.reports;
  if (spec.sender) ++sent_.sender_reports;
  if (with_bye) ++sent_.byes;
  const bool we_sent = packets != packets_at_last_report_;
  packets_at_last_report_ = packets;
  schedule_.on_sent(now, size + rtp::RtcpSchedule::kUdpIpv4Overhead, we_sent, unit_random());
  return size;
}

void RtcpReporter::pump() {
  if (schedule_.due(clock_.now_us())) write(false);
}

void RtcpReporter::bye() { write(true); }

}  // namespace pttcam::media
