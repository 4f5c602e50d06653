// The command-line parsers that take free text: --talk-script (ptt), net-impair's link spec and
// --seed, and HOST:PORT endpoints (net). The first byte chooses the parser, the rest is the text.
// Each either throws std::invalid_argument (the programs' one-line usage error) or returns a value
// that holds its documented properties:
//   talk script: windows in order, not overlapping, no negative start or duration
//   link spec:   parse_link_spec(describe(s)) == s
//   seed:        its decimal text parses back to it
//   endpoint:    to_string() parses back to the same endpoint
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "impairment.hpp"
#include "pttcam/net/address.hpp"
#include "pttcam/ptt/talk_script.hpp"

using namespace pttcam;

namespace {

void talk_script(std::string_view text) {
  const auto windows = ptt::parse_talk_script(text);
  for (std::size_t i = 0; i < windows.size(); ++i) {
    if (!(windows[i].start >= 0) || !(windows[i].duration >= 0)) __builtin_trap();
    if (i > 0 && windows[i].start < windows[i - 1].end()) __builtin_trap();
  }
}

void link_spec(std::string_view text) {
  const auto spec = impair::parse_link_spec(text);
  if (!(impair::parse_link_spec(impair::describe(spec)) == spec)) __builtin_trap();
}

void seed(std::string_view text) {
  const std::uint64_t s = impair::parse_seed(text);
  if (impair::parse_seed(std::to_string(s)) != s) __builtin_trap();
}

void endpoint(std::string_view text) {
  const auto ep = net::parse_endpoint(text);
  if (net::parse_endpoint(net::to_string(ep)) != ep) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 4) {
      case 0: talk_script(text); break;
      case 1: link_spec(text); break;
      case 2: seed(text); break;
      default: endpoint(text); break;
    }
  } catch (const std::invalid_argument&) {
    // A usage error: what the programs print and exit 2 with.
  }
  return 0;
}
