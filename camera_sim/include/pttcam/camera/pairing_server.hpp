#pragma once
// The camera's pairing port (docs/security.md, "Pairing"): TCP on the same address and port
// number as the UDP control port. One short connection per attempt: hello -> ready (or locked /
// busy) -> TLS-SRP over the pairing code -> request(client id) -> accept(camera id); both sides
// then hold the key of the TLS exporter, and the camera keeps it in its keyring. Runs on the
// camera's io_context thread and never blocks it: every step is asynchronous, every connection
// has a deadline, and only a few connections are served at once.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "pttcam/measure/event_log.hpp"
#include "pttcam/pairing/limiter.hpp"
#include "pttcam/pairing/srp_tls.hpp"
#include "pttcam/secure/keyring.hpp"
#include "pttcam/timing/clock.hpp"

namespace pttcam::camera {

struct PairingOptions {
  boost::asio::ip::tcp::endpoint listen;
  std::string code;                  // the label's pairing code
  double attempt_timeout_s = 10;     // a connection that has not finished by then is closed
  std::size_t max_connections = 4;   // more at once are closed unanswered
  pairing::LimiterPolicy limits;     // 5 wrong codes -> 60 s, doubling to 1 h
};

struct PairingCounters {
  std::uint64_t connections = 0;
  std::uint64_t connections_refused = 0;  // beyond max_connections
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;               // wrong codes, and handshakes broken off after they began
  std::uint64_t lockouts = 0;             // times pairing locked
  std::uint64_t refused_locked = 0;       // attempts answered "locked"
  std::uint64_t refused_busy = 0;         // attempts answered "busy" (another one under way)
  std::uint64_t abandoned = 0;            // connections that tried no code
  std::uint64_t timeouts = 0;
};

class PairingServer {
 public:
  // Binds and listens; throws std::runtime_error naming the address when it cannot.
  PairingServer(boost::asio::io_context& io, PairingOptions options, const timing::Clock& clock,
                measure::EventLog& events, secure::CameraKeyring& keyring);
  ~PairingServer();
  PairingServer(const PairingServer&) = delete;
  PairingServer& operator=(const PairingServer&) = delete;

  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void reset_limits() { limiter_.reset(); }  // factory reset: no lock, no count
  const PairingCounters& counters() const noexcept { return counters_; }
  nlohmann::json summary() const;

 private:
  class Connection;
  friend class Connection;
  void accept();
  void attempt_failed(const std::string& from, const std::string& why);
  void attempt_succeeded(const std::string& from, const std::string& client_id);

  boost::asio::io_context& io_;
  PairingOptions options_;
  const timing::Clock& clock_;
  measure::EventLog& events_;
  secure::CameraKeyring& keyring_;
  pairing::SrpVerifier verifier_;
  pairing::AttemptLimiter limiter_;
  boost::asio::ip::tcp::acceptor acceptor_;
  PairingCounters counters_;
  std::size_t active_ = 0;
  // Shared with the connections: false once the server is gone, so a late handler touches nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace pttcam::camera
