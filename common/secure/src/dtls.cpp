#include "pttcam/secure/dtls.hpp"

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

namespace pttcam::secure {
namespace {

constexpr int kMtu = 1200;  // DTLS fragments and our datagrams stay under a typical path MTU

// ECDHE-PSK: the pairing key authenticates, a fresh X25519 exchange per session keys it, so a key
// that leaks later does not decrypt a recording of an earlier session. An AEAD suite.
constexpr const char* kPskCiphers = "ECDHE-PSK-CHACHA20-POLY1305";

struct SrtpProfile {
  const char* name;  // for SSL_CTX_set_tlsext_use_srtp
  unsigned long id;
  std::size_t key, salt;
  void (*policy)(srtp_crypto_policy_t*);
};
// RFC 7714 (AEAD_AES_128_GCM: 16-byte key, 12-byte salt) for pttcam's own sessions.
constexpr SrtpProfile kGcm{"SRTP_AEAD_AES_128_GCM", SRTP_AEAD_AES_128_GCM, 16, 12, srtp_crypto_policy_set_aes_gcm_128_16_auth};
// RFC 5764 4.1.2, what every browser offers.
constexpr SrtpProfile kCm{"SRTP_AES128_CM_SHA1_80", SRTP_AES128_CM_SHA1_80, 16, 14, srtp_crypto_policy_set_rtp_default};

std::string openssl_error(const char* what) {
  const unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
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
using CtxPtr = std::shared_ptr<SSL_CTX>;

CtxPtr share(SSL_CTX* ctx) {
  if (!ctx) throw std::runtime_error(openssl_error("cannot make a DTLS context"));
  return CtxPtr(ctx, SslCtxFree{});
}

// Retransmission: 100 ms first, doubling to 2 s, rather than OpenSSL's 1 s first (RFC 6347 allows
// it; a live view should not wait a second because one datagram of the first flight was lost).
unsigned int retransmit_us(SSL*, unsigned int previous_us) {
  return previous_us == 0 ? 100'000 : std::min(previous_us * 2, 2'000'000u);
}

// A WebRTC peer's certificate is self-signed by design: it is checked against the SDP's
// fingerprint once the handshake is done, not against a chain.
int accept_any(int, X509_STORE_CTX*) { return 1; }

void init_srtp() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (srtp_init() != srtp_err_status_ok) throw std::runtime_error("libsrtp2 failed to initialise");
  });
}

// DTLS records (RFC 6347 4.1: 13-byte header, length in bytes 11..12) packed into datagrams of
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

std::string fingerprint_of(X509* x) {
  const int n = i2d_X509(x, nullptr);
  if (n <= 0) return {};
  std::vector<unsigned char> der(static_cast<std::size_t>(n));
  unsigned char* p = der.data();
  i2d_X509(x, &p);
  return sha256_fingerprint(der);
}

// What OpenSSL's callbacks need to know about one connection, found through SSL_get_app_data.
struct Callbacks {
  PskClientLookup client_lookup;                // client
  std::shared_ptr<const PskServerLookup> lookup;  // server
  std::shared_ptr<const ProcessMac> cookie_mac;   // server
  std::vector<std::byte> source;                // server: the datagram's source, which the cookie binds
  std::int64_t slot = 0;                        // server: the time slot the cookie binds
  std::string peer_identity;
};

Callbacks* callbacks_of(SSL* ssl) { return static_cast<Callbacks*>(SSL_get_app_data(ssl)); }

unsigned int psk_client_cb(SSL* ssl, const char* hint, char* identity, unsigned int max_identity, unsigned char* psk,
                           unsigned int max_psk) {
  auto* cb = callbacks_of(ssl);
  if (!cb || !hint || !cb->client_lookup) return 0;
  cb->peer_identity = hint;
  const auto found = cb->client_lookup(hint);
  if (!found || found->identity.size() + 1 > max_identity || found->key.size() > max_psk) return 0;
  std::memcpy(identity, found->identity.c_str(), found->identity.size() + 1);
  std::memcpy(psk, found->key.data(), found->key.size());
  return static_cast<unsigned int>(found->key.size());
}

unsigned int psk_server_cb(SSL* ssl, const char* identity, unsigned char* psk, unsigned int max_psk) {
  auto* cb = callbacks_of(ssl);
  if (!cb || !identity || !cb->lookup) return 0;
  cb->peer_identity = identity;
  const auto key = (*cb->lookup)(identity);
  if (!key || key->size() > max_psk) return 0;  // 0: unknown identity, the handshake fails
  std::memcpy(psk, key->data(), key->size());
  return static_cast<unsigned int>(key->size());
}

