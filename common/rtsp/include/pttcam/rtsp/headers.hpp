#pragma once
// The RTSP headers a camera reads and writes: Transport (RFC 2326 §12.39) for RTP/AVP over UDP
// unicast and RTP/AVP/TCP interleaved, Session with its timeout (§12.37), Require (§12.32).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pttcam::rtsp {

struct PortPair {
  std::uint16_t rtp = 0;
  std::uint16_t rtcp = 0;
  bool operator==(const PortPair&) const = default;
};

struct Transport {
  enum class Lower { udp, tcp };
  Lower lower = Lower::udp;
  bool unicast = true;
  std::optional<PortPair> client_port;  // UDP: where the client receives (and sends from)
  std::optional<PortPair> server_port;  // UDP: the server's ports, in the answer
  std::optional<std::pair<std::uint8_t, std::uint8_t>> interleaved;  // TCP: RTP and RTCP channels
  std::optional<std::uint32_t> ssrc;
  std::string mode;  // "PLAY", "RECORD" or empty
  bool operator==(const Transport&) const = default;
};

// Every transport spec the client offers, in its order of preference; the ones that are not
// RTP/AVP (e.g. RTP/SAVP, a multicast-only spec) are left out. Empty: nothing we can serve.
std::vector<Transport> parse_transports(std::string_view header);
// One spec as written in an answer: "RTP/AVP;unicast;client_port=a-b;server_port=c-d;ssrc=...".
std::string format_transport(const Transport& t);

struct SessionHeader {
  std::string id;
  std::optional<unsigned> timeout_s;
};
// "id" or "id;timeout=60"; nullopt if the id is empty or not made of the characters RFC 2326
// §3.4 allows (alphanumerics and "$-_.+").
std::optional<SessionHeader> parse_session(std::string_view header);
std::string format_session(const SessionHeader& s);

// The ONVIF audio backchannel option tag (ONVIF Streaming Specification §5.3).
inline constexpr std::string_view kBackchannelTag = "www.onvif.org/ver20/backchannel";
// The tags of `required` that are not in `supported` (case-insensitive): the Unsupported header
// of a 551 answer when not empty.
std::vector<std::string> unsupported_options(const std::vector<std::string>& required,
                                             const std::vector<std::string_view>& supported);

}  // namespace pttcam::rtsp
