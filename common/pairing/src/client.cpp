#include "pttcam/pairing/client.hpp"

#include <array>
#include <memory>
#include <variant>

#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "pttcam/pairing/srp_tls.hpp"
#include "pttcam/pairing/wire.hpp"

namespace pttcam::pairing {

namespace {

using boost::asio::ip::tcp;
using Kind = PairOutcome::Kind;

class Attempt : public std::enable_shared_from_this<Attempt> {
 public:
  Attempt(boost::asio::io_context& io, std::string code, std::string client_id, std::function<void(PairOutcome)> done)
      : socket_(io), timer_(io), code_(std::move(code)), client_id_(std::move(client_id)), done_(std::move(done)) {}

  void start(const tcp::endpoint& camera, std::chrono::milliseconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->finish(Kind::failed, "no answer from the camera's pairing port in time");
    });
    socket_.async_connect(camera, [self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return self->finish(Kind::failed, "cannot connect to the camera's pairing port: " + ec.message());
      self->send_hello();
    });
  }

 private:
  void send_hello() {
    const auto hello = writer_.write(Hello{});
    boost::asio::async_write(socket_, boost::asio::buffer(hello.data(), hello.size()),
                             [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                               if (ec) return self->finish(Kind::failed, "the camera closed the connection");
                               self->read_status();
                             });
  }

  // The camera's answer in clear: ready, locked or busy. It sends nothing else before our TLS
  // ClientHello, so reading into the buffer cannot swallow TLS bytes.
  void read_status() {
    socket_.async_read_some(boost::asio::buffer(in_.data() + in_size_, in_.size() - in_size_),
                            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                              if (ec) return self->finish(Kind::failed, "the camera closed the connection");
                              self->in_size_ += n;
                              self->on_status();
                            });
  }

  void on_status() {
    const auto d = decode(std::span<const std::byte>(in_.data(), in_size_));
    if (d.status == Decoded::Status::incomplete && in_size_ < in_.size()) return read_status();
    if (d.status != Decoded::Status::complete)
      return finish(Kind::failed, "not a pttcam camera's pairing port (" + std::string(to_string(d.error)) + ")");
    if (const auto* l = std::get_if<Locked>(&d.message)) {
      locked_s_ = l->seconds;
      return finish(Kind::locked, "");
    }
    if (std::holds_alternative<Busy>(d.message)) return finish(Kind::busy, "");
    if (!std::holds_alternative<Ready>(d.message)) return finish(Kind::failed, "unexpected answer from the camera");
    tls_ = SrpTls::client(socket_, code_);
    tls_->handshake([self = shared_from_this()](int rc) {
      if (rc < 0) {
        const bool wrong = SrpTls::looks_like_wrong_code(rc);
        return self->finish(wrong ? Kind::wrong_code : Kind::failed, "pairing handshake failed: " + SrpTls::error_text(rc));
      }
      self->send_request();
    });
  }

  void send_request() {
    tls_->send(writer_.write(Request{client_id_}), [self = shared_from_this()](int rc) {
      if (rc < 0) return self->finish(Kind::failed, "cannot send to the camera: " + SrpTls::error_text(rc));
      self->tls_->receive([self](int r, std::span<const std::byte> record) { self->on_accept(r, record); });
    });
  }

  void on_accept(int rc, std::span<const std::byte> record) {
    if (rc < 0) return finish(Kind::failed, "the camera did not confirm the pairing: " + SrpTls::error_text(rc));
    const auto d = decode(record);
    const auto* accept = d.status == Decoded::Status::complete && d.size == record.size()
                             ? std::get_if<Accept>(&d.message)
                             : nullptr;
    if (!accept) return finish(Kind::failed, "the camera's confirmation is malformed");
    try {
      key_ = tls_->export_key();
    } catch (const std::exception& e) {
      return finish(Kind::failed, e.what());
    }
    camera_id_ = accept->camera_id;
    finish(Kind::paired, "");
  }

  void finish(Kind kind, std::string error) {
    if (!done_) return;
    PairOutcome out;
    out.kind = kind;
    out.error = std::move(error);
    out.locked_s = locked_s_;
    if (kind == Kind::paired) {
      out.camera_id = camera_id_;
      out.key = key_;
    }
    auto done = std::move(done_);
    done_ = nullptr;
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    done(std::move(out));
  }

  tcp::socket socket_;
  boost::asio::steady_timer timer_;
  std::string code_;
  std::string client_id_;
  std::function<void(PairOutcome)> done_;
  MessageWriter writer_;
  std::array<std::byte, kMaxMessageSize> in_{};
  std::size_t in_size_ = 0;
  std::unique_ptr<SrpTls> tls_;
  std::uint32_t locked_s_ = 0;
  std::string camera_id_;
  secure::PairingKey key_{};
};

}  // namespace

void pair(boost::asio::io_context& io, const tcp::endpoint& camera, const std::string& code, const std::string& client_id,
          std::chrono::milliseconds timeout, std::function<void(PairOutcome)> done) {
  std::make_shared<Attempt>(io, code, client_id, std::move(done))->start(camera, timeout);
}

}  // namespace pttcam::pairing
