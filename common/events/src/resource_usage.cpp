#include "pttcam/events/resource_usage.hpp"

#include <sys/resource.h>

namespace pttcam::events {

ResourceUsage resource_usage() {
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) != 0) return {};
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return {seconds(u.ru_utime), seconds(u.ru_stime), u.ru_maxrss};  // Linux: ru_maxrss is in KiB
}

void add_resource_usage(nlohmann::json& summary) {
  const auto u = resource_usage();
  summary["cpu_user_s"] = u.cpu_user_s;
  summary["cpu_system_s"] = u.cpu_system_s;
  summary["max_rss_kb"] = u.max_rss_kb;
}

}  // namespace pttcam::events
