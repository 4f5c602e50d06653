#pragma once
#include <nlohmann/json.hpp>

namespace pttcam::events {

// What this process has used so far (getrusage(RUSAGE_SELF)): CPU seconds in user and kernel mode,
// and the peak resident set size. Read once at exit for the summaries; not for the audio path.
struct ResourceUsage {
  double cpu_user_s = 0;
  double cpu_system_s = 0;
  long max_rss_kb = 0;
};

ResourceUsage resource_usage();

// Adds cpu_user_s, cpu_system_s and max_rss_kb to a summary object.
void add_resource_usage(nlohmann::json& summary);

}  // namespace pttcam::events
