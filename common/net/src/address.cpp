#include "pttcam/net/address.hpp"

#include <charconv>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace pttcam::net {

Udp::endpoint parse_endpoint(std::string_view text) {
  const auto fail = [&](const std::string& why) {
    return std::invalid_argument("bad address '" + std::string(text) + "': " + why +
                                 " (expected HOST:PORT, e.g. 127.0.0.1:5004)");
  };
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw fail("unterminated [IPv6] address or missing port");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw fail("missing ':PORT'");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) throw fail("write IPv6 addresses as [ADDR]:PORT");
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
    throw fail("port must be a number from 0 to 65535");
  boost::asio::ip::address addr;
  if (host.empty()) {
    addr = boost::asio::ip::address_v4::any();
  } else if (host == "localhost") {
    addr = boost::asio::ip::address_v4::loopback();
  } else {
    boost::system::error_code err;
    addr = boost::asio::ip::make_address(std::string(host), err);
    if (err) throw fail("'" + std::string(host) + "' is not a numeric IP address");
  }
  return {addr, static_cast<std::uint16_t>(value)};
}

std::string to_string(const Udp::endpoint& ep) {
  // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive) on "[" + std::string.
  const auto a = ep.address();
  std::string out;
  if (a.is_v6())
    out.append("[").append(a.to_string()).append("]");
  else
    out = a.to_string();
  return out.append(":").append(std::to_string(ep.port()));
}

void write_port_file(const std::filesystem::path& path, std::uint16_t port) {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << '\n';
    if (!out) throw std::runtime_error("cannot write port file " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

EndpointBytes to_bytes(const Udp::endpoint& ep) {
  EndpointBytes out{};
  const auto address = ep.address();
  out[0] = std::byte{static_cast<unsigned char>(address.is_v6() ? 6 : 4)};
  const auto copy = [&](const auto& bytes) {
    for (std::size_t i = 0; i < bytes.size(); ++i) out[1 + i] = std::byte{bytes[i]};
  };
  if (address.is_v6())
    copy(address.to_v6().to_bytes());
  else
    copy(address.to_v4().to_bytes());
  out[17] = std::byte{static_cast<unsigned char>(ep.port() >> 8)};
  out[18] = std::byte{static_cast<unsigned char>(ep.port())};
  return out;
}

}  // namespace pttcam::net
