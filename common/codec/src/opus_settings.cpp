#include "pttcam/codec/opus_settings.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace pttcam::codec {
namespace {

constexpr std::array kFrameSizesMs{2.5, 5.0, 10.0, 20.0, 40.0, 60.0};
constexpr int kMinBitrate = 6000;
constexpr int kMaxBitrate = 510000;

// Shortest text that reads back as the same double: "2.5", "20", "24.5".
std::string number(double value) {
  std::array<char, 32> buf{};
  const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  return {buf.data(), result.ptr};
}

std::string outside(const std::string& what, int lo, int hi) {
  return what + " is outside " + std::to_string(lo) + ".." + std::to_string(hi);
}

}  // namespace

int OpusSettings::samples_per_frame() const noexcept {
  return static_cast<int>(std::lround(frame_ms * kSampleRate / 1000.0));
}

std::string OpusSettings::validate() const {
  bool known_frame = false;
  for (const double ms : kFrameSizesMs) known_frame = known_frame || frame_ms == ms;
  if (!known_frame) {
    std::string allowed;
    for (const double ms : kFrameSizesMs) allowed += (allowed.empty() ? "" : ", ") + number(ms);
    return "frame size " + number(frame_ms) + " ms is not one of " + allowed;
  }
  if (bitrate < kMinBitrate || bitrate > kMaxBitrate)
    return outside("bitrate " + std::to_string(bitrate) + " bit/s", kMinBitrate, kMaxBitrate);
  if (complexity < 0 || complexity > 10) return outside("complexity " + std::to_string(complexity), 0, 10);
  if (packet_loss_perc < 0 || packet_loss_perc > 100)
    return outside("packet loss " + std::to_string(packet_loss_perc) + "%", 0, 100);
  if (redundancy < 0 || redundancy > kMaxRedundancy)
    return outside("redundancy " + std::to_string(redundancy), 0, kMaxRedundancy);
  if (auto why = check_payload_type(payload_type); !why.empty()) return why;
  if (auto why = check_payload_type(red_payload_type); !why.empty()) return "RED " + why;
  if (redundancy > 0 && payload_type == red_payload_type)
    return "payload type " + std::to_string(payload_type) + " cannot be both Opus and RED";
  return {};
}

std::string OpusSettings::check_payload_type(int pt) {
  if (pt < 0 || pt > 127) return outside("payload type " + std::to_string(pt), 0, 127);
  if (pt >= 64 && pt <= 95)
    return "payload type " + std::to_string(pt) + " is in 64..95, which RTCP uses on a shared port (RFC 5761)";
  return {};
}

std::string describe(const OpusSettings& s) {
  return "Opus " + number(s.frame_ms) + " ms, " + number(s.bitrate / 1000.0) + " kbit/s, complexity " +
         std::to_string(s.complexity) + ", FEC " +
         (s.fec ? "on (" + std::to_string(s.packet_loss_perc) + "% loss)" : std::string("off")) + ", DTX " +
         (s.dtx ? "on" : "off") + ", " + (s.low_delay ? "low delay" : "VOIP") + ", redundancy " +
         (s.redundancy > 0 ? std::to_string(s.redundancy) + " (RFC 2198)" : std::string("off"));
}

}  // namespace pttcam::codec