// What a cookie binds: the source (address and port, as the caller gave them) and a time slot.
std::vector<std::byte> cookie_message(const Callbacks& cb, std::int64_t slot) {
  std::vector<std::byte> m = cb.source;
  for (int i = 0; i < 8; ++i) m.push_back(static_cast<std::byte>(static_cast<std::uint64_t>(slot) >> (8 * i)));
  return m;
}

int cookie_generate_cb(SSL* ssl, unsigned char* cookie, unsigned int* len) {
  auto* cb = callbacks_of(ssl);
  if (!cb || !cb->cookie_mac) return 0;
  const auto tag = cb->cookie_mac->tag(cookie_message(*cb, cb->slot));
  std::memcpy(cookie, tag.data(), tag.size());
  *len = static_cast<unsigned int>(tag.size());
  return 1;
}

// A cookie is good in the slot it was made in and the next (10 to 20 s).
int cookie_verify_cb(SSL* ssl, const unsigned char* cookie, unsigned int len) {
  auto* cb = callbacks_of(ssl);
  if (!cb || !cb->cookie_mac || len != ProcessMac::kTagSize) return 0;
  const auto given = std::span(reinterpret_cast<const std::byte*>(cookie), len);
  for (const std::int64_t slot : {cb->slot, cb->slot - 1})
    if (cb->cookie_mac->verify(cookie_message(*cb, slot), given)) return 1;
  return 0;
}

void configure(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
}

void configure_psk(SSL_CTX* ctx) {
  configure(ctx);
  if (SSL_CTX_set_cipher_list(ctx, kPskCiphers) != 1) throw std::runtime_error(openssl_error("cannot choose the DTLS-PSK suite"));
  // 0 is success here (OpenSSL's convention for this one call).
  if (SSL_CTX_set_tlsext_use_srtp(ctx, kGcm.name) != 0) throw std::runtime_error(openssl_error("cannot offer SRTP AEAD_AES_128_GCM"));
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
  CtxPtr ctx;
  std::unique_ptr<Callbacks> callbacks;  // before ssl: the callbacks may run until ssl is freed
  std::unique_ptr<SSL, SslFree> ssl;
  BIO* rbio = nullptr;  // owned by ssl
  BIO* wbio = nullptr;
  const SrtpProfile* profile = &kGcm;
  bool server = true;
  std::shared_ptr<const Certificate> certificate;  // WebRTC
  std::string peer_fingerprint;                    // WebRTC: what the SDP promised
  std::unique_ptr<srtp_ctx_t, SrtpFree> srtp_in;
  std::unique_ptr<srtp_ctx_t, SrtpFree> srtp_out;

  // A connection on `ctx` with memory BIOs and our MTU and retransmission timer.
  void attach(CtxPtr c, std::unique_ptr<Callbacks> cb) {
    ctx = std::move(c);
    callbacks = std::move(cb);
    ssl.reset(SSL_new(ctx.get()));
    if (!ssl) throw std::runtime_error(openssl_error("cannot make a DTLS connection"));
    rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio, -1);
    BIO_set_mem_eof_return(wbio, -1);
    SSL_set_bio(ssl.get(), rbio, wbio);
    SSL_set_app_data(ssl.get(), callbacks.get());
    SSL_set_options(ssl.get(), SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(ssl.get(), kMtu - 28);
    DTLS_set_link_mtu(ssl.get(), kMtu);
    DTLS_set_timer_cb(ssl.get(), retransmit_us);
  }
};

DtlsSrtp::DtlsSrtp() : impl_(std::make_unique<Impl>()) { init_srtp(); }
DtlsSrtp::~DtlsSrtp() = default;

std::unique_ptr<DtlsSrtp> DtlsSrtp::webrtc_server(std::shared_ptr<const Certificate> certificate, std::string peer_fingerprint) {
  std::unique_ptr<DtlsSrtp> d(new DtlsSrtp());
  auto& im = *d->impl_;
  auto ctx = share(SSL_CTX_new(DTLS_server_method()));
  configure(ctx.get());
  if (SSL_CTX_use_certificate(ctx.get(), static_cast<X509*>(certificate->x509())) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), static_cast<EVP_PKEY*>(certificate->key())) != 1)
    throw std::runtime_error(openssl_error("cannot use the DTLS certificate"));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
  if (SSL_CTX_set_tlsext_use_srtp(ctx.get(), kCm.name) != 0)
    throw std::runtime_error(openssl_error("cannot offer the DTLS use_srtp extension"));
  im.profile = &kCm;
  im.certificate = std::move(certificate);
  im.peer_fingerprint = std::move(peer_fingerprint);
  im.attach(std::move(ctx), std::make_unique<Callbacks>());
  SSL_set_accept_state(im.ssl.get());
  return d;
}

