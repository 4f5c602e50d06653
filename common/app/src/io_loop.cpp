#include "pttcam/app/io_loop.hpp"

#include <algorithm>

namespace pttcam::app {

IoLoop::IoLoop(boost::asio::io_context& io, const timing::Clock& clock) : clock_(clock), timer_(io) {}

void IoLoop::receive_on(net::Udp::socket& socket, DatagramHandler handler) {
  auto s = std::make_unique<Socket>();
  s->socket = &socket;
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

void IoLoop::receive(Socket& s) {
  s.socket->async_receive_from(boost::asio::buffer(s.buffer), s.from,
                               [this, &s](const boost::system::error_code& ec, std::size_t n) {
                                 if (ec == boost::asio::error::operation_aborted || !running_) return;
                                 if (!ec) {
                                   s.handler(std::span<const std::byte>(s.buffer.data(), n), s.from);
                                   wake();  // the datagram may have brought work that is due now
                                 }
                                 receive(s);
                               });
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
