#pragma once
#include <string_view>

#include "pttcam/net/asio.hpp"

namespace pttcam::net {

using Tcp = boost::asio::ip::tcp;

// Opens `acceptor` listening on `at` (address reuse on). Throws std::runtime_error with one line,
// "cannot serve WHAT on ADDRESS:PORT: REASON", when it cannot.
void listen(Tcp::acceptor& acceptor, const Tcp::endpoint& at, std::string_view what);

}  // namespace pttcam::net