std::unique_ptr<DtlsSrtp> DtlsSrtp::psk_client(PskClientLookup lookup) {
  std::unique_ptr<DtlsSrtp> d(new DtlsSrtp());
  auto& im = *d->impl_;
  auto ctx = share(SSL_CTX_new(DTLS_client_method()));
  configure_psk(ctx.get());
  SSL_CTX_set_psk_client_callback(ctx.get(), psk_client_cb);
  auto cb = std::make_unique<Callbacks>();
  cb->client_lookup = std::move(lookup);
  im.server = false;
  im.attach(std::move(ctx), std::move(cb));
  SSL_set_connect_state(im.ssl.get());
  d->advance();  // the ClientHello
  d->flush();
  return d;
}

void DtlsSrtp::fail(std::string why) {
  state_ = State::failed;
  if (impl_->callbacks) peer_identity_ = impl_->callbacks->peer_identity;  // whom it failed with
  failure_ = std::move(why);
  ERR_clear_error();
}

void DtlsSrtp::on_datagram(std::span<const std::byte> datagram) {
  if (state_ == State::failed || state_ == State::closed) return;
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
  if (state_ == State::handshaking) {
    const int r = SSL_do_handshake(ssl);
    if (r != 1) {
      const int e = SSL_get_error(ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) fail(openssl_error("DTLS handshake failed"));
      ERR_clear_error();
      return;
    }
    if (impl_->certificate) {
      X509* peer = SSL_get1_peer_certificate(ssl);
      const std::string got = peer ? fingerprint_of(peer) : std::string();
      X509_free(peer);
      if (got.empty() || got != impl_->peer_fingerprint)
        return fail("the peer's DTLS certificate does not match its SDP fingerprint");
    }
    const SRTP_PROTECTION_PROFILE* profile = SSL_get_selected_srtp_profile(ssl);
    if (!profile || profile->id != impl_->profile->id) return fail("the peer chose no SRTP profile pttcam offers");
    peer_identity_ = impl_->callbacks->peer_identity;
    make_srtp();
    if (state_ != State::connected) return;
  }
  // Application data, alerts and retransmitted flights: read them all so OpenSSL answers; a
  // close_notify ends the connection.
  std::array<std::byte, 2048> buf{};
  for (;;) {
    const int r = SSL_read(ssl, buf.data(), static_cast<int>(buf.size()));
    if (r > 0) {
      received_.emplace_back(buf.begin(), buf.begin() + r);
      continue;
    }
    if (SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN) state_ = State::closed;
    break;
  }
  ERR_clear_error();
}

