#pragma once
// Talk-key commands read as text lines from a pipe (ptt-client --keys stdin):
// how a program, not a person, holds the key at a moment of its choosing
// (tools/ptt-bench: pttcam-jack-io presses it at a known JACK sample). Pure:
// bytes in, commands out; no file descriptor, no clock.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pttcam::client {

enum class KeyCommand { down, up };

// Splits the bytes into lines ("\n"; a "\r" before it and spaces or tabs around
// the word are ignored, as are empty lines) and turns each into a command:
// "down" or "up". Any other line is rejected: counted, and kept (its first
// kMaxLine bytes) for one error line. A line longer than kMaxLine bytes is
// rejected whole, however long it gets, without growing the buffer past
// kMaxLine. A partial line waits for the rest; finish() takes it as complete
// (end of input).
class KeyCommandReader {
public:
  static constexpr std::size_t kMaxLine = 64;

  struct Result {
    std::vector<KeyCommand> commands;
    std::vector<std::string>
        rejected; // the rejected lines (truncated to kMaxLine bytes)
  };

  Result feed(std::string_view bytes);
  Result finish(); // end of input: a last line without "\n" counts
  std::uint64_t accepted() const noexcept { return accepted_; }
  std::uint64_t rejected() const noexcept { return rejected_; }

private:
  void end_line(Result &out);
  std::string line_;
  bool too_long_ = false;
  std::uint64_t accepted_ = 0;
  std::uint64_t rejected_ = 0;
};

} // namespace pttcam::client
