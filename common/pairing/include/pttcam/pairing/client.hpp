#pragma once
// ptt-client's side of pairing: one TCP connection to the camera's pairing port (the same number
// as its UDP control port), hello -> ready -> TLS-SRP with the code -> request(client id) ->
// accept(camera id) -> the key from the TLS exporter. Runs on the caller's io_context.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "pttcam/secure/keyring.hpp"

namespace pttcam::pairing {

struct PairOutcome {
  enum class Kind : std::uint8_t { paired, wrong_code, locked, busy, failed };
  Kind kind = Kind::failed;
  std::string camera_id;        // paired
  secure::PairingKey key{};     // paired
  std::uint32_t locked_s = 0;   // locked: seconds until the camera takes codes again
  std::string error;            // failed, wrong_code: what went wrong, one line
};

// Calls `done` once, on the io_context's thread, within `timeout`.
void pair(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& camera, const std::string& code,
          const std::string& client_id, std::chrono::milliseconds timeout, std::function<void(PairOutcome)> done);

}  // namespace pttcam::pairing
