#include "pttcam/camera/pairing_server.hpp"

#include <array>
#include <cmath>
#include <variant>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "pttcam/pairing/wire.hpp"

namespace pttcam::camera {

using boost::asio::ip::tcp;

// One attempt. Holds itself alive through its pending handlers; `server_` is used only while
// `*alive_` says the server still exists.
class PairingServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(PairingServer& server, tcp::socket socket, std::string from)
      : server_(server), alive_(server.alive_), socket_(std::move(socket)), timer_(socket_.get_executor()),
        from_(std::move(from)) {}

  void start() {
    timer_.expires_after(std::chrono::microseconds(static_cast<std::int64_t>(server_.options_.attempt_timeout_s * 1e6)));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || !*self->alive_ || self->closed_) return;
      ++self->server_.counters_.timeouts;
      self->end("timed out");
    });
    read_hello();
  }

 private:
  void read_hello() {
    socket_.async_read_some(boost::asio::buffer(in_.data() + in_size_, in_.size() - in_size_),
                            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                              if (!*self->alive_ || self->closed_) return;
                              if (ec) return self->end("closed before its hello");
                              self->in_size_ += n;
                              self->on_hello();
                            });
  }

  void on_hello() {
    const auto d = pairing::decode(std::span<const std::byte>(in_.data(), in_size_));
    if (d.status == pairing::Decoded::Status::incomplete && in_size_ < in_.size()) return read_hello();
    if (d.status != pairing::Decoded::Status::complete || !std::holds_alternative<pairing::Hello>(d.message))
      return end("not a pairing hello");
    const auto now = server_.clock_.now_us();
    switch (server_.limiter_.begin(now)) {
      case pairing::AttemptLimiter::Verdict::locked: {
        ++server_.counters_.refused_locked;
        const auto s = static_cast<std::uint32_t>(std::ceil(server_.limiter_.locked_for_us(now) / 1e6));
        return answer_and_close(pairing::Locked{s});
      }
      case pairing::AttemptLimiter::Verdict::busy:
        ++server_.counters_.refused_busy;
        return answer_and_close(pairing::Busy{});
      case pairing::AttemptLimiter::Verdict::go: break;
    }
    attempt_open_ = true;
    const auto ready = writer_.write(pairing::Ready{});
    boost::asio::async_write(socket_, boost::asio::buffer(ready.data(), ready.size()),
                             [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                               if (!*self->alive_ || self->closed_) return;
                               if (ec) return self->end("closed before the handshake");
                               self->handshake();
                             });
  }

  void answer_and_close(const pairing::Message& m) {
    const auto out = writer_.write(m);
    boost::asio::async_write(socket_, boost::asio::buffer(out.data(), out.size()),
                             [self = shared_from_this()](const boost::system::error_code&, std::size_t) {
                               if (*self->alive_ && !self->closed_) self->end("");
                             });
  }

  void handshake() {
    tls_ = pairing::SrpTls::server(socket_, server_.verifier_);
    tls_->handshake([self = shared_from_this()](int rc) {
      if (!*self->alive_ || self->closed_) return;
      if (rc < 0) return self->end("handshake failed: " + pairing::SrpTls::error_text(rc));
      self->tls_->receive([self](int r, std::span<const std::byte> record) { self->on_request(r, record); });
    });
  }

  void on_request(int rc, std::span<const std::byte> record) {
    if (!*alive_ || closed_) return;
    if (rc < 0) return end("no request after the handshake: " + pairing::SrpTls::error_text(rc));
    const auto d = pairing::decode(record);
    const auto* request = d.status == pairing::Decoded::Status::complete && d.size == record.size()
                              ? std::get_if<pairing::Request>(&d.message)
                              : nullptr;
    if (!request) return end("malformed request");
    try {
      server_.keyring_.add_client(request->client_id, tls_->export_key());
    } catch (const std::exception& e) {
      return end(std::string("cannot keep the key: ") + e.what());
    }
    attempt_open_ = false;
    server_.attempt_succeeded(from_, request->client_id);
    tls_->send(writer_.write(pairing::Accept{server_.keyring_.camera_id()}), [self = shared_from_this()](int) {
      if (*self->alive_ && !self->closed_) self->end("");
    });
  }

  // Closes the connection; an attempt still open ends as failed (it had begun the handshake) or
  // abandoned (no byte of TLS came).
  void end(const std::string& why) {
    closed_ = true;
    if (attempt_open_) {
      attempt_open_ = false;
      if (tls_ && tls_->peer_sent_anything()) {
        server_.attempt_failed(from_, why);
      } else {
        ++server_.counters_.abandoned;
        server_.limiter_.abandoned();
      }
    }
    --server_.active_;
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  PairingServer& server_;
  std::shared_ptr<bool> alive_;
  tcp::socket socket_;
  boost::asio::steady_timer timer_;
  std::string from_;
  std::array<std::byte, pairing::kMaxMessageSize> in_{};
  std::size_t in_size_ = 0;
  pairing::MessageWriter writer_;
  std::unique_ptr<pairing::SrpTls> tls_;
  bool attempt_open_ = false;
  bool closed_ = false;
};

