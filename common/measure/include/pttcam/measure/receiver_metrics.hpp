#pragma once
// Everything measured about a media::Receiver, from the facts it reports: the event log lines,
// the per-packet CSV (--packets), the per-burst timeline and cutoffs (BurstAnalyzer) and the
// summary. io thread only.
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "pttcam/measure/burst_analyzer.hpp"
#include "pttcam/measure/event_log.hpp"
#include "pttcam/media/observer.hpp"
#include "pttcam/media/receiver.hpp"

namespace pttcam::measure {

class ReceiverMetrics final : public media::ReceiverObserver {
 public:
  struct Options {
    double cutoff_ms = 60;              // concealment runs at least this long are cutoffs
    std::filesystem::path packets_csv;  // per-packet fates (empty: none)
  };
  // `prefix` goes before every event name ("camera_audio_" for the client's view of the camera).
  ReceiverMetrics(const Options& options, EventLog& events, std::string prefix);  // throws if the CSV won't open

  void on_dropped(const media::Dropped& d) override;
  void on_rtcp(const rtp::RtcpCompound& rtcp, const media::Endpoint& from, media::Micros now_us) override;
  void on_rtcp_malformed(rtp::RtcpError error, const media::Endpoint& from) override;
  void on_stream_chosen(const media::StreamChosen& chosen) override;
  void on_other_sender(const media::OtherSender& other) override;
  void on_arrived(const media::Arrived& a) override;
  void on_played(const media::Played& p) override;
  void on_idle(media::Micros now_us) override;
  void on_cut(std::string_view cause, media::Micros heard_until_us) override;
  void on_stopped() override;

  const BurstAnalyzer& bursts() const noexcept { return analyzer_; }
  // The receiver's counters, its jitter buffer's and speaker's, and the per-burst timeline.
  nlohmann::json summary(const media::Receiver& receiver) const;

 private:
  void csv_row(std::uint16_t seq, std::uint32_t ts, std::uint32_t ssrc, const char* fate, media::Micros arrival_us,
               media::Micros play_us);
  void report_finished_bursts();
  static nlohmann::json report_json(const rtp::ReportBlock& block);
  std::string event(const char* name) const { return prefix_ + name; }

  EventLog& events_;
  std::string prefix_;
  BurstAnalyzer analyzer_;
  std::ofstream csv_;
  std::uint64_t drops_ = 0;
  std::uint64_t rtcp_logged_ = 0;
  // The far end's latest report block (about the stream this program sends), in summary form.
  nlohmann::json far_end_ = nullptr;
};

}  // namespace pttcam::measure
