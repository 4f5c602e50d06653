#pragma once
// Control datagrams coming in, for both programs: decoded, or counted by reason and logged with
// their sender, up to a cap so that a flood cannot fill the disk.
#include <cstdint>
#include <span>

#include "pttcam/control/wire.hpp"
#include "pttcam/measure/event_log.hpp"
#include "pttcam/net/address.hpp"

namespace pttcam::app {

class ControlIntake {
 public:
  static constexpr std::uint64_t kMaxLogged = 1000;

  explicit ControlIntake(measure::EventLog& events) : events_(events) {}

  // A result that holds no message has been counted and logged (`control_dropped`), except a
  // message of another version when `answer_other_versions` (the caller answers it instead).
  control::DecodeResult decode(std::span<const std::byte> datagram, const net::Udp::endpoint& from,
                               bool answer_other_versions = false);
  std::uint64_t malformed() const noexcept { return malformed_.total(); }
  const control::DecodeCounters& by_reason() const noexcept { return malformed_; }

 private:
  measure::EventLog& events_;
  control::DecodeCounters malformed_;
};

}  // namespace pttcam::app