PairingServer::PairingServer(boost::asio::io_context& io, PairingOptions options, const timing::Clock& clock,
                             measure::EventLog& events, secure::CameraKeyring& keyring)
    : io_(io), options_(std::move(options)), clock_(clock), events_(events), keyring_(keyring),
      verifier_(options_.code), limiter_(options_.limits), acceptor_(io) {
  boost::system::error_code ec;
  acceptor_.open(options_.listen.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(options_.listen, ec);
  if (!ec) acceptor_.listen(8, ec);
  if (ec)
    throw std::runtime_error("cannot listen for pairing on TCP " + options_.listen.address().to_string() + ":" +
                             std::to_string(options_.listen.port()) + ": " + ec.message());
  accept();
}

PairingServer::~PairingServer() { *alive_ = false; }

void PairingServer::accept() {
  acceptor_.async_accept([this, alive = alive_](const boost::system::error_code& ec, tcp::socket socket) {
    if (!*alive || ec == boost::asio::error::operation_aborted) return;
    if (!ec) {
      boost::system::error_code e2;
      const auto peer = socket.remote_endpoint(e2);
      if (e2 || active_ >= options_.max_connections) {
        ++counters_.connections_refused;
        socket.close(e2);
      } else {
        ++counters_.connections;
        ++active_;
        const auto from = peer.address().to_string() + ":" + std::to_string(peer.port());
        std::make_shared<Connection>(*this, std::move(socket), from)->start();
      }
    }
    accept();
  });
}

void PairingServer::attempt_failed(const std::string& from, const std::string& why) {
  ++counters_.failed;
  const int wrong = limiter_.wrong_codes() + 1;  // counting this one (a lock starts the count afresh)
  const auto lock = limiter_.failed(clock_.now_us());
  events_.write("pairing_failed", {{"from", from}, {"reason", why}, {"wrong_codes", wrong}});
  if (!lock) return;
  ++counters_.lockouts;
  events_.write("pairing_locked", {{"seconds", *lock / 1'000'000}, {"lockouts", counters_.lockouts}});
}

void PairingServer::attempt_succeeded(const std::string& from, const std::string& client_id) {
  ++counters_.succeeded;
  limiter_.succeeded();
  events_.write("pairing_succeeded",
                {{"from", from}, {"client_id", client_id}, {"paired_clients", keyring_.client_count()}});
}

nlohmann::json PairingServer::summary() const {
  const auto& c = counters_;
  return {{"connections", c.connections},     {"connections_refused", c.connections_refused},
          {"succeeded", c.succeeded},         {"failed", c.failed},
          {"lockouts", c.lockouts},           {"refused_locked", c.refused_locked},
          {"refused_busy", c.refused_busy},   {"abandoned", c.abandoned},
          {"timeouts", c.timeouts},           {"paired_clients", keyring_.client_count()}};
}

}  // namespace pttcam::camera
