#include "pttcam/measure/resource_usage.hpp"

#include <sys/resource.h>

namespace pttcam::measure {

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

double CpuSplit::cpu_now() {
  const auto u = resource_usage();
  return u.cpu_user_s + u.cpu_system_s;
}

void CpuSplit::start(std::int64_t now_us) {
  started_ = true;
  since_us_ = now_us;
  since_cpu_ = cpu_now();
}

void CpuSplit::set_active(bool active, std::int64_t now_us) {
  if (!started_ || active == active_) return;
  const double cpu = cpu_now();
  wall_[active_] += static_cast<double>(now_us - since_us_) / 1e6;
  cpu_[active_] += cpu - since_cpu_;
  active_ = active;
  since_us_ = now_us;
  since_cpu_ = cpu;
}

nlohmann::json CpuSplit::summary(std::int64_t now_us) const {
  double wall[2] = {wall_[0], wall_[1]};
  double cpu[2] = {cpu_[0], cpu_[1]};
  if (started_) {
    wall[active_] += static_cast<double>(now_us - since_us_) / 1e6;
    cpu[active_] += cpu_now() - since_cpu_;
  }
  const auto pct = [](double c, double w) { return w > 0 ? 100.0 * c / w : 0.0; };
  return {{"active_s", wall[1]}, {"active_cpu_s", cpu[1]}, {"active_pct", pct(cpu[1], wall[1])},
          {"idle_s", wall[0]},   {"idle_cpu_s", cpu[0]},   {"idle_pct", pct(cpu[0], wall[0])}};
}

}  // namespace pttcam::measure
