#pragma once
// TLS 1.2 with SRP key exchange (RFC 5054) from GnuTLS over a connected TCP socket, run on the
// socket's io_context without ever blocking it: each GnuTLS call that would block waits for the
// socket to become readable or writable and tries again. The camera holds only an SRP verifier
// of its pairing code (made with a random salt); the client holds the code. A passive observer of
// the handshake learns nothing to test codes against offline; an active one gets one guess per
// handshake, which the camera counts.
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "pttcam/secure/keyring.hpp"

namespace pttcam::pairing {

inline constexpr const char* kSrpUser = "pttcam";  // one user: the code alone is the secret
inline constexpr std::string_view kExporterLabel = "EXPORTER-pttcam-pairing-key";

// The camera's side of the code: salt and verifier over RFC 5054's 3072-bit group. The code itself
// is not kept.
class SrpVerifier {
 public:
  explicit SrpVerifier(std::string_view code);  // throws std::runtime_error
  const std::vector<unsigned char>& salt() const noexcept { return salt_; }
  const std::vector<unsigned char>& verifier() const noexcept { return verifier_; }

 private:
  std::vector<unsigned char> salt_;
  std::vector<unsigned char> verifier_;
};

class SrpTls {
 public:
  // A GnuTLS result: 0 done, else a negative GnuTLS error code (see error_text).
  using Done = std::function<void(int code)>;
  using Received = std::function<void(int code, std::span<const std::byte> record)>;

  // The socket must stay open and alive as long as this object; it is switched to non-blocking.
  static std::unique_ptr<SrpTls> client(boost::asio::ip::tcp::socket& socket, const std::string& code);
  static std::unique_ptr<SrpTls> server(boost::asio::ip::tcp::socket& socket, const SrpVerifier& verifier);
  ~SrpTls();
  SrpTls(const SrpTls&) = delete;
  SrpTls& operator=(const SrpTls&) = delete;

  // One operation at a time. Whoever owns this object keeps it alive until `done` runs (capture
  // your own shared_ptr in it); closing the socket ends a pending operation with an error.
  void handshake(Done done);
  void send(std::span<const std::byte> data, Done done);  // all of it, as one record
  void receive(Received done);                            // one record (up to 512 bytes)
  // The key both sides derive from the session (RFC 5705 exporter, kExporterLabel, no context).
  secure::PairingKey export_key() const;  // throws std::runtime_error
  // Whether any byte came from the peer: an attempt that sent none tried no code.
  bool peer_sent_anything() const noexcept { return received_bytes_ > 0; }
  static std::string error_text(int code);
  // The handshake failed the way a wrong code makes it fail (a bad Finished / record MAC).
  static bool looks_like_wrong_code(int code) noexcept;

 private:
  struct Impl;
  SrpTls(boost::asio::ip::tcp::socket& socket, bool server);
  void drive(std::function<int()> op, Done done);

  boost::asio::ip::tcp::socket& socket_;
  std::unique_ptr<Impl> impl_;
  std::vector<std::byte> record_;
  std::size_t received_bytes_ = 0;
};

}  // namespace pttcam::pairing
