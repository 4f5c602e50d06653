#pragma once
// The session description of one Opus audio stream (RFC 8866), as pttcam writes it and as it
// reads one written by another tool: where the stream goes (connection address, media port), its
// payload types (Opus per RFC 7587 §7, optionally RFC 2198 redundancy per §5 of that RFC), the
// packet time, RTCP's port or RFC 5761 multiplexing, and the direction.
//
// Pure code: no sockets, no files. Used at setup (reading --sdp, writing --sdp-out), so it may
// allocate; parse_sdp() never throws on bad input and says which line is wrong and why.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pttcam::sdp {

enum class AddressFamily { ip4, ip6 };
enum class Direction { sendrecv, sendonly, recvonly, inactive };

const char* to_string(AddressFamily family) noexcept;  // "IP4" / "IP6", as on the wire
const char* to_string(Direction direction) noexcept;   // "sendrecv", ...

// RFC 7587 §6.1 parameters carried in a=fmtp. Each is optional: absent means the SDP did not say,
// and the RFC's default applies. ptime/maxptime are media attributes (a=ptime/a=maxptime, see
// Description), not fmtp parameters; minptime is an fmtp parameter.
struct OpusParameters {
  std::optional<std::uint32_t> maxplaybackrate;       // Hz the receiver wants at most
  std::optional<std::uint32_t> sprop_maxcapturerate;  // Hz the sender captures at most
  std::optional<std::uint32_t> maxaveragebitrate;     // bit/s, 6000..510000
  std::optional<double> minptime;                     // ms (Opus frames may be 2.5 ms)
  std::optional<bool> stereo;                         // the receiver prefers stereo
  std::optional<bool> sprop_stereo;                   // the sender is likely to send stereo
  std::optional<bool> cbr;
  std::optional<bool> useinbandfec;  // the decoder uses Opus in-band FEC
  std::optional<bool> usedtx;
  bool operator==(const OpusParameters&) const = default;
};

struct OpusFormat {
  std::uint8_t payload_type = 0;
  std::uint32_t clock_rate = 48000;  // always 48000 for Opus (RFC 7587 §7)
  std::uint8_t channels = 2;         // always 2 on the wire; a few writers leave it out or say 1
  OpusParameters parameters;
  bool operator==(const OpusFormat&) const = default;
};

// RFC 2198 §5: "a=rtpmap:PT red/48000/2" and "a=fmtp:PT 111/111" (the payload type of each block,
// primary last). Empty `block_payload_types` means the SDP gave no fmtp for RED.
struct RedFormat {
  std::uint8_t payload_type = 0;
  std::uint32_t clock_rate = 48000;
  std::uint8_t channels = 2;
  std::vector<std::uint8_t> block_payload_types;
  bool operator==(const RedFormat&) const = default;
};

struct RtcpAttribute {  // RFC 3605 a=rtcp:PORT [IN IP4 ADDRESS]
  std::uint16_t port = 0;
  std::optional<AddressFamily> family;
  std::string address;  // empty: the connection address
  bool operator==(const RtcpAttribute&) const = default;
};

struct Description {
  // o= and s=: written as given; what another tool wrote is kept but means nothing to pttcam.
  std::string origin_username = "-";
  std::uint64_t session_id = 0;
  std::uint64_t session_version = 0;
  std::string session_name = "pttcam";

  // c=: a numeric address (unicast or multicast, without the /TTL suffix).
  AddressFamily family = AddressFamily::ip4;
  std::string address;
  std::uint16_t port = 0;  // m=audio PORT (never 0 in a description parse_sdp returns)
  std::string protocol = "RTP/AVP";

  OpusFormat opus;
  std::optional<RedFormat> red;
  std::optional<double> ptime_ms;     // a=ptime (2.5 is a valid Opus packet time)
  std::optional<double> maxptime_ms;  // a=maxptime
  bool rtcp_mux = false;                     // a=rtcp-mux (RFC 5761)
  std::optional<RtcpAttribute> rtcp;         // a=rtcp
  std::optional<Direction> direction;        // absent: sendrecv (RFC 8866 §6.7)
  bool operator==(const Description&) const = default;
};

// What pttcam sends or expects: Opus mono at 48 kHz with in-band FEC, optionally with RFC 2198
// redundancy over it, RTCP multiplexed on the media port.
struct PttcamStream {
  AddressFamily family = AddressFamily::ip4;
  std::string address;
  std::uint16_t port = 0;
  std::uint8_t opus_payload_type = 111;
  std::optional<std::uint8_t> red_payload_type;  // with RFC 2198 redundancy
  std::uint8_t red_copies = 1;                   // earlier frames each RED packet carries
  double ptime_ms = 20;
  std::optional<std::uint32_t> max_average_bitrate;
  bool dtx = false;
  Direction direction = Direction::sendonly;
  std::uint64_t session_id = 0;  // e.g. NTP seconds at start (RFC 8866 §5.2)
};
Description describe(const PttcamStream& stream);

// Writes the description as RFC 8866 text with CRLF line ends: v=, o=, s=, c=, t=0 0, m=audio
// listing Opus first (what a tool without RED decodes) then RED, then the attributes, RED's
// rtpmap/fmtp before Opus's (ffmpeg takes the last rtpmap of an m-line as its codec).
// Throws std::invalid_argument for a description that cannot be written (no address, port 0,
// a payload type above 127, Opus and RED on the same number, a name with a line break).
std::string write_sdp(const Description& description);

struct ParseError {
  std::size_t line = 0;  // 1-based; 0 when the error is about the whole text (e.g. no audio stream)
  std::string reason;
  std::string message() const;  // "line 5: ..." or the reason alone
};

struct ParseResult {
  std::optional<Description> description;
  ParseError error;  // meaningful only when description is empty
  explicit operator bool() const noexcept { return description.has_value(); }
};

// Largest text parse_sdp() reads; an SDP for one audio stream is well under 1 KiB.
inline constexpr std::size_t kMaxSdpBytes = 64 * 1024;

// Reads the first audio m-line that offers Opus (encoding name compared case-insensitively) over
// RTP/AVP or RTP/AVPF with a non-zero port, and the first RED format on it whose blocks are that
// Opus payload type. Accepts LF or CRLF line ends; ignores unknown lines and attributes and every
// other m-line. Media-level c=, a=sendonly/... override session-level ones.
// Never throws on bad input (only std::bad_alloc); returns the first error found.
ParseResult parse_sdp(std::string_view text);

}  // namespace pttcam::sdp
