// parse_sdp() over arbitrary text must return a description or a one-line error, never crash or
// throw. Whatever parses must write (write_sdp accepts everything parse_sdp returns) and read back
// to the same description. Random bytes rarely spell SDP, so each input is also used as a list
// of edits (replace, insert, delete a line, change one byte) on a valid pttcam SDP with RED: that
// reaches the attribute parsers and the stream choice.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pttcam/sdp/description.hpp"

using namespace pttcam::sdp;

namespace {

constexpr std::string_view kFragments[] = {
    "v=0", "o=- 1 2 IN IP4 192.0.2.1", "o=x", "s=", "s=talk", "c=IN IP4 10.0.0.1", "c=IN IP6 ::1",
    "c=IN IP4 224.0.0.1/16/2", "c=IN IP4 host", "t=0 0", "m=audio 5004 RTP/AVP 96 63", "m=audio 0 RTP/AVP 96",
    "m=audio 9 RTP/AVPF 96", "m=audio 5/2 RTP/AVP 96 97", "m=video 1 RTP/AVP 96", "m=audio 1 RTP/SAVP 96",
    "a=rtpmap:96 opus/48000/2", "a=rtpmap:96 OPUS/48000", "a=rtpmap:96 opus/8000/2", "a=rtpmap:97 opus/48000/1",
    "a=rtpmap:63 red/48000/2", "a=rtpmap:63 RED/48000/2", "a=fmtp:63 96/96", "a=fmtp:63 96/0", "a=fmtp:63 /",
    "a=fmtp:96 useinbandfec=1;stereo=1;minptime=2.5", "a=fmtp:96 maxaveragebitrate=", "a=fmtp:96 cbr=2",
    "a=fmtp:96 maxplaybackrate=16000; sprop-maxcapturerate=8000; usedtx=1; sprop-stereo=0",
    "a=ptime:2.5", "a=ptime:0.0001", "a=maxptime:120", "a=rtcp:5005 IN IP4 10.0.0.2", "a=rtcp:5005",
    "a=rtcp:0", "a=rtcp-mux", "a=sendonly", "a=recvonly", "a=inactive", "a=sendrecv", "b=AS:64", "x", "",
};
constexpr std::size_t kFragmentCount = sizeof(kFragments) / sizeof(kFragments[0]);

std::vector<std::string> base_lines() {
  PttcamStream s;
  s.address = "127.0.0.1";
  s.port = 5004;
  s.opus_payload_type = 96;
  s.red_payload_type = 63;
  const std::string text = write_sdp(describe(s));
  std::vector<std::string> lines;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = text.find("\r\n", at);
    lines.push_back(text.substr(at, end - at));
    at = end + 2;
  }
  return lines;
}

void check(std::string_view text) {
  ParseResult first;
  try {
    first = parse_sdp(text);
  } catch (...) {
    __builtin_trap();
  }
  if (!first) {
    const auto message = first.error.message();
    if (message.empty() || message.find('\n') != std::string::npos) __builtin_trap();
    return;
  }
  std::string written;
  try {
    written = write_sdp(*first.description);
  } catch (const std::invalid_argument&) {
    __builtin_trap();  // parse_sdp returned something write_sdp refuses
  }
  const auto second = parse_sdp(written);
  if (!second) __builtin_trap();
  Description expected = *first.description;
  if (expected.session_name.empty()) expected.session_name = "-";  // s= is never written empty
  if (!(*second.description == expected)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  check(raw);

  static const std::vector<std::string> base = base_lines();
  std::vector<std::string> lines = base;
  for (std::size_t i = 0; i + 1 < size; i += 2) {
    const std::uint8_t op = data[i];
    const std::uint8_t arg = data[i + 1];
    const std::size_t line = lines.empty() ? 0 : arg % lines.size();
    const auto fragment = std::string(kFragments[(op >> 2) % kFragmentCount]);
    switch (op & 3) {
      case 0:
        if (!lines.empty()) lines[line] = fragment;
        break;
      case 1: lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(line), fragment); break;
      case 2:
        if (!lines.empty()) lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(line));
        break;
      case 3:
        if (!lines.empty() && !lines[line].empty()) lines[line][(op >> 2) % lines[line].size()] = static_cast<char>(arg);
        break;
    }
  }
  const char* eol = size > 0 && (data[0] & 0x80) ? "\n" : "\r\n";
  std::string text;
  for (const auto& l : lines) text += l + eol;
  check(text);
  return 0;
}
