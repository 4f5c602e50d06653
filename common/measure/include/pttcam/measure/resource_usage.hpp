#pragma once
#include <cstdint>

#include <nlohmann/json.hpp>

namespace pttcam::measure {

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

// This process's CPU time split between the stretches when audio flowed (a talk burst sent or
// played) and the rest, from start() on: "CPU while talking" without start-up, device probing or
// idle gaps in it, and "CPU idle" with the devices open. One getrusage() per edge; io thread.
class CpuSplit {
 public:
  void start(std::int64_t now_us);
  void set_active(bool active, std::int64_t now_us);  // an edge, or nothing if unchanged
  // {active_s, active_cpu_s, active_pct, idle_s, idle_cpu_s, idle_pct}: wall and CPU seconds and
  // CPU as % of one core, up to now.
  nlohmann::json summary(std::int64_t now_us) const;

 private:
  static double cpu_now();
  bool started_ = false;
  bool active_ = false;
  std::int64_t since_us_ = 0;  // the current stretch began
  double since_cpu_ = 0;
  double wall_[2] = {0, 0};  // idle, active
  double cpu_[2] = {0, 0};
};

}  // namespace pttcam::measure