void DtlsSrtp::make_srtp() {
  const auto& p = *impl_->profile;
  std::array<unsigned char, 2 * (16 + 14)> m{};
  const std::size_t material = 2 * (p.key + p.salt);
  static const char kLabel[] = "EXTRACTOR-dtls_srtp";
  if (SSL_export_keying_material(impl_->ssl.get(), m.data(), material, kLabel, sizeof kLabel - 1, nullptr, 0, 0) != 1)
    return fail(openssl_error("cannot export the SRTP keys"));
  // RFC 5764 4.2: client key, server key, client salt, server salt.
  std::array<unsigned char, 16 + 14> client{}, server{};
  std::memcpy(client.data(), m.data(), p.key);
  std::memcpy(client.data() + p.key, m.data() + 2 * p.key, p.salt);
  std::memcpy(server.data(), m.data() + p.key, p.key);
  std::memcpy(server.data() + p.key, m.data() + 2 * p.key + p.salt, p.salt);
  auto& remote = impl_->server ? client : server;
  auto& local = impl_->server ? server : client;
  const auto create = [&](std::array<unsigned char, 16 + 14>& key, srtp_ssrc_type_t type) {
    srtp_policy_t policy{};
    p.policy(&policy.rtp);
    if (&p == &kGcm)
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    else
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
  OPENSSL_cleanse(client.data(), client.size());
  OPENSSL_cleanse(server.data(), server.size());
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
std::vector<std::vector<std::byte>> DtlsSrtp::take_received() { return std::exchange(received_, {}); }

bool DtlsSrtp::send(std::span<const std::byte> message) {
  if (state_ != State::connected || message.empty()) return false;
  const int r = SSL_write(impl_->ssl.get(), message.data(), static_cast<int>(message.size()));
  ERR_clear_error();
  flush();
  return r == static_cast<int>(message.size());
}

void DtlsSrtp::close() {
  if (state_ == State::connected || state_ == State::handshaking) {
    SSL_shutdown(impl_->ssl.get());
    ERR_clear_error();
    flush();
  }
  if (state_ != State::failed) state_ = State::closed;
  impl_->srtp_in.reset();
  impl_->srtp_out.reset();
}

namespace {
bool run_srtp(srtp_ctx_t* ctx, std::vector<std::byte>& packet, std::size_t room,
              srtp_err_status_t (*fn)(srtp_ctx_t*, void*, int*)) {
  if (!ctx) return false;
  int len = static_cast<int>(packet.size());
  packet.resize(packet.size() + room);
  if (fn(ctx, packet.data(), &len) != srtp_err_status_ok) {
    packet.resize(packet.size() - room);
    return false;
  }
  packet.resize(static_cast<std::size_t>(len));
  return true;
}
}  // namespace

bool DtlsSrtp::unprotect_rtp(std::vector<std::byte>& packet) { return run_srtp(impl_->srtp_in.get(), packet, 0, srtp_unprotect); }
bool DtlsSrtp::unprotect_rtcp(std::vector<std::byte>& packet) { return run_srtp(impl_->srtp_in.get(), packet, 0, srtp_unprotect_rtcp); }
bool DtlsSrtp::protect_rtp(std::vector<std::byte>& packet) {
  return run_srtp(impl_->srtp_out.get(), packet, SRTP_MAX_TRAILER_LEN, srtp_protect);
}
bool DtlsSrtp::protect_rtcp(std::vector<std::byte>& packet) {
  return run_srtp(impl_->srtp_out.get(), packet, SRTP_MAX_TRAILER_LEN + 4, srtp_protect_rtcp);
}

struct DtlsListener::Impl {
  CtxPtr ctx;
  std::shared_ptr<const PskServerLookup> lookup;
  std::shared_ptr<const ProcessMac> mac = std::make_shared<ProcessMac>();
  std::unique_ptr<DtlsSrtp> next;  // the connection DTLSv1_listen works on until a cookie checks out
};

DtlsListener::DtlsListener(std::string camera_id, PskServerLookup lookup) : impl_(std::make_unique<Impl>()) {
  init_srtp();
  impl_->ctx = share(SSL_CTX_new(DTLS_server_method()));
  auto* ctx = impl_->ctx.get();
  configure_psk(ctx);
  if (SSL_CTX_use_psk_identity_hint(ctx, camera_id.c_str()) != 1)
    throw std::runtime_error(openssl_error("cannot set the PSK identity hint"));
  SSL_CTX_set_psk_server_callback(ctx, psk_server_cb);
  SSL_CTX_set_cookie_generate_cb(ctx, cookie_generate_cb);
  SSL_CTX_set_cookie_verify_cb(ctx, cookie_verify_cb);
  impl_->lookup = std::make_shared<const PskServerLookup>(std::move(lookup));
  renew();
}

DtlsListener::~DtlsListener() = default;

void DtlsListener::renew() {
  std::unique_ptr<DtlsSrtp> d(new DtlsSrtp());
  auto cb = std::make_unique<Callbacks>();
  cb->lookup = impl_->lookup;
  cb->cookie_mac = impl_->mac;
  d->impl_->attach(impl_->ctx, std::move(cb));
  SSL_set_options(d->impl_->ssl.get(), SSL_OP_COOKIE_EXCHANGE);
  SSL_set_accept_state(d->impl_->ssl.get());
  impl_->next = std::move(d);
}

DtlsListener::Result DtlsListener::on_datagram(std::span<const std::byte> datagram, std::span<const std::byte> source,
                                               std::int64_t slot) {
  Result result;
  auto& im = *impl_->next->impl_;
  im.callbacks->source.assign(source.begin(), source.end());
  im.callbacks->slot = slot;
  BIO_write(im.rbio, datagram.data(), static_cast<int>(datagram.size()));
  BIO_ADDR* peer = BIO_ADDR_new();
  const int r = DTLSv1_listen(im.ssl.get(), peer);
  BIO_ADDR_free(peer);
  ERR_clear_error();
  if (r > 0) {
    // The ClientHello echoed a good cookie: this connection now belongs to that source.
    result.accepted = std::move(impl_->next);
    result.accepted->advance();
    result.accepted->flush();
    renew();
    return result;
  }
  impl_->next->flush();
  result.reply = impl_->next->take_outgoing();
  // Whatever was not a ClientHello (or was one with a bad cookie) leaves nothing behind.
  (void)BIO_reset(im.rbio);
  if (r < 0) renew();
  return result;
}

}  // namespace pttcam::secure
