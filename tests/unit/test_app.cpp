// app::IoLoop over real loopback sockets: every datagram of a burst larger than one read batch
// arrives, in order, each with the kernel's arrival stamp on the loop's clock.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "pttcam/app/io_loop.hpp"
#include "pttcam/net/datagram.hpp"
#include "pttcam/timing/clock.hpp"

using namespace pttcam;
using boost::asio::ip::udp;

TEST_CASE("IoLoop reads a burst beyond its batch, stamped with the kernel's arrival times") {
  boost::asio::io_context io;
  udp::socket receiver(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  udp::socket sender(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  app::IoLoop loop(io, timing::monotonic_clock());
  constexpr int kCount = 3 * app::IoLoop::kBatch + 5;
  std::vector<int> order;
  std::vector<std::int64_t> ages;
  loop.receive_on(receiver, [&](std::span<const std::byte> d, const net::Udp::endpoint& from) {
    CHECK(from == sender.local_endpoint());
    REQUIRE(d.size() == sizeof(int));
    int n = 0;
    std::memcpy(&n, d.data(), sizeof n);
    order.push_back(n);
    ages.push_back(timing::monotonic_us() - loop.arrival_us());
    if (order.size() == kCount) loop.stop();
  });
  loop.set_work([](std::int64_t now) { return now + 1'000'000; }, [](std::int64_t) {});
  // Linux turns arrival stamping on a moment after the first socket asks (a deferred switch);
  // until then datagrams are stamped when read.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // All sent before the loop reads any: they wait in the socket buffer.
  for (int i = 0; i < kCount; ++i) sender.send_to(boost::asio::buffer(&i, sizeof i), receiver.local_endpoint());
  const std::int64_t sent_at = timing::monotonic_us();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  loop.start();
  boost::asio::steady_timer guard(io, std::chrono::seconds(5));
  guard.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) loop.stop();
  });
  while (loop.running() && io.run_one_for(std::chrono::seconds(5))) {
  }
  REQUIRE(order.size() == kCount);
  for (int i = 0; i < kCount; ++i) CHECK(order[i] == i);
  // They arrived before the 50 ms sleep; the loop read them after it: the stamps say so.
  for (const auto age : ages) CHECK(age >= 45'000);
  CHECK(loop.arrival_us() <= sent_at + 5'000);
}

TEST_CASE("receive_stamped: would-block when nothing waits, a size and an age when a datagram does") {
  boost::asio::io_context io;
  udp::socket socket(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  REQUIRE(net::enable_arrival_stamps(socket));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // see above: the deferred switch
  std::vector<std::byte> buffer(64);
  net::Udp::endpoint from;
  const auto none = net::receive_stamped(socket, buffer, from);
  CHECK(none.error == std::errc::resource_unavailable_try_again);
  const char text[] = "hello";
  socket.send_to(boost::asio::buffer(text, 5), socket.local_endpoint());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto got = net::receive_stamped(socket, buffer, from);
  CHECK(!got.error);
  CHECK(got.size == 5);
  CHECK(from == socket.local_endpoint());
  REQUIRE(got.age_us.has_value());
  CHECK(*got.age_us >= 15'000);
  CHECK(*got.age_us < 1'000'000);
}
