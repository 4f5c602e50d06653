#include "pttcam/measure/event_log.hpp"

#include <stdexcept>

namespace pttcam::measure {

EventLog::EventLog(const std::filesystem::path& path) {
  if (path.empty()) return;
  out_.open(path, std::ios::trunc);
  if (!out_) throw std::runtime_error("cannot write events log '" + path.string() + "'");
}

void EventLog::write(std::string_view event, nlohmann::json fields) {
  write_at(timing::monotonic_us(), event, std::move(fields));
}

void EventLog::write_at(std::int64_t t_us, std::string_view event, nlohmann::json fields) {
  if (!enabled()) return;
  nlohmann::json line = {{"t_us", t_us}, {"event", event}};
  if (fields.is_object()) line.update(fields);
  out_ << line.dump() << '\n';
  out_.flush();
}

}  // namespace pttcam::measure
