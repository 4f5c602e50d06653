#pragma once
// The timer an io thread sleeps on until its next piece of work is due (see Client::schedule_tick),
// which anything that may bring work sooner (a datagram, a key press) cuts short.
#include <algorithm>
#include <chrono>
#include <cstdint>

#include "pttcam/net/asio.hpp"

namespace pttcam::net {

class WakeTimer {
 public:
  explicit WakeTimer(boost::asio::io_context& io) : timer_(io) {}

  // Calls `on_wake` at `due_us` (steady clock, us; at once if that has passed), or when wake()
  // cuts the wait short, or when cancel() ends it: `on_wake` checks whether its owner still runs.
  template <typename F>
  void wait_until(std::int64_t due_us, std::int64_t now_us, F on_wake) {
    due_us_ = std::max(due_us, now_us);
    timer_.expires_after(std::chrono::microseconds(due_us_ - now_us));
    timer_.async_wait([on_wake = std::move(on_wake)](const boost::system::error_code& ec) {
      if (!ec || ec == boost::asio::error::operation_aborted) on_wake();
    });
  }
  // Ends the wait in progress now, unless it is due by now anyway.
  void wake(std::int64_t now_us) {
    if (due_us_ <= now_us) return;
    due_us_ = 0;
    timer_.expires_after(std::chrono::microseconds(0));
  }
  void cancel() { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
  std::int64_t due_us_ = 0;  // when the wait in progress ends
};

}  // namespace pttcam::net
