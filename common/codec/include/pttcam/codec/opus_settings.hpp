#pragma once
#include <cstddef>
#include <string>

namespace pttcam::codec {

// pttcam always runs Opus mono at 48 kHz, so sample counts below are 48 kHz samples.
inline constexpr int kSampleRate = 48000;
// 120 ms, the longest packet Opus can produce or decode.
inline constexpr int kMaxFrameSamples = 5760;
// Longest single Opus frame (RFC 6716 3.4). A 40/60 ms packet written into a buffer of this size
// is capped at about 250/170 kbit/s, well above anything a voice link uses.
inline constexpr std::size_t kMaxPacketBytes = 1275;

struct OpusSettings {
  double frame_ms = 20;
  int bitrate = 24000;  // bit/s
  int complexity = 10;
  bool fec = true;  // in-band FEC (SILK LBRR); has no effect when low_delay forces CELT
  int packet_loss_perc = 10;
  bool dtx = false;
  bool low_delay = false;  // RESTRICTED_LOWDELAY: CELT only, 2.5 ms less delay, no FEC
  // Copies of the previous frames of the burst in each packet (RFC 2198, payload type 63): a
  // lost packet is played from the next one at full quality, also where in-band FEC has nothing
  // (frames Opus judges inactive, CELT). 0 sends plain Opus (payload type 111).
  int redundancy = 2;
  static constexpr int kMaxRedundancy = 2;
  // RTP payload types (RFC 3551 dynamic numbers): plain Opus, and RFC 2198 redundancy around it.
  // Settable because a standard peer's SDP may have chosen others (ffmpeg 97, GStreamer 96).
  int payload_type = 111;
  int red_payload_type = 63;

  // A payload type pttcam may send or expect: 0-127, but not 64-95, which collide with RTCP
  // packet types when RTP and RTCP share a port (RFC 5761 section 4). "" when usable.
  static std::string check_payload_type(int payload_type);

  int samples_per_frame() const noexcept;
  // "" when usable, else a one-line message naming the first bad field and its allowed values.
  std::string validate() const;
};

// One line for logs and --help output, e.g.
// "Opus 20 ms, 24 kbit/s, complexity 10, FEC on (10% loss), DTX off, VOIP".
std::string describe(const OpusSettings& settings);

}  // namespace pttcam::codec
