#pragma once
// DTLS 1.2 (RFC 6347) with SRTP keyed from it (DTLS-SRTP, RFC 5764), through OpenSSL with memory
// BIOs and libsrtp2: datagrams in, datagrams out, no socket. Two ways to authenticate the peer:
// - a pre-shared key from pairing (pttcam's own live views): the camera is the server, its camera
//   id the PSK identity hint, the client's id the PSK identity; ECDHE-PSK, so a key file that leaks
//   later does not open recordings of earlier sessions; SRTP AEAD_AES_128_GCM (RFC 7714);
// - a self-signed certificate checked against the fingerprint the peer's SDP gave (WebRTC);
//   SRTP_AES128_CM_SHA1_80, which every browser offers.
// Application data (pttcam's control messages) travels in DTLS records, with DTLS's own replay
// window. Nothing here is hand-written crypto. One thread (the caller's io thread).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pttcam/secure/keyring.hpp"
#include "pttcam/secure/mac.hpp"

namespace pttcam::secure {

// A self-signed ECDSA P-256 certificate, made once per process (as browsers make theirs).
class Certificate {
 public:
  static std::shared_ptr<const Certificate> generate();  // throws with OpenSSL's reason
  ~Certificate();
  const std::string& fingerprint() const noexcept { return fingerprint_; }  // "AB:CD:..."
  void* x509() const noexcept { return x509_; }
  void* key() const noexcept { return key_; }

 private:
  Certificate() = default;
  void* x509_ = nullptr;  // X509*
  void* key_ = nullptr;   // EVP_PKEY*
  std::string fingerprint_;
};

// "AB:CD:..." SHA-256 of a DER certificate, as SDP writes it.
std::string sha256_fingerprint(std::span<const unsigned char> der);

// The client's answer to the camera's identity hint (its camera id): who it is to that camera and
// the key they share; nullopt when it is not paired with that camera.
struct PskIdentity {
  std::string identity;
  PairingKey key{};
};
using PskClientLookup = std::function<std::optional<PskIdentity>(std::string_view camera_id)>;
// The camera's lookup of a client id; nullopt for a client it is not paired with.
using PskServerLookup = std::function<std::optional<PairingKey>(std::string_view client_id)>;

class DtlsListener;

class DtlsSrtp {
 public:
  enum class State { handshaking, connected, closed, failed };

  // The passive side of a WebRTC call (the browser is the DTLS client).
  static std::unique_ptr<DtlsSrtp> webrtc_server(std::shared_ptr<const Certificate> certificate,
                                                 std::string peer_fingerprint);  // throws
  // The client of a pttcam live view; its first flight is in take_outgoing() at once.
  static std::unique_ptr<DtlsSrtp> psk_client(PskClientLookup lookup);  // throws
  ~DtlsSrtp();
  DtlsSrtp(const DtlsSrtp&) = delete;
  DtlsSrtp& operator=(const DtlsSrtp&) = delete;

  // A DTLS record from the peer (first byte 20..63, RFC 7983).
  void on_datagram(std::span<const std::byte> datagram);
  // Retransmits a lost flight when its timer ran out; call every ~50 ms while handshaking.
  void on_timer();
  // What to send now (each a datagram), in order; empties the queue.
  std::vector<std::vector<std::byte>> take_outgoing();
  // Application data the peer sent (each one record's payload), in order; empties the queue.
  std::vector<std::vector<std::byte>> take_received();
  // Encrypts one message into a record queued in take_outgoing(); false unless connected.
  bool send(std::span<const std::byte> message);
  // close_notify to the peer; the state becomes closed.
  void close();

  State state() const noexcept { return state_; }
  const std::string& failure() const noexcept { return failure_; }
  // The PSK identity the peer presented (server), or the camera id it hinted (client).
  const std::string& peer_identity() const noexcept { return peer_identity_; }

  // In place; false (and counted by the caller) when it fails authentication or replays.
  bool unprotect_rtp(std::vector<std::byte>& packet);
  bool unprotect_rtcp(std::vector<std::byte>& packet);
  // Appends the authentication tag in place; false before the keys exist.
  bool protect_rtp(std::vector<std::byte>& packet);
  bool protect_rtcp(std::vector<std::byte>& packet);

  struct Impl;  // OpenSSL and libsrtp2 state (dtls.cpp)

 private:
  friend class DtlsListener;
  DtlsSrtp();
  void advance();
  void fail(std::string why);
  void make_srtp();
  void flush();

  std::unique_ptr<Impl> impl_;
  State state_ = State::handshaking;
  std::string failure_;
  std::string peer_identity_;
  std::vector<std::vector<std::byte>> outgoing_;
  std::vector<std::vector<std::byte>> received_;
};

// The camera's front door (RFC 6347 4.2.1): a ClientHello without a valid cookie gets a
// HelloVerifyRequest and leaves no state behind, so a spoofed source costs one small answer (no
// larger than the ClientHello) and no memory. A ClientHello that echoes its cookie becomes a
// DtlsSrtp connection, handshaking. The cookie is an HMAC of the source and a 10 s time slot.
class DtlsListener {
 public:
  DtlsListener(std::string camera_id, PskServerLookup lookup);  // throws
  ~DtlsListener();

  struct Result {
    std::vector<std::vector<std::byte>> reply;  // to the source (a HelloVerifyRequest), if any
    std::unique_ptr<DtlsSrtp> accepted;          // a new connection with the source, if any
  };
  // `source`: the datagram's source address and port as bytes (what the cookie binds);
  // `slot`: the caller's time in 10 s slots.
  Result on_datagram(std::span<const std::byte> datagram, std::span<const std::byte> source, std::int64_t slot);

 private:
  void renew();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pttcam::secure
