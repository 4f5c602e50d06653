#pragma once
// What is logged and summed up about a media::Sender, from the facts it reports. io thread only.
#include <nlohmann/json.hpp>

#include "pttcam/measure/event_log.hpp"
#include "pttcam/media/observer.hpp"
#include "pttcam/media/sender.hpp"

namespace pttcam::measure {

class SenderMetrics final : public media::SenderObserver {
 public:
  explicit SenderMetrics(EventLog& events) : events_(events) {}

  void on_first_packet(const media::BurstSent& b) override;
  void on_last_packet(const media::BurstSent& b) override;
  void on_mic_open(double open_ms) override;
  void on_mic_open_failed(std::string_view message) override;
  void on_mic_close() override;
  void on_capture_stall(const media::CaptureStall& s) override;

  static nlohmann::json summary(const media::Sender& sender);

 private:
  EventLog& events_;
};

}  // namespace pttcam::measure
