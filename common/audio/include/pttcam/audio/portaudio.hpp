#pragma once
// Real sound devices through PortAudio. On Linux that includes JACK, which is how the tests run
// real streams without a sound card (a JACK server with the dummy driver).
#include <portaudio.h>

#include <memory>
#include <string>
#include <vector>

#include "pttcam/audio/endpoint.hpp"

namespace pttcam::audio {

// Scoped Pa_Initialize/Pa_Terminate (PortAudio counts nested calls). Host API probing noise
// (ALSA's complaints about missing cards) is silenced unless PTTCAM_AUDIO_DEBUG is set.
class PortAudioLibrary {
 public:
  PortAudioLibrary();
  ~PortAudioLibrary();
  PortAudioLibrary(const PortAudioLibrary&) = delete;
  PortAudioLibrary& operator=(const PortAudioLibrary&) = delete;
  // Names the JACK client ("ptt-client", "camera-sim"); call before the first library instance.
  static void set_client_name(const std::string& name);
};

struct DeviceInfo {
  int index;
  std::string name;
  std::string host_api;
  int max_inputs;
  int max_outputs;
  double default_rate;
  bool default_input;
  bool default_output;
};

std::vector<DeviceInfo> list_devices();
// A printable table for --list-devices.
std::string format_device_list(const std::vector<DeviceInfo>& devices);

enum class Direction { input, output };
// Resolves "default", a device index, or a case-insensitive substring of a device name.
// Throws a one-line error naming the device and the fix.
int find_device(const std::string& selector, Direction direction);

struct PaStreamCloser {
  void operator()(PaStream* s) const noexcept;
};
using PaStreamPtr = std::unique_ptr<PaStream, PaStreamCloser>;

class DeviceCapture final : public Capture {
 public:
  explicit DeviceCapture(const std::string& selector);  // opens the stream; throws
  ~DeviceCapture() override { stop(); }
  void start() override;  // opens the stream again after release(); throws
  void stop() noexcept override;
  void release() noexcept override;  // closes the stream (on JACK its ports go away)
  std::string describe() const override;
  double input_latency() const noexcept override;

 private:
  static int callback(const void* in, void* out, unsigned long frames,
                      const PaStreamCallbackTimeInfo* time, PaStreamCallbackFlags flags,
                      void* self) noexcept;
  void open();
  PortAudioLibrary library_;
  int device_ = -1;
  std::string name_;
  double latency_ = 0;
  PaStreamPtr stream_;  // after everything the callback touches (the ring lives in the base)
};

class DevicePlayback final : public Playback {
 public:
  explicit DevicePlayback(const std::string& selector);
  ~DevicePlayback() override { stop(); }
  void start() override;
  void stop() noexcept override;
  std::string describe() const override;
  double output_latency() const noexcept override;
  std::size_t period_samples() const noexcept override;

 private:
  static int callback(const void* in, void* out, unsigned long frames,
                      const PaStreamCallbackTimeInfo* time, PaStreamCallbackFlags flags,
                      void* self) noexcept;
  PortAudioLibrary library_;
  std::string name_;
  double latency_ = 0;  // PortAudio's outputLatency: used until the first callback
  // Published by the callback, read by output_latency() on the io thread: how long after the
  // latest callback (clock()) its first sample is heard.
  std::atomic<std::int64_t> dac_delay_us_{0};
  PaStreamPtr stream_;
};

}  // namespace pttcam::audio
