#include "pttcam/net/listen.hpp"

#include <stdexcept>
#include <string>

namespace pttcam::net {

void listen(Tcp::acceptor& acceptor, const Tcp::endpoint& at, std::string_view what) {
  boost::system::error_code ec;
  acceptor.open(at.protocol(), ec);
  if (!ec) acceptor.set_option(Tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(at, ec);
  if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot serve " + std::string(what) + " on " + at.address().to_string() + ":" +
                             std::to_string(at.port()) + ": " + ec.message());
}

}  // namespace pttcam::net
