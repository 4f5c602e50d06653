#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "pttcam/net/address.hpp"
#include "pttcam/net/wake_timer.hpp"

using pttcam::net::parse_endpoint;

namespace {

std::string endpoint_error(const std::string& text) {
  try {
    parse_endpoint(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

}  // namespace

TEST_CASE("parse_endpoint") {
  SUBCASE("good forms") {
    struct Row {
      const char* text;
      const char* address;
      std::uint16_t port;
      bool v6;
    };
    const Row rows[] = {
        {"127.0.0.1:5004", "127.0.0.1", 5004, false},
        {":0", "0.0.0.0", 0, false},
        {":5004", "0.0.0.0", 5004, false},
        {"localhost:1", "127.0.0.1", 1, false},
        {"[::1]:9", "::1", 9, true},
        {"[::]:65535", "::", 65535, true},
        {"[fe80::1:2]:7000", "fe80::1:2", 7000, true},
        {"0.0.0.0:65535", "0.0.0.0", 65535, false},
        {"192.168.1.20:00080", "192.168.1.20", 80, false},
    };
    for (const auto& row : rows) {
      CAPTURE(row.text);
      const auto ep = parse_endpoint(row.text);
      CHECK(ep.address().to_string() == row.address);
      CHECK(ep.port() == row.port);
      CHECK(ep.address().is_v6() == row.v6);
    }
  }

  SUBCASE("to_string writes what parse_endpoint reads") {
    for (const char* text : {"127.0.0.1:5004", "[::1]:9", "0.0.0.0:0"}) {
      CAPTURE(text);
      CHECK(pttcam::net::to_string(parse_endpoint(text)) == text);
    }
  }

  SUBCASE("bad input names the problem") {
    struct Row {
      const char* text;
      const char* message;
    };
    const Row rows[] = {
        {"", "missing ':PORT'"},
        {"127.0.0.1", "missing ':PORT'"},
        {"localhost", "missing ':PORT'"},
        {"127.0.0.1:", "port must be a number from 0 to 65535"},
        {":", "port must be a number from 0 to 65535"},
        {"127.0.0.1:65536", "port must be a number from 0 to 65535"},
        {"127.0.0.1:99999999999", "port must be a number from 0 to 65535"},
        {"127.0.0.1:-1", "port must be a number from 0 to 65535"},
        {"127.0.0.1:+5", "port must be a number from 0 to 65535"},
        {"127.0.0.1:50x", "port must be a number from 0 to 65535"},
        {"127.0.0.1: 5", "port must be a number from 0 to 65535"},
        {"example.com:80", "'example.com' is not a numeric IP address"},
        {"camera:5004", "'camera' is not a numeric IP address"},
        {"256.1.1.1:5004", "'256.1.1.1' is not a numeric IP address"},
        {"127.0.0:5004", "'127.0.0' is not a numeric IP address"},
        {"::1:9", "write IPv6 addresses as [ADDR]:PORT"},
        {"fe80::1:5004", "write IPv6 addresses as [ADDR]:PORT"},
        {"[::1]", "unterminated [IPv6] address or missing port"},
        {"[::1]9", "unterminated [IPv6] address or missing port"},
        {"[::1:9", "unterminated [IPv6] address or missing port"},
        {"[::1]:", "port must be a number from 0 to 65535"},
        {"[zz::1]:9", "'zz::1' is not a numeric IP address"},
    };
    for (const auto& row : rows) {
      CAPTURE(row.text);
      const std::string message = endpoint_error(row.text);
      CHECK_MESSAGE(message.find(row.message) != std::string::npos, message);
      // Every message quotes the input and shows the expected form.
      CHECK(message.find("bad address '" + std::string(row.text) + "'") == 0);
      CHECK(message.find("(expected HOST:PORT, e.g. 127.0.0.1:5004)") != std::string::npos);
    }
  }
}

TEST_CASE("WakeTimer") {
  using Clock = std::chrono::steady_clock;
  const auto now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
  };
  boost::asio::io_context io;
  pttcam::net::WakeTimer timer(io);
  int woke = 0;
  std::int64_t woke_at = 0;
  const auto on_wake = [&] {
    ++woke;
    woke_at = now_us();
  };

  SUBCASE("wakes at the due time, not before") {
    const std::int64_t start = now_us();
    timer.wait_until(start + 20'000, start, on_wake);
    io.run();
    CHECK(woke == 1);
    CHECK(woke_at >= start + 20'000);
  }
  SUBCASE("a due time already past wakes at once") {
    const std::int64_t start = now_us();
    timer.wait_until(start - 5'000, start, on_wake);
    io.run();
    CHECK(woke == 1);
  }
  SUBCASE("wake() cuts a long wait short; once due, wake() changes nothing") {
    const std::int64_t start = now_us();
    timer.wait_until(start + 10'000'000, start, on_wake);  // 10 s
    boost::asio::post(io, [&] { timer.wake(now_us()); });
    io.run();
    CHECK(woke == 1);
    CHECK(woke_at - start < 5'000'000);  // sanity: far sooner than the 10 s it waited for
    io.restart();
    const std::int64_t again = now_us();
    timer.wait_until(again, again, on_wake);  // due now
    timer.wake(again);                        // nothing to cut short
    io.run();
    CHECK(woke == 2);
  }
}
