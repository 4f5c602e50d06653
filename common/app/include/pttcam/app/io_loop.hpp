#pragma once
// The io thread of a pttcam program, written once for both: it owns the receive loop of every
// socket it is given and sleeps until the earliest moment its work is due (the parts' next_due_us:
// a frame's last capture period, the speaker's queue running low, a session timer), instead of
// polling: a wake-up costs more than the work on a small machine. A datagram or wake() ends the
// sleep at once. One io_context, one thread; every handler runs on it.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "pttcam/net/address.hpp"
#include "pttcam/net/wake_timer.hpp"
#include "pttcam/timing/clock.hpp"

namespace pttcam::app {

class IoLoop {
 public:
  using DatagramHandler = std::function<void(std::span<const std::byte> datagram, const net::Udp::endpoint& from)>;
  using DueFn = std::function<std::int64_t(std::int64_t now_us)>;  // when work is next due; kNever: none
  using WorkFn = std::function<void(std::int64_t now_us)>;

  // The longest sleep with nothing due: a warm microphone's ring (341 ms) is emptied well before
  // it fills.
  static constexpr std::int64_t kMaxSleepUs = 100'000;

  // Datagrams read per readiness of a socket before the loop's other work gets a turn.
  static constexpr int kBatch = 32;

  IoLoop(boost::asio::io_context& io, const timing::Clock& clock);

  // Before start(): datagrams arriving on `socket` go to `handler`, after which the work runs.
  // The socket must outlive the loop's running; its owner closes it after stop().
  void receive_on(net::Udp::socket& socket, DatagramHandler handler);
  // Before start(): what the loop does when it wakes, and when it next needs to.
  void set_work(DueFn due, WorkFn work);

  void start();
  void stop();  // no handler runs after this
  void wake();  // something may be due sooner than the sleep in progress
  bool running() const noexcept { return running_; }
  // Inside a datagram handler: when the kernel received that datagram, on the loop's clock
  // (earlier than now when the loop was busy; see net/datagram.hpp).
  std::int64_t arrival_us() const noexcept { return arrival_us_; }

 private:
  struct Socket {
    net::Udp::socket* socket = nullptr;
    DatagramHandler handler;
    std::array<std::byte, 2048> buffer{};
    net::Udp::endpoint from;
  };
  void receive(Socket& s);
  void drain(Socket& s);
  void sleep();

  const timing::Clock& clock_;
  net::WakeTimer timer_;
  std::vector<std::unique_ptr<Socket>> sockets_;
  DueFn due_;
  WorkFn work_;
  bool running_ = false;
  std::int64_t arrival_us_ = 0;
};

}  // namespace pttcam::app
