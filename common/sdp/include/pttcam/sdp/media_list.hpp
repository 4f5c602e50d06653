#pragma once
// Every m-line of a session description as an RTSP camera writes it in a DESCRIBE answer
// (RFC 8866, RFC 2326 §C.1): per medium its payload formats (a=rtpmap, or the static ones of
// RFC 3551 §6 without one), a=fmtp, a=control and the direction. With the ONVIF audio backchannel
// (ONVIF Streaming Specification §5.3) the camera's own media are a=recvonly and the track the
// client talks into is a=sendonly. Pure code; never throws on bad input (only std::bad_alloc).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pttcam/sdp/description.hpp"

namespace pttcam::sdp {

struct RtpFormat {
  std::uint8_t payload_type = 0;
  std::string encoding;  // as written ("opus", "PCMU", "L16", ...); compare without case
  std::uint32_t clock_rate = 0;
  std::uint8_t channels = 1;
  std::string fmtp;  // the a=fmtp parameters, as written
};

struct Medium {
  std::string media;  // "audio", "video", "application", ...
  std::uint16_t port = 0;
  std::string protocol;  // "RTP/AVP", ...
  std::vector<RtpFormat> formats;  // in the m-line's order of preference
  std::string control;  // a=control, empty if none
  std::optional<Direction> direction;  // media-level, else the session's
};

struct MediaList {
  std::string control;  // session-level a=control (the aggregate URL), empty if none
  std::vector<Medium> media;
};

struct MediaListResult {
  std::optional<MediaList> list;
  ParseError error;  // meaningful only when list is empty
};

MediaListResult parse_media_list(std::string_view text);

}  // namespace pttcam::sdp
