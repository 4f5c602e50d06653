#pragma once
// DTLS 1.2 (RFC 6347) as the passive side of DTLS-SRTP (RFC 5764), through OpenSSL with memory
// BIOs: datagrams in, datagrams out, no socket. Once the handshake is done and the peer's
// certificate matches the fingerprint its SDP gave, the SRTP keys come from the exporter
// ("EXTRACTOR-dtls_srtp") and libsrtp2 protects and unprotects RTP and RTCP. Nothing here is
// hand-written crypto. io thread only.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace pttcam::webrtc {

// A self-signed ECDSA P-256 certificate, made once per process (as browsers make theirs); its
// SHA-256 fingerprint goes into every answer.
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

class DtlsSrtp {
 public:
  enum class State { handshaking, connected, failed };
  // `peer_fingerprint`: the sha-256 the offer gave, upper case with colons.
  DtlsSrtp(std::shared_ptr<const Certificate> certificate, std::string peer_fingerprint);  // throws
  ~DtlsSrtp();
  DtlsSrtp(const DtlsSrtp&) = delete;
  DtlsSrtp& operator=(const DtlsSrtp&) = delete;

  // A DTLS record from the peer (first byte 20..63, RFC 7983).
  void on_datagram(std::span<const std::byte> datagram);
  // Retransmits a lost flight when its timer ran out; call every ~50 ms while handshaking.
  void on_timer();
  // What to send now (each a datagram), in order; empties the queue.
  std::vector<std::vector<std::byte>> take_outgoing();
  State state() const noexcept { return state_; }
  const std::string& failure() const noexcept { return failure_; }

  // In place; false (and counted by the caller) when it fails authentication or replays.
  bool unprotect_rtp(std::vector<std::byte>& packet);
  bool unprotect_rtcp(std::vector<std::byte>& packet);
  // Appends the authentication tag in place; false before the keys exist.
  bool protect_rtp(std::vector<std::byte>& packet);
  bool protect_rtcp(std::vector<std::byte>& packet);

 private:
  void advance();
  void fail(std::string why);
  void make_srtp();
  void flush();

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::shared_ptr<const Certificate> certificate_;
  std::string peer_fingerprint_;
  State state_ = State::handshaking;
  std::string failure_;
  std::vector<std::vector<std::byte>> outgoing_;
};

}  // namespace pttcam::webrtc
