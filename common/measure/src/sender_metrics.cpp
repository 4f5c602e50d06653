#include "pttcam/measure/sender_metrics.hpp"

namespace pttcam::measure {

void SenderMetrics::on_first_packet(const media::BurstSent& b) {
  events_.write("burst_first_packet", {{"ssrc", b.ssrc},
                                       {"burst", b.burst},
                                       {"seq", b.sequence},
                                       {"rtp_ts", b.timestamp},
                                       {"key_down_us", b.key_down_us},
                                       {"capture_us", b.capture_us}});
}

void SenderMetrics::on_last_packet(const media::BurstSent& b) {
  events_.write("burst_last_packet", {{"ssrc", b.ssrc}, {"burst", b.burst}, {"seq", b.sequence}, {"frames", b.frames}});
}

void SenderMetrics::on_mic_open(double open_ms) {
  events_.write("mic_open", {{"open_ms", open_ms}});
}

void SenderMetrics::on_mic_open_failed(std::string_view message) {
  events_.write("mic_open_failed", {{"message", message}});
}

void SenderMetrics::on_mic_close() {
  events_.write("mic_close", {});
}

void SenderMetrics::on_capture_stall(const media::CaptureStall& s) {
  events_.write("capture_stall", {{"ssrc", s.ssrc},
                                  {"burst", s.burst},
                                  {"seq", s.sequence},
                                  {"rtp_ts", s.timestamp},
                                  {"gap_samples", s.gap_samples},
                                  {"gap_ms", static_cast<double>(s.gap_us) / 1000.0},
                                  {"capture_us", s.capture_us}});
}

nlohmann::json SenderMetrics::summary(const media::Sender& sender) {
  const auto& st = sender.stats();
  nlohmann::json s{{"bursts", st.bursts},
                   {"frames_sent", st.frames_sent},
                   {"bytes_sent", st.bytes_sent},
                   {"talk_seconds", st.talk_seconds},
                   {"encode_errors", st.encode_errors},
                   {"redundant_copies", st.redundant_copies},
                   {"end_repeats", st.end_repeats},
                   {"samples_discarded_idle", st.samples_discarded_idle},
                   {"cold_microphone", sender.cold_microphone()},
                   {"mic_open_failures", st.mic_open_failures},
                   {"timestamp_jumps", st.timestamp_jumps}};
  if (const auto* capture = sender.capture()) {
    s["capture_overrun_samples"] = capture->counters().overrun_samples.load();
    s["capture_device_xruns"] = capture->counters().device_flags.load();
  }
  return s;
}

}  // namespace pttcam::measure
