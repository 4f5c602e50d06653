#pragma once
// The one place pttcam includes Boost.Asio. Boost 1.74's Asio uses std::exchange without
// including <utility>, which GCC 12 in C++20 mode no longer pulls in transitively.
#include <utility>
#include <boost/asio.hpp>
