#pragma once
// Byte buffers written as integer lists in tests: bytes({0x80, 0x6f, ...}).
#include <cstddef>
#include <initializer_list>
#include <vector>

namespace pttcam::test {

using Bytes = std::vector<std::byte>;

inline Bytes bytes(std::initializer_list<int> values) {
  Bytes out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

}  // namespace pttcam::test
