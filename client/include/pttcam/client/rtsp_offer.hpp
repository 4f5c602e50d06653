#pragma once
// What a camera's DESCRIBE answer offers ptt-client (ONVIF Streaming Specification §5.3): the
// backchannel (the a=sendonly audio track the client talks into) with the best codec both sides
// have (Opus > L16 > PCMU/PCMA, or the one the user forced), and the camera's own audio (a=recvonly)
// if the client can play it. Pure code.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pttcam/sdp/media_list.hpp"

namespace pttcam::client {

enum class TalkCodec { opus, l16, pcmu, pcma };
const char* to_string(TalkCodec c) noexcept;  // "opus", "l16", "pcmu", "pcma" (the --codec names)
std::optional<TalkCodec> talk_codec_named(std::string_view name);  // the --codec names, any case
std::optional<TalkCodec> codec_of(const sdp::RtpFormat& f);        // by its encoding name

struct Track {
  std::string url;  // SETUP goes here: Content-Base + a=control
  sdp::RtpFormat format;
};

struct CameraOffer {
  std::optional<Track> backchannel;  // empty: nothing to talk into (see why_no_talk)
  std::optional<Track> audio;        // empty: no camera audio the client can play
  std::string why_no_talk;           // one line when backchannel is empty
  std::string why_no_audio;          // one line when the camera has audio this client does not play
  std::string offered;               // the backchannel formats the camera listed, "PCMU/8000, PCMA/8000"
  std::string aggregate_url;         // PLAY, GET_PARAMETER and TEARDOWN go here
};

// `can_send` and `can_play`: the codecs this build encodes and decodes, best first.
CameraOffer read_offer(const sdp::MediaList& sdp, std::string_view content_base, std::optional<TalkCodec> forced,
                       const std::vector<TalkCodec>& can_send, const std::vector<TalkCodec>& can_play);

}  // namespace pttcam::client
