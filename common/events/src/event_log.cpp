#include "pttcam/events/event_log.hpp"

#include <stdexcept>

namespace pttcam::events {

EventLog::EventLog(const std::filesystem::path& path) {
  if (path.empty()) return;
  out_.open(path, std::ios::trunc);
  if (!out_) throw std::runtime_error("cannot write events log '" + path.string() + "'");
}

void EventLog::write(std::string_view event, nlohmann::json fields) {
  if (!enabled()) return;
  nlohmann::json line = {{"t_us", monotonic_us()}, {"event", event}};
  if (fields.is_object()) line.update(fields);
  out_ << line.dump() << '\n';
  out_.flush();
}

}  // namespace pttcam::events
