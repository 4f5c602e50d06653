#include "pttcam/app/control_intake.hpp"

namespace pttcam::app {

control::DecodeResult ControlIntake::decode(std::span<const std::byte> datagram, const net::Udp::endpoint& from,
                                            bool answer_other_versions) {
  auto result = control::decode(datagram);
  if (result || (answer_other_versions && result.error == control::DecodeError::unsupported_version)) return result;
  malformed_.record(result.error);
  if (malformed_.total() <= kMaxLogged)
    events_.write("control_dropped", {{"reason", control::to_string(result.error)}, {"from", net::to_string(from)}});
  return result;
}

}  // namespace pttcam::app
