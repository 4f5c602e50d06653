#include "pttcam/pairing/srp_tls.hpp"

#include <gnutls/gnutls.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "pttcam/secure/random.hpp"

namespace pttcam::pairing {

namespace {

// TLS 1.2 only, SRP key exchange only (no certificates): nothing else to negotiate down to.
constexpr const char* kPriorities = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+SRP";
constexpr std::size_t kMaxRecord = 512;

void check(int rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string(what) + ": " + gnutls_strerror(rc));
}

struct SessionDeleter {
  void operator()(gnutls_session_t s) const noexcept { gnutls_deinit(s); }
};
struct ClientCredDeleter {
  void operator()(gnutls_srp_client_credentials_t c) const noexcept { gnutls_srp_free_client_credentials(c); }
};
struct ServerCredDeleter {
  void operator()(gnutls_srp_server_credentials_t c) const noexcept { gnutls_srp_free_server_credentials(c); }
};

// A copy GnuTLS owns (it frees what an SRP credentials function hands it).
int copy_datum(gnutls_datum_t* out, const unsigned char* data, std::size_t size) {
  out->data = static_cast<unsigned char*>(gnutls_malloc(size));
  if (!out->data) return GNUTLS_E_MEMORY_ERROR;
  std::memcpy(out->data, data, size);
  out->size = static_cast<unsigned>(size);
  return 0;
}

}  // namespace

struct SrpTls::Impl {
  std::unique_ptr<gnutls_session_int, SessionDeleter> session;
  std::unique_ptr<gnutls_srp_client_credentials_st, ClientCredDeleter> client_cred;
  std::unique_ptr<gnutls_srp_server_credentials_st, ServerCredDeleter> server_cred;
  const SrpVerifier* verifier = nullptr;
  SrpTls* owner = nullptr;
  int fd = -1;

  static ssize_t pull(gnutls_transport_ptr_t p, void* data, std::size_t size) {
    auto* self = static_cast<Impl*>(p);
    const auto n = ::recv(self->fd, data, size, 0);
    if (n > 0) self->owner->received_bytes_ += static_cast<std::size_t>(n);
    return n;
  }
  static ssize_t push(gnutls_transport_ptr_t p, const void* data, std::size_t size) {
    return ::send(static_cast<Impl*>(p)->fd, data, size, MSG_NOSIGNAL);  // a closed peer is an error, not SIGPIPE
  }
  // The camera's verifier whatever the user name says: a stranger's name gets the same group
  // and fails at the end like a wrong code, learning nothing from the difference.
  static int credentials(gnutls_session_t session, const char*, gnutls_datum_t* salt, gnutls_datum_t* verifier,
                         gnutls_datum_t* generator, gnutls_datum_t* prime) {
    const auto* self = static_cast<Impl*>(gnutls_session_get_ptr(session));
    const auto& v = *self->verifier;
    if (copy_datum(salt, v.salt().data(), v.salt().size()) < 0 ||
        copy_datum(verifier, v.verifier().data(), v.verifier().size()) < 0 ||
        copy_datum(generator, gnutls_srp_3072_group_generator.data, gnutls_srp_3072_group_generator.size) < 0 ||
        copy_datum(prime, gnutls_srp_3072_group_prime.data, gnutls_srp_3072_group_prime.size) < 0)
      return -1;
    return 0;
  }
};

SrpVerifier::SrpVerifier(std::string_view code) {
  std::array<std::byte, 16> salt{};
  secure::random_bytes(salt);
  salt_.resize(salt.size());
  std::memcpy(salt_.data(), salt.data(), salt.size());
  const std::string password(code);
  gnutls_datum_t s{salt_.data(), static_cast<unsigned>(salt_.size())};
  gnutls_datum_t out{nullptr, 0};
  check(gnutls_srp_verifier(kSrpUser, password.c_str(), &s, &gnutls_srp_3072_group_generator,
                            &gnutls_srp_3072_group_prime, &out),
        "SRP verifier");
  verifier_.assign(out.data, out.data + out.size);
  gnutls_free(out.data);
}

SrpTls::SrpTls(boost::asio::ip::tcp::socket& socket, bool server) : socket_(socket), impl_(std::make_unique<Impl>()) {
  gnutls_session_t s = nullptr;
  check(gnutls_init(&s, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK), "TLS session");
  impl_->session.reset(s);
  impl_->owner = this;
  impl_->fd = socket.native_handle();
  socket.non_blocking(true);
  const char* bad = nullptr;
  check(gnutls_priority_set_direct(s, kPriorities, &bad), "TLS priorities");
  gnutls_transport_set_ptr(s, impl_.get());
  gnutls_transport_set_pull_function(s, &Impl::pull);
  gnutls_transport_set_push_function(s, &Impl::push);
  gnutls_handshake_set_timeout(s, 0);  // the owner's timer bounds the attempt
  gnutls_session_set_ptr(s, impl_.get());
  record_.resize(kMaxRecord);
}

