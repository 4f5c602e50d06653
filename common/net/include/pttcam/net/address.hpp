#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "pttcam/net/asio.hpp"

namespace pttcam::net {

using Udp = boost::asio::ip::udp;

// Parses "HOST:PORT", "[V6]:PORT" or ":PORT" (any address). HOST must be a numeric address or
// "localhost". Throws std::invalid_argument with a one-line message naming the bad part.
Udp::endpoint parse_endpoint(std::string_view text);

std::string to_string(const Udp::endpoint& ep);

// An endpoint as fixed bytes, for a MAC to bind (cookies): family (4 or 6), the address (16 bytes,
// an IPv4 one in the first 4), the port big-endian.
using EndpointBytes = std::array<std::byte, 19>;
EndpointBytes to_bytes(const Udp::endpoint& ep);

// Writes the port as decimal text atomically (temp file + rename), so a script polling for the
// file never reads a half-written number.
void write_port_file(const std::filesystem::path& path, std::uint16_t port);

}  // namespace pttcam::net
