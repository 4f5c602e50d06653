// The terminal key decoder (legacy bytes and the kitty keyboard protocol), fed arbitrary bytes cut
// at an arbitrary point: the decoding must not depend on where a read() split the bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pttcam/client/key_decoder.hpp"

using pttcam::client::KeyDecoder;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  KeyDecoder whole;
  const auto all = whole.feed(bytes);
  KeyDecoder split;
  const std::size_t at = size == 0 ? 0 : data[0] % (size + 1);
  auto events = split.feed(bytes.substr(0, at));
  const auto rest = split.feed(bytes.substr(at));
  events.insert(events.end(), rest.begin(), rest.end());
  if (events != all) __builtin_trap();
  return 0;
}