SrpTls::~SrpTls() = default;

std::unique_ptr<SrpTls> SrpTls::client(boost::asio::ip::tcp::socket& socket, const std::string& code) {
  std::unique_ptr<SrpTls> t(new SrpTls(socket, false));
  gnutls_srp_client_credentials_t c = nullptr;
  check(gnutls_srp_allocate_client_credentials(&c), "SRP credentials");
  t->impl_->client_cred.reset(c);
  check(gnutls_srp_set_client_credentials(c, kSrpUser, code.c_str()), "SRP credentials");
  check(gnutls_credentials_set(t->impl_->session.get(), GNUTLS_CRD_SRP, c), "SRP credentials");
  gnutls_srp_set_prime_bits(t->impl_->session.get(), 3072);  // no weaker group from a fake camera
  return t;
}

std::unique_ptr<SrpTls> SrpTls::server(boost::asio::ip::tcp::socket& socket, const SrpVerifier& verifier) {
  std::unique_ptr<SrpTls> t(new SrpTls(socket, true));
  gnutls_srp_server_credentials_t c = nullptr;
  check(gnutls_srp_allocate_server_credentials(&c), "SRP credentials");
  t->impl_->server_cred.reset(c);
  t->impl_->verifier = &verifier;
  gnutls_srp_set_server_credentials_function(c, &Impl::credentials);
  check(gnutls_credentials_set(t->impl_->session.get(), GNUTLS_CRD_SRP, c), "SRP credentials");
  return t;
}

void SrpTls::drive(std::function<int()> op, Done done) {
  const int rc = op();
  if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED) return done(rc < 0 ? rc : 0);
  const auto wait = gnutls_record_get_direction(impl_->session.get()) == 1 ? boost::asio::ip::tcp::socket::wait_write
                                                                           : boost::asio::ip::tcp::socket::wait_read;
  socket_.async_wait(wait, [this, op = std::move(op), done = std::move(done)](const boost::system::error_code& ec) mutable {
    if (ec) return done(GNUTLS_E_PULL_ERROR);
    drive(std::move(op), std::move(done));
  });
}

void SrpTls::handshake(Done done) {
  // A failed handshake tells the peer why (bad_record_mac for a wrong code) before the owner
  // closes; best effort: the alert is dropped if the socket would block.
  drive([s = impl_->session.get()] { return gnutls_handshake(s); },
        [s = impl_->session.get(), done = std::move(done)](int rc) {
          if (rc < 0) gnutls_alert_send_appropriate(s, rc);
          done(rc);
        });
}

void SrpTls::send(std::span<const std::byte> data, Done done) {
  // GnuTLS wants the same arguments again after GNUTLS_E_AGAIN: the data stays in record_.
  std::memcpy(record_.data(), data.data(), std::min(data.size(), record_.size()));
  const std::size_t size = std::min(data.size(), record_.size());
  drive([s = impl_->session.get(), p = record_.data(), size] { return static_cast<int>(gnutls_record_send(s, p, size)); },
        std::move(done));
}

void SrpTls::receive(Received done) {
  auto got = std::make_shared<int>(0);
  drive(
      [this, got] {
        const auto n = gnutls_record_recv(impl_->session.get(), record_.data(), record_.size());
        if (n >= 0) *got = static_cast<int>(n);
        return n > 0 ? 0 : n == 0 ? GNUTLS_E_PREMATURE_TERMINATION : static_cast<int>(n);
      },
      [this, got, done = std::move(done)](int rc) {
        done(rc, rc < 0 ? std::span<const std::byte>{} : std::span<const std::byte>(record_.data(), *got));
      });
}

secure::PairingKey SrpTls::export_key() const {
  secure::PairingKey key{};
  check(gnutls_prf_rfc5705(impl_->session.get(), kExporterLabel.size(), kExporterLabel.data(), 0, nullptr, key.size(),
                           reinterpret_cast<char*>(key.data())),
        "TLS exporter");
  return key;
}

std::string SrpTls::error_text(int code) { return gnutls_strerror(code); }

bool SrpTls::looks_like_wrong_code(int code) noexcept {
  return code == GNUTLS_E_FATAL_ALERT_RECEIVED || code == GNUTLS_E_DECRYPTION_FAILED ||
         code == GNUTLS_E_MAC_VERIFY_FAILED || code == GNUTLS_E_SRP_PWD_ERROR || code == GNUTLS_E_PREMATURE_TERMINATION;
}

}  // namespace pttcam::pairing
