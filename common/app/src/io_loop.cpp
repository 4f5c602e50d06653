#include "pttcam/app/io_loop.hpp"

#include <algorithm>

#include "pttcam/net/datagram.hpp"

namespace pttcam::app {

IoLoop::IoLoop(boost::asio::io_context& io, const timing::Clock& clock) : clock_(clock), timer_(io) {}

void IoLoop::receive_on(net::Udp::socket& socket, DatagramHandler handler) {
  auto s = std::make_unique<Socket>();
  s->socket = &socket;
  net::enable_arrival_stamps(socket);
  s->handler = std::move(handler);
  sockets_.push_back(std::move(s));
}

void IoLoop::set_work(DueFn due, WorkFn work) {
  due_ = std::move(due);
  work_ = std::move(work);
}

void IoLoop::start() {
  running_ = true;
  for (auto& s : sockets_) receive(*s);
  sleep();
}

void IoLoop::stop() {
  running_ = false;
  timer_.cancel();
}

// Waits until the socket is readable, then hands the waiting datagrams to the handler with the
// time the kernel received each. The reactor reports readiness by edge, so a socket is drained
// to would-block before waiting again; a batch that hit its bound continues in a posted handler,
// after the timers (the speaker, the session) had their turn.
void IoLoop::receive(Socket& s) {
  s.socket->async_wait(net::Udp::socket::wait_read, [this, &s](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted || !running_) return;
    if (ec) {
      receive(s);
      return;
    }
    drain(s);
  });
}

void IoLoop::drain(Socket& s) {
  int n = 0;
  for (; n < kBatch && running_; ++n) {
    const auto got = net::receive_stamped(*s.socket, s.buffer, s.from);
    if (got.error) break;  // would block (all read), or the error the next read reports
    arrival_us_ = clock_.now_us() - got.age_us.value_or(0);
    s.handler(std::span<const std::byte>(s.buffer.data(), got.size), s.from);
  }
  if (!running_) return;
  if (n > 0) wake();  // the datagrams may have brought work that is due now
  if (n == kBatch)
    boost::asio::post(s.socket->get_executor(), [this, &s] {
      if (running_) drain(s);
    });
  else
    receive(s);
}

void IoLoop::sleep() {
  if (!running_) return;
  const std::int64_t now = clock_.now_us();
  const std::int64_t due = std::min(due_ ? due_(now) : now + kMaxSleepUs, now + kMaxSleepUs);
  timer_.wait_until(due, now, [this] {
    if (!running_) return;
    if (work_) work_(clock_.now_us());
    sleep();
  });
}

void IoLoop::wake() {
  if (running_) timer_.wake(clock_.now_us());
}

}  // namespace pttcam::app
