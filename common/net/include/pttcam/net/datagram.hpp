#pragma once
// Receiving a datagram with the time the kernel received it. A program's loop may read a
// datagram milliseconds after it arrived (another handler ran, the machine is busy); figures
// computed from arrival times (RFC 3550 jitter, the delay a packet waited) would then measure the
// loop, not the network. Linux stamps every datagram on arrival (SO_TIMESTAMPNS): the same
// moment a packet capture records.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>

#include "pttcam/net/address.hpp"

namespace pttcam::net {

// Asks the kernel to stamp each datagram `socket` receives. False: this system cannot; datagrams
// then carry no age and their arrival is when they are read. (Linux switches stamping on a moment
// after the first socket of the system asks; datagrams before that are stamped when read.)
bool enable_arrival_stamps(Udp::socket& socket) noexcept;

struct Received {
  std::size_t size = 0;
  // How long before the read the kernel received it (clamped to [0, 1 s], as the stamp is wall
  // clock time and the wall clock may be stepped); nullopt: not stamped.
  std::optional<std::int64_t> age_us;
  std::error_code error;  // would_block: nothing (more) to read
};

// Reads one waiting datagram without blocking.
Received receive_stamped(Udp::socket& socket, std::span<std::byte> buffer, Udp::endpoint& from) noexcept;

}  // namespace pttcam::net
