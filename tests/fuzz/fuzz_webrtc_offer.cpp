// parse_offer() over arbitrary text must return an offer or a one-line error, never crash or
// throw; whatever parses must give an answer. Each input is also used as edits (replace or drop a
// line) on a Chromium-like offer, which reaches the attribute parsers, and as an RTP datagram
// renumbered between two calls' payload types (remap_payload_types reads the header's CSRC count,
// extension length and RFC 2198 block headers): it must stay inside the datagram and keep its size.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pttcam/webrtc/offer.hpp"
#include "pttcam/webrtc/payload_map.hpp"

using namespace pttcam::webrtc;

namespace {

constexpr std::string_view kLines[] = {
    "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0", "m=audio 9 UDP/TLS/RTP/SAVPF 111 63",
    "a=mid:0", "a=ice-ufrag:abcd", "a=ice-pwd:0123456789abcdefghijkl", "a=setup:actpass", "a=rtcp-mux",
    "a=fingerprint:sha-256 AA:BB:CC", "a=rtpmap:111 opus/48000/2", "a=rtpmap:63 red/48000/2", "a=sendrecv",
    "a=candidate:1 1 udp 2122260223 127.0.0.1 54400 typ host", "m=video 9 UDP/TLS/RTP/SAVPF 96", "m=audio",
    "m=audio 9", "a=rtpmap:", "a=rtpmap:999 opus/48000/2", "a=rtpmap:111", "a=fingerprint:", "a=fingerprint:sha-256",
    "a=mid:", "x=", "", "=",
};
constexpr std::size_t kLineCount = sizeof(kLines) / sizeof(kLines[0]);

void check(std::string_view text) {
  const auto parsed = parse_offer(text);
  if (!parsed.offer) {
    if (parsed.error.empty()) __builtin_trap();
    return;
  }
  AnswerParams p;
  p.address = "127.0.0.1";
  if (write_answer(*parsed.offer, p).empty()) __builtin_trap();
}

void renumber(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> packet(size);
  for (std::size_t i = 0; i < size; ++i) packet[i] = static_cast<std::byte>(data[i]);
  const PayloadTypes chromium{111, 63}, other{109, 120}, no_red{96, std::nullopt};
  remap_payload_types(packet, other, chromium);
  remap_payload_types(packet, chromium, other);
  remap_payload_types(packet, chromium, no_red);
  if (packet.size() != size) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check(std::string_view(reinterpret_cast<const char*>(data), size));
  renumber(data, size);
  std::vector<std::string_view> lines(kLines, kLines + 16);  // a valid offer
  for (std::size_t i = 0; i + 1 < size; i += 2) {
    const std::size_t at = data[i] % (lines.size() + 1);
    if (data[i + 1] & 0x80) {
      if (at < lines.size()) lines.erase(lines.begin() + static_cast<long>(at));
    } else if (at < lines.size()) {
      lines[at] = kLines[data[i + 1] % kLineCount];
    } else {
      lines.push_back(kLines[data[i + 1] % kLineCount]);
    }
  }
  std::string text;
  for (const auto l : lines) text.append(l).append("\r\n");
  check(text);
  return 0;
}
