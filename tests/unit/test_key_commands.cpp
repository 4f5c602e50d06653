#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "pttcam/client/key_commands.hpp"

using pttcam::client::KeyCommand;
using pttcam::client::KeyCommandReader;

namespace {

std::string show(const std::vector<KeyCommand> &commands) {
  std::string out;
  for (const auto c : commands)
    out += std::string(out.empty() ? "" : ",") +
           (c == KeyCommand::down ? "down" : "up");
  return out;
}

} // namespace

TEST_CASE("KeyCommandReader") {
  KeyCommandReader reader;

  SUBCASE("lines, table-driven") {
    struct Row {
      const char *input;
      const char *commands;
      std::size_t rejected;
    };
    const Row rows[] = {
        {"down\n", "down", 0},
        {"up\n", "up", 0},
        {"down\nup\ndown\nup\n", "down,up,down,up", 0},
        {"down\r\nup\r\n", "down,up", 0},    // CRLF
        {"  down \t\n\tup\n", "down,up", 0}, // blanks around the word
        {"\n\n\r\n  \n", "", 0},             // empty lines: nothing, not errors
        {"DOWN\n", "", 1},                   // case matters
        {"press\ndown\n", "down", 1}, // a bad line changes nothing around it
        {"down up\n", "", 1},         // one word a line
        {"dow\n", "", 1},
        {"downn\n", "", 1},
    };
    for (const auto &row : rows) {
      CAPTURE(row.input);
      KeyCommandReader r;
      const auto out = r.feed(row.input);
      CHECK(show(out.commands) == row.commands);
      CHECK(out.rejected.size() == row.rejected);
      CHECK(r.rejected() == row.rejected);
      CHECK(r.finish().commands.empty());
    }
  }

  SUBCASE("bytes that are not text are a bad line, not the end of one") {
    using namespace std::string_literals;
    const auto out = reader.feed("do\0wn\n\xff\n"s);
    CHECK(out.commands.empty());
    CHECK(out.rejected.size() == 2);
    CHECK(out.rejected[0] == "do\0wn"s);
  }

  SUBCASE("a line split across reads waits for its end") {
    CHECK(reader.feed("do").commands.empty());
    CHECK(reader.feed("w").commands.empty());
    CHECK(show(reader.feed("n\nu").commands) == "down");
    CHECK(show(reader.feed("p\n").commands) == "up");
    CHECK(reader.accepted() == 2);
  }

  SUBCASE("end of input completes a last line without a newline") {
    CHECK(reader.feed("down\nup").commands.size() == 1);
    CHECK(show(reader.finish().commands) == "up");
    CHECK(reader.finish().commands.empty()); // only once
  }

  SUBCASE("end of input with a bad partial line rejects it") {
    reader.feed("dow");
    const auto out = reader.finish();
    CHECK(out.commands.empty());
    REQUIRE(out.rejected.size() == 1);
    CHECK(out.rejected[0] == "dow");
  }

  SUBCASE(
      "a line longer than the limit is rejected whole, with a bounded copy") {
    const std::string long_line(10 * KeyCommandReader::kMaxLine, 'x');
    auto out = reader.feed(long_line);
    CHECK(out.rejected.empty()); // not yet: no end of line
    out = reader.feed(
        "down\nup\n"); // "down" is the tail of the long line, not a command
    CHECK(show(out.commands) == "up");
    REQUIRE(out.rejected.size() == 1);
    CHECK(out.rejected[0].size() == KeyCommandReader::kMaxLine);
    CHECK(reader.rejected() == 1);
  }

  SUBCASE("\"down\" padded with blanks past the limit is rejected (the limit "
          "counts raw bytes)") {
    const std::string padded =
        std::string(KeyCommandReader::kMaxLine, ' ') + "down\n";
    const auto out = reader.feed(padded);
    CHECK(out.commands.empty());
    CHECK(out.rejected.size() == 1);
  }

  SUBCASE("counters add up over many reads") {
    for (int i = 0; i < 1000; ++i)
      reader.feed(i % 3 == 0 ? "bad\n" : (i % 3 == 1 ? "down\n" : "up\n"));
    CHECK(reader.accepted() == 666);
    CHECK(reader.rejected() == 334);
  }
}
