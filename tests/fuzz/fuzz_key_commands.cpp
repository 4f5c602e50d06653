// Feeds arbitrary bytes to KeyCommandReader, split at an arbitrary point, then
// ends the input. Invariants: every complete line is either a command or a
// rejection, so accepted + rejected never exceeds the lines (+1 for the
// unterminated last one), and a rejected copy never exceeds kMaxLine.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pttcam/client/key_commands.hpp"

using pttcam::client::KeyCommandReader;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char *>(data), size);
  const std::size_t split = size == 0 ? 0 : data[0] % (size + 1);
  KeyCommandReader reader;
  std::size_t commands = 0;
  const auto take = [&](const KeyCommandReader::Result &r) {
    commands += r.commands.size();
    for (const auto &line : r.rejected)
      if (line.size() > KeyCommandReader::kMaxLine)
        __builtin_trap();
  };
  take(reader.feed(bytes.substr(0, split)));
  take(reader.feed(bytes.substr(split)));
  take(reader.finish());
  const auto lines =
      static_cast<std::uint64_t>(std::count(bytes.begin(), bytes.end(), '\n')) +
      1;
  if (commands != reader.accepted() ||
      reader.accepted() + reader.rejected() > lines)
    __builtin_trap();
  return 0;
}
