#include "pttcam/codec/encoder.hpp"

#include <opus.h>

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>
#include <utility>

namespace pttcam::codec {

void Encoder::Deleter::operator()(OpusEncoder* encoder) const noexcept { opus_encoder_destroy(encoder); }

Encoder::Encoder(std::unique_ptr<OpusEncoder, Deleter> encoder, const OpusSettings& settings, int lookahead)
    : encoder_(std::move(encoder)), settings_(settings), lookahead_(lookahead) {}

Encoder Encoder::create(const OpusSettings& settings) {
  if (const auto problem = settings.validate(); !problem.empty())
    throw std::runtime_error("invalid Opus settings: " + problem);

  const int application = settings.low_delay ? OPUS_APPLICATION_RESTRICTED_LOWDELAY : OPUS_APPLICATION_VOIP;
  int err = OPUS_OK;
  std::unique_ptr<OpusEncoder, Deleter> encoder(opus_encoder_create(kSampleRate, 1, application, &err));
  if (err != OPUS_OK || !encoder)
    throw std::runtime_error(std::string("cannot create Opus encoder: ") + opus_strerror(err));

  const auto check = [](int code, const char* what) {
    if (code != OPUS_OK)
      throw std::runtime_error(std::string("cannot set Opus ") + what + ": " + opus_strerror(code));
  };
  OpusEncoder* e = encoder.get();
  check(opus_encoder_ctl(e, OPUS_SET_BITRATE(settings.bitrate)), "bitrate");
  check(opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(settings.complexity)), "complexity");
  check(opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(settings.fec ? 1 : 0)), "in-band FEC");
  check(opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(settings.packet_loss_perc)), "packet loss");
  check(opus_encoder_ctl(e, OPUS_SET_DTX(settings.dtx ? 1 : 0)), "DTX");
  check(opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)), "signal type");
  opus_int32 lookahead = 0;
  check(opus_encoder_ctl(e, OPUS_GET_LOOKAHEAD(&lookahead)), "lookahead query");
  return Encoder(std::move(encoder), settings, static_cast<int>(lookahead));
}

std::optional<std::size_t> Encoder::encode(std::span<const float> pcm, std::span<std::byte> out) noexcept {
  if (pcm.size() > static_cast<std::size_t>(kMaxFrameSamples) || out.empty()) return std::nullopt;
  const auto capacity = static_cast<opus_int32>(std::min<std::size_t>(out.size(), INT_MAX));
  const int written = opus_encode_float(encoder_.get(), pcm.data(), static_cast<int>(pcm.size()),
                                        reinterpret_cast<unsigned char*>(out.data()), capacity);
  if (written < 0) return std::nullopt;
  return static_cast<std::size_t>(written);
}

}  // namespace pttcam::codec
