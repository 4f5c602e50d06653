#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pttcam::events {

// Microseconds on CLOCK_MONOTONIC: the clock every pttcam process on one machine shares, so the
// client's capture times and the camera's play times can be subtracted directly.
inline std::int64_t monotonic_us() noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// JSON Lines event log (--events PATH): one object per line, {"t_us":…, "event":"…", …fields}.
// Flushed per line so a killed process still leaves every event it logged. Disabled when the path
// is empty. io thread only.
class EventLog {
 public:
  EventLog() = default;
  explicit EventLog(const std::filesystem::path& path);
  bool enabled() const noexcept { return out_.is_open(); }
  void write(std::string_view event, nlohmann::json fields = nlohmann::json::object());
  // The same, stamped with `t_us` rather than the time of writing: what a state machine decided
  // at `t_us` (the session's events) carries that time, however late the line gets written.
  void write_at(std::int64_t t_us, std::string_view event, nlohmann::json fields = nlohmann::json::object());

 private:
  std::ofstream out_;
};

}  // namespace pttcam::events
