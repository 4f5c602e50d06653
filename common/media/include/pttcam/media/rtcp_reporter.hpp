#pragma once
// RTCP (RFC 3550 section 6) for one pttcam endpoint, multiplexed on its media port (RFC 5761):
// a sender report while this side sent RTP since the last report, else a receiver report, each
// with a report block on the stream this side plays (loss, jitter, LSR/DLSR) once that stream
// is valid, and an SDES CNAME; a BYE at the end. Intervals follow RFC 3550 A.7 (RtcpSchedule).
// Sends through the caller's function; reads the time from the Clock it was given. io thread only.
#include <cstdint>
#include <random>
#include <string>

#include "pttcam/media/receiver.hpp"
#include "pttcam/media/sender.hpp"
#include "pttcam/rtp/rtcp.hpp"
#include "pttcam/timing/clock.hpp"

namespace pttcam::media {

struct RtcpSent {
  std::uint64_t reports = 0;  // compounds sent (SR or RR)
  std::uint64_t sender_reports = 0;
  std::uint64_t byes = 0;
};

// The RTP session bandwidth of a pttcam stream with these settings (Opus, RED copies, headers).
double session_bandwidth_bps(const codec::OpusSettings& opus) noexcept;
// Wall clock minus `clock`, now: what turns the clock's times into NTP times for sender reports.
std::int64_t unix_offset_us(const timing::Clock& clock) noexcept;

class RtcpReporter {
 public:
  // `session_bandwidth_bps`: the RTP stream's rate (RTCP gets 5 % of it, A.7). `unix_offset_us`:
  // wall clock minus the Clock, for the NTP time a sender report carries.
  RtcpReporter(const Sender& sender, Receiver& receiver, std::string cname, double session_bandwidth_bps,
               const timing::Clock& clock, std::int64_t unix_offset_us, SendFn send);

  std::int64_t next_due_us() const noexcept { return schedule_.next_due_us(); }
  // Sends a report if one is due (and there is anyone to send it to: the caller's function decides).
  void pump();
  // The last report, with a BYE (at exit).
  void bye();
  const RtcpSent& sent() const noexcept { return sent_; }

 private:
  std::size_t write(bool with_bye);
  double unit_random();

  const Sender& sender_;
  Receiver& receiver_;
  std::string cname_;
  const timing::Clock& clock_;
  std::int64_t unix_offset_us_;
  SendFn send_;
  std::mt19937 random_;
  rtp::RtcpSchedule schedule_;
  std::uint64_t packets_at_last_report_ = 0;
  std::array<std::byte, rtp::kRtcpMaxCompound> buffer_{};
  RtcpSent sent_;
};

}  // namespace pttcam::media
