#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pttcam/timing/clock.hpp"

namespace pttcam::measure {

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

}  // namespace pttcam::measure
