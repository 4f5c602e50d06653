#include "pttcam/webrtc/dtls_srtp.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <srtp2/srtp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace pttcam::webrtc {
namespace {

constexpr int kMtu = 1200;  // DTLS fragments and our datagrams stay under a typical path MTU
constexpr std::size_t kKeyLength = 16;   // SRTP_AES128_CM_SHA1_80 (RFC 5764 §4.1.2)
constexpr std::size_t kSaltLength = 14;

std::string openssl_error(const char* what) {
  const unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return std::string(what) + (e ? std::string(": ") + buf : "");
}

struct SslCtxFree {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};
struct SrtpFree {
  void operator()(srtp_ctx_t* s) const noexcept { srtp_dealloc(s); }
};

// Retransmission: 100 ms first, doubling to 2 s, rather than OpenSSL's 1 s first (RFC 6347 allows
// it; a call should not wait a second because ICE dropped the first flight before nomination).
unsigned int retransmit_us(SSL*, unsigned int previous_us) {
  return previous_us == 0 ? 100'000 : std::min(previous_us * 2, 2'000'000u);
}

// The peer's certificate is self-signed by design: it is checked against the SDP's fingerprint
// once the handshake is done, not against a chain.
int accept_any(int, X509_STORE_CTX*) { return 1; }

void init_srtp() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (srtp_init() != srtp_err_status_ok) throw std::runtime_error("libsrtp2 failed to initialise");
  });
}

// DTLS records (RFC 6347 §4.1: 13-byte header, length in bytes 11..12) packed into datagrams of
// at most kMtu bytes; a memory BIO runs a flight's records together.
std::vector<std::vector<std::byte>> pack_records(std::span<const std::byte> bytes) {
  std::vector<std::vector<std::byte>> out;
  std::size_t pos = 0;
  while (pos + 13 <= bytes.size()) {
    const std::size_t len = 13 + ((std::to_integer<std::size_t>(bytes[pos + 11]) << 8) | std::to_integer<std::size_t>(bytes[pos + 12]));
    const std::size_t n = std::min(len, bytes.size() - pos);
    if (out.empty() || out.back().size() + n > static_cast<std::size_t>(kMtu)) out.emplace_back();
    out.back().insert(out.back().end(), bytes.begin() + static_cast<long>(pos), bytes.begin() + static_cast<long>(pos + n));
    pos += n;
  }
  return out;
}

}  // namespace

std::string sha256_fingerprint(std::span<const unsigned char> der) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(der.data(), der.size(), md.data(), &len, EVP_sha256(), nullptr);
  std::string out;
  char hex[4];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, i + 1 < len ? "%02X:" : "%02X", md[i]);
    out += hex;
  }
  return out;
}

namespace {
std::string fingerprint_of(X509* x) {
  const int n = i2d_X509(x, nullptr);
  if (n <= 0) return {};
  std::vector<unsigned char> der(static_cast<std::size_t>(n));
  unsigned char* p = der.data();
  i2d_X509(x, &p);
  return sha256_fingerprint(der);
}
}  // namespace

