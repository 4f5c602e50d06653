#include "pttcam/client/key_commands.hpp"

namespace pttcam::client {
namespace {

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && blank(s.back()))
    s.remove_suffix(1);
  return s;
}

} // namespace

KeyCommandReader::Result KeyCommandReader::feed(std::string_view bytes) {
  Result out;
  for (const char c : bytes) {
    if (c == '\n') {
      end_line(out);
    } else if (line_.size() < kMaxLine) {
      line_.push_back(c);
    } else {
      too_long_ = true;
    }
  }
  return out;
}

KeyCommandReader::Result KeyCommandReader::finish() {
  Result out;
  if (!line_.empty() || too_long_)
    end_line(out);
  return out;
}

void KeyCommandReader::end_line(Result &out) {
  const std::string_view word = trim(line_);
  if (!too_long_ && word == "down") {
    out.commands.push_back(KeyCommand::down);
    ++accepted_;
  } else if (!too_long_ && word == "up") {
    out.commands.push_back(KeyCommand::up);
    ++accepted_;
  } else if (too_long_ || !word.empty()) {
    out.rejected.push_back(line_);
    ++rejected_;
  }
  line_.clear();
  too_long_ = false;
}

} // namespace pttcam::client
