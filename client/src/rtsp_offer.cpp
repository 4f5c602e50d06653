#include "pttcam/client/rtsp_offer.hpp"

#include <algorithm>

#include "pttcam/rtsp/message.hpp"
#include "pttcam/rtsp/url.hpp"

namespace pttcam::client {
namespace {

constexpr TalkCodec kPreference[] = {TalkCodec::opus, TalkCodec::l16, TalkCodec::pcmu, TalkCodec::pcma};

// The rates pttcam's codecs run at: Opus at 48 kHz (RFC 7587), G.711 and L16 at 8, 16 or 48 kHz.
bool usable_rate(TalkCodec c, std::uint32_t rate) {
  if (c == TalkCodec::opus) return rate == 48000;
  return rate == 8000 || rate == 16000 || rate == 48000;
}

bool has(const std::vector<TalkCodec>& list, TalkCodec c) { return std::find(list.begin(), list.end(), c) != list.end(); }

// The best format of `m` in kPreference order among `usable` (only `forced` if given).
std::optional<sdp::RtpFormat> best_format(const sdp::Medium& m, std::optional<TalkCodec> forced,
                                          const std::vector<TalkCodec>& usable) {
  for (const auto c : kPreference) {
    if ((forced && c != *forced) || !has(usable, c)) continue;
    for (const auto& f : m.formats)
      if (codec_of(f) == c && usable_rate(c, f.clock_rate)) return f;
  }
  return std::nullopt;
}

std::string format_list(const sdp::Medium& m) {
  std::string out;
  for (const auto& f : m.formats)
    out += (out.empty() ? "" : ", ") + (f.encoding.empty() ? "PT " + std::to_string(f.payload_type)
                                                          : f.encoding + "/" + std::to_string(f.clock_rate));
  return out;
}

}  // namespace

const char* to_string(TalkCodec c) noexcept {
  switch (c) {
    case TalkCodec::opus: return "opus";
    case TalkCodec::l16: return "l16";
    case TalkCodec::pcmu: return "pcmu";
    case TalkCodec::pcma: return "pcma";
  }
  return "?";
}

std::optional<TalkCodec> talk_codec_named(std::string_view name) {
  for (const auto c : kPreference)
    if (rtsp::iequals(name, to_string(c))) return c;
  return std::nullopt;
}

std::optional<TalkCodec> codec_of(const sdp::RtpFormat& f) {
  if (rtsp::iequals(f.encoding, "opus")) return TalkCodec::opus;
  if (rtsp::iequals(f.encoding, "L16") && f.channels == 1) return TalkCodec::l16;
  if (rtsp::iequals(f.encoding, "PCMU")) return TalkCodec::pcmu;
  if (rtsp::iequals(f.encoding, "PCMA")) return TalkCodec::pcma;
  return std::nullopt;
}

CameraOffer read_offer(const sdp::MediaList& sdp, std::string_view content_base, std::optional<TalkCodec> forced,
                       const std::vector<TalkCodec>& can_send, const std::vector<TalkCodec>& can_play) {
  CameraOffer offer;
  offer.aggregate_url = rtsp::resolve_control(content_base, sdp.control);
  const sdp::Medium* talk = nullptr;
  for (const auto& m : sdp.media) {
    if (m.media != "audio") continue;
    if (m.direction == sdp::Direction::sendonly && !talk) talk = &m;
    if (m.direction == sdp::Direction::sendonly || offer.audio) continue;
    if (const auto f = best_format(m, std::nullopt, can_play))
      offer.audio = Track{rtsp::resolve_control(content_base, m.control), *f};
    else if (offer.why_no_audio.empty())
      offer.why_no_audio = "the camera's audio (" + format_list(m) + ") is not played: this client does not decode it";
  }
  if (offer.audio) offer.why_no_audio.clear();
  if (!talk) {
    offer.why_no_talk = "the camera offers no audio backchannel (no a=sendonly audio track in its SDP)";
    return offer;
  }
  offer.offered = format_list(*talk);
  if (const auto f = best_format(*talk, forced, can_send)) {
    offer.backchannel = Track{rtsp::resolve_control(content_base, talk->control), *f};
  } else if (forced && !has(can_send, *forced)) {
    offer.why_no_talk = std::string("this build cannot send ") + to_string(*forced);
  } else {
    offer.why_no_talk = "the camera's backchannel takes " + offer.offered + ", none of which " +
                        (forced ? std::string("is the forced ") + to_string(*forced) : std::string("this client can send"));
  }
  return offer;
}

}  // namespace pttcam::client