std::shared_ptr<const Certificate> Certificate::generate() {
  std::shared_ptr<Certificate> c(new Certificate());
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw std::runtime_error(openssl_error("cannot make an ECDSA key"));
  c->key_ = key;
  X509* x = X509_new();
  if (!x) throw std::runtime_error(openssl_error("cannot make a certificate"));
  c->x509_ = x;
  std::array<unsigned char, 8> serial{};
  RAND_bytes(serial.data(), serial.size());
  BIGNUM* bn = BN_bin2bn(serial.data(), serial.size(), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_set_version(x, 2);
  X509_gmtime_adj(X509_getm_notBefore(x), -86400);
  X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("pttcam camera-sim"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (X509_set_pubkey(x, key) != 1 || X509_sign(x, key, EVP_sha256()) <= 0)
    throw std::runtime_error(openssl_error("cannot sign the certificate"));
  c->fingerprint_ = fingerprint_of(x);
  return c;
}

Certificate::~Certificate() {
  X509_free(static_cast<X509*>(x509_));
  EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
}

struct DtlsSrtp::Impl {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx;
  std::unique_ptr<SSL, SslFree> ssl;
  BIO* rbio = nullptr;  // owned by ssl
  BIO* wbio = nullptr;
  std::unique_ptr<srtp_ctx_t, SrtpFree> srtp_in;
  std::unique_ptr<srtp_ctx_t, SrtpFree> srtp_out;
};

DtlsSrtp::DtlsSrtp(std::shared_ptr<const Certificate> certificate, std::string peer_fingerprint)
    : impl_(std::make_unique<Impl>()), certificate_(std::move(certificate)), peer_fingerprint_(std::move(peer_fingerprint)) {
  init_srtp();
  impl_->ctx.reset(SSL_CTX_new(DTLS_server_method()));
  auto* ctx = impl_->ctx.get();
  if (!ctx) throw std::runtime_error(openssl_error("cannot make a DTLS context"));
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  if (SSL_CTX_use_certificate(ctx, static_cast<X509*>(certificate_->x509())) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, static_cast<EVP_PKEY*>(certificate_->key())) != 1)
    throw std::runtime_error(openssl_error("cannot use the DTLS certificate"));
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
  // 0 is success here (OpenSSL's convention for this one call).
  if (SSL_CTX_set_tlsext_use_srtp(ctx, "SRTP_AES128_CM_SHA1_80") != 0)
    throw std::runtime_error(openssl_error("cannot offer the DTLS use_srtp extension"));
  impl_->ssl.reset(SSL_new(ctx));
  auto* ssl = impl_->ssl.get();
  if (!ssl) throw std::runtime_error(openssl_error("cannot make a DTLS connection"));
  impl_->rbio = BIO_new(BIO_s_mem());
  impl_->wbio = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(impl_->rbio, -1);
  BIO_set_mem_eof_return(impl_->wbio, -1);
  SSL_set_bio(ssl, impl_->rbio, impl_->wbio);
  SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu(ssl, kMtu - 28);
  DTLS_set_link_mtu(ssl, kMtu);
  DTLS_set_timer_cb(ssl, retransmit_us);
  SSL_set_accept_state(ssl);
}

DtlsSrtp::~DtlsSrtp() = default;

void DtlsSrtp::fail(std::string why) {
  state_ = State::failed;
  failure_ = std::move(why);
  ERR_clear_error();
}

void DtlsSrtp::on_datagram(std::span<const std::byte> datagram) {
  if (state_ == State::failed) return;
  BIO_write(impl_->rbio, datagram.data(), static_cast<int>(datagram.size()));
  advance();
  flush();
}

void DtlsSrtp::on_timer() {
  if (state_ != State::handshaking) return;
  DTLSv1_handle_timeout(impl_->ssl.get());
  flush();
}

void DtlsSrtp::advance() {
  auto* ssl = impl_->ssl.get();
  if (state_ == State::connected) {
    // After the handshake only alerts and retransmitted flights arrive: read them so OpenSSL
    // answers; a close_notify ends the call.
    std::array<char, 2048> sink{};
    const int r = SSL_read(ssl, sink.data(), static_cast<int>(sink.size()));
    if (r <= 0 && SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN) fail("the peer closed DTLS");
    ERR_clear_error();
    return;
  }
  const int r = SSL_do_handshake(ssl);
  if (r != 1) {
    const int e = SSL_get_error(ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) fail(openssl_error("DTLS handshake failed"));
    return;
  }
  X509* peer = SSL_get1_peer_certificate(ssl);
  const std::string got = peer ? fingerprint_of(peer) : std::string();
  X509_free(peer);
  if (got.empty() || got != peer_fingerprint_) return fail("the peer's DTLS certificate does not match its SDP fingerprint");
  const SRTP_PROTECTION_PROFILE* profile = SSL_get_selected_srtp_profile(ssl);
  if (!profile || profile->id != SRTP_AES128_CM_SHA1_80) return fail("the peer chose no SRTP profile pttcam offers");
  make_srtp();
}

void DtlsSrtp::make_srtp() {
  constexpr std::size_t kMaterial = 2 * (kKeyLength + kSaltLength);
  std::array<unsigned char, kMaterial> m{};
  static const char kLabel[] = "EXTRACTOR-dtls_srtp";
  if (SSL_export_keying_material(impl_->ssl.get(), m.data(), m.size(), kLabel, sizeof kLabel - 1, nullptr, 0, 0) != 1)
    return fail(openssl_error("cannot export the SRTP keys"));
  // RFC 5764 §4.2: client key, server key, client salt, server salt. The camera is the server.
  std::array<unsigned char, kKeyLength + kSaltLength> remote{}, local{};
  std::memcpy(remote.data(), m.data(), kKeyLength);
  std::memcpy(remote.data() + kKeyLength, m.data() + 2 * kKeyLength, kSaltLength);
  std::memcpy(local.data(), m.data() + kKeyLength, kKeyLength);
  std::memcpy(local.data() + kKeyLength, m.data() + 2 * kKeyLength + kSaltLength, kSaltLength);
  const auto create = [&](std::array<unsigned char, kKeyLength + kSaltLength>& key, srtp_ssrc_type_t type) {
    srtp_policy_t policy{};
    srtp_crypto_policy_set_rtp_default(&policy.rtp);
    srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
    policy.ssrc.type = type;
    policy.key = key.data();
    policy.window_size = 1024;
    srtp_t s = nullptr;
    if (srtp_create(&s, &policy) != srtp_err_status_ok) s = nullptr;
    return std::unique_ptr<srtp_ctx_t, SrtpFree>(s);
  };
  impl_->srtp_in = create(remote, ssrc_any_inbound);
  impl_->srtp_out = create(local, ssrc_any_outbound);
  OPENSSL_cleanse(m.data(), m.size());
  OPENSSL_cleanse(remote.data(), remote.size());
  OPENSSL_cleanse(local.data(), local.size());
  if (!impl_->srtp_in || !impl_->srtp_out) return fail("libsrtp2 refused the exported keys");
  state_ = State::connected;
}

void DtlsSrtp::flush() {
  const auto pending = BIO_ctrl_pending(impl_->wbio);
  if (pending == 0) return;
  std::vector<std::byte> bytes(pending);
  const int n = BIO_read(impl_->wbio, bytes.data(), static_cast<int>(bytes.size()));
  if (n <= 0) return;
  bytes.resize(static_cast<std::size_t>(n));
  for (auto& d : pack_records(bytes)) outgoing_.push_back(std::move(d));
}

std::vector<std::vector<std::byte>> DtlsSrtp::take_outgoing() { return std::exchange(outgoing_, {}); }

bool DtlsSrtp::unprotect_rtp(std::vector<std::byte>& packet) {
  if (!impl_->srtp_in) return false;
  int len = static_cast<int>(packet.size());
  if (srtp_unprotect(impl_->srtp_in.get(), packet.data(), &len) != srtp_err_status_ok) return false;
  packet.resize(static_cast<std::size_t>(len));
  return true;
}

bool DtlsSrtp::unprotect_rtcp(std::vector<std::byte>& packet) {
  if (!impl_->srtp_in) return false;
  int len = static_cast<int>(packet.size());
  if (srtp_unprotect_rtcp(impl_->srtp_in.get(), packet.data(), &len) != srtp_err_status_ok) return false;
  packet.resize(static_cast<std::size_t>(len));
  return true;
}

bool DtlsSrtp::protect_rtp(std::vector<std::byte>& packet) {
  if (!impl_->srtp_out) return false;
  int len = static_cast<int>(packet.size());
  packet.resize(packet.size() + SRTP_MAX_TRAILER_LEN);
  if (srtp_protect(impl_->srtp_out.get(), packet.data(), &len) != srtp_err_status_ok) return false;
  packet.resize(static_cast<std::size_t>(len));
  return true;
}

bool DtlsSrtp::protect_rtcp(std::vector<std::byte>& packet) {
  if (!impl_->srtp_out) return false;
  int len = static_cast<int>(packet.size());
  packet.resize(packet.size() + SRTP_MAX_TRAILER_LEN + 4);
  if (srtp_protect_rtcp(impl_->srtp_out.get(), packet.data(), &len) != srtp_err_status_ok) return false;
  packet.resize(static_cast<std::size_t>(len));
  return true;
}

}  // namespace pttcam::webrtc
