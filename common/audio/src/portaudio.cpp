#include "pttcam/audio/portaudio.hpp"

#include <fcntl.h>
#include <pa_jack.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace pttcam::audio {
namespace {

std::string g_client_name = "pttcam";

// Runs `f` with stderr pointed at /dev/null: host API probing prints pages of ALSA noise on a
// machine without a sound card, which would bury the one line that matters.
template <typename F>
auto quietly(F&& f) {
  if (std::getenv("PTTCAM_AUDIO_DEBUG")) return f();
  const int saved = dup(STDERR_FILENO);
  const int null = open("/dev/null", O_WRONLY);
  if (saved >= 0 && null >= 0) dup2(null, STDERR_FILENO);
  auto result = f();
  if (saved >= 0) {
    dup2(saved, STDERR_FILENO);
    close(saved);
  }
  if (null >= 0) close(null);
  return result;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

void check(PaError err, const std::string& what) {
  if (err != paNoError) throw std::runtime_error(what + ": " + Pa_GetErrorText(err));
}

std::string device_name(int index) {
  const PaDeviceInfo* info = Pa_GetDeviceInfo(index);
  return info ? std::string(info->name) + " [" + Pa_GetHostApiInfo(info->hostApi)->name + "]" : "?";
}

}  // namespace

PortAudioLibrary::PortAudioLibrary() {
  const PaError err = quietly([] {
    PaJack_SetClientName(g_client_name.c_str());
    return Pa_Initialize();
  });
  check(err, "cannot initialise PortAudio");
}

PortAudioLibrary::~PortAudioLibrary() { Pa_Terminate(); }

void PortAudioLibrary::set_client_name(const std::string& name) { g_client_name = name; }

void PaStreamCloser::operator()(PaStream* s) const noexcept { Pa_CloseStream(s); }

std::vector<DeviceInfo> list_devices() {
  PortAudioLibrary library;
  std::vector<DeviceInfo> out;
  const int count = Pa_GetDeviceCount();
  for (int i = 0; i < count; ++i) {
    const PaDeviceInfo* d = Pa_GetDeviceInfo(i);
    out.push_back({i, d->name, Pa_GetHostApiInfo(d->hostApi)->name, d->maxInputChannels,
                   d->maxOutputChannels, d->defaultSampleRate, i == Pa_GetDefaultInputDevice(),
                   i == Pa_GetDefaultOutputDevice()});
  }
  return out;
}

std::string format_device_list(const std::vector<DeviceInfo>& devices) {
  std::ostringstream os;
  if (devices.empty()) os << "no audio devices found (no sound card, and no JACK server running)\n";
  for (const auto& d : devices) {
    os << (d.default_input ? '>' : ' ') << (d.default_output ? '<' : ' ') << ' ' << d.index << ": "
       << d.name << " [" << d.host_api << "] in=" << d.max_inputs << " out=" << d.max_outputs
       << " rate=" << d.default_rate << '\n';
  }
  if (!devices.empty()) os << "(> default capture, < default playback)\n";
  return os.str();
}

int find_device(const std::string& selector, Direction direction) {
  const bool input = direction == Direction::input;
  const char* kind = input ? "capture" : "playback";
  const auto usable = [&](int i) {
    const PaDeviceInfo* d = Pa_GetDeviceInfo(i);
    return d && (input ? d->maxInputChannels : d->maxOutputChannels) > 0;
  };
  if (selector.empty() || selector == "default") {
    const int i = input ? Pa_GetDefaultInputDevice() : Pa_GetDefaultOutputDevice();
    if (i == paNoDevice || !usable(i))
      throw std::runtime_error(std::string("no default ") + kind +
                               " device: connect one, start a JACK server, or choose another with --list-devices");
    return i;
  }
  int index = -1;
  const auto [end, ec] = std::from_chars(selector.data(), selector.data() + selector.size(), index);
  if (ec == std::errc{} && end == selector.data() + selector.size()) {
    if (index < 0 || index >= Pa_GetDeviceCount() || !usable(index))
      throw std::runtime_error(std::string("no ") + kind + " device with index " + selector +
                               ": see --list-devices");
    return index;
  }
  for (int i = 0; i < Pa_GetDeviceCount(); ++i)
    if (usable(i) && lower(Pa_GetDeviceInfo(i)->name).find(lower(selector)) != std::string::npos) return i;
  throw std::runtime_error(std::string("no ") + kind + " device matches '" + selector +
                           "': see --list-devices");
}

namespace {
PaStreamParameters mono_params(int device, bool input) {
  const PaDeviceInfo* info = Pa_GetDeviceInfo(device);
  PaStreamParameters p{};
  p.device = device;
  p.channelCount = 1;
  p.sampleFormat = paFloat32;
  p.suggestedLatency = input ? info->defaultLowInputLatency : info->defaultLowOutputLatency;
  return p;
}
}  // namespace

DeviceCapture::DeviceCapture(const std::string& selector) : device_(find_device(selector, Direction::input)) {
  name_ = device_name(device_);
  open();
}

void DeviceCapture::open() {
  const PaStreamParameters params = mono_params(device_, true);
  PaStream* raw = nullptr;
  const PaError err = quietly([&] {
    return Pa_OpenStream(&raw, &params, nullptr, kSampleRate, paFramesPerBufferUnspecified, paNoFlag,
                         &DeviceCapture::callback, this);
  });
  if (err != paNoError)
    throw std::runtime_error("cannot open capture device " + name_ + ": " + Pa_GetErrorText(err) +
                             " (is it in use, or is microphone access denied?)");
  stream_.reset(raw);
  latency_ = Pa_GetStreamInfo(raw)->inputLatency;
}

int DeviceCapture::callback(const void* in, void*, unsigned long frames, const PaStreamCallbackTimeInfo*,
                            PaStreamCallbackFlags flags, void* self) noexcept {
  // RT-safe: wait-free, no alloc
  auto* me = static_cast<DeviceCapture*>(self);
  if (flags & (paInputOverflow | paInputUnderflow))
    me->counters_.device_flags.fetch_add(1, std::memory_order_relaxed);
  me->on_input(static_cast<const float*>(in), frames);
  return paContinue;
}

void DeviceCapture::start() {
  if (!stream_) open();
  check(Pa_StartStream(stream_.get()), "cannot start capture on " + name_);
}
void DeviceCapture::stop() noexcept {
  if (stream_ && Pa_IsStreamActive(stream_.get()) == 1) Pa_StopStream(stream_.get());
}
void DeviceCapture::release() noexcept {
  stop();
  stream_.reset();
}
std::string DeviceCapture::describe() const { return "device:" + name_; }
double DeviceCapture::input_latency() const noexcept { return latency_; }

DevicePlayback::DevicePlayback(const std::string& selector) {
  const int device = find_device(selector, Direction::output);
  name_ = device_name(device);
  const PaStreamParameters params = mono_params(device, false);
  PaStream* raw = nullptr;
  const PaError err = quietly([&] {
    return Pa_OpenStream(&raw, nullptr, &params, kSampleRate, paFramesPerBufferUnspecified, paNoFlag,
                         &DevicePlayback::callback, this);
  });
  if (err != paNoError)
    throw std::runtime_error("cannot open playback device " + name_ + ": " + Pa_GetErrorText(err));
  stream_.reset(raw);
  latency_ = Pa_GetStreamInfo(raw)->outputLatency;
}

int DevicePlayback::callback(const void*, void* out, unsigned long frames, const PaStreamCallbackTimeInfo* time,
                             PaStreamCallbackFlags flags, void* self) noexcept {
  // RT-safe: wait-free, no alloc
  auto* me = static_cast<DevicePlayback*>(self);
  if (time && time->outputBufferDacTime > 0)
    me->dac_delay_us_.store(std::llround((time->outputBufferDacTime - time->currentTime) * 1e6), std::memory_order_relaxed);
  if (flags & (paOutputUnderflow | paOutputOverflow))
    me->counters_.device_flags.fetch_add(1, std::memory_order_relaxed);
  me->on_output(static_cast<float*>(out), frames);
  return paContinue;
}

void DevicePlayback::start() { check(Pa_StartStream(stream_.get()), "cannot start playback on " + name_); }
void DevicePlayback::stop() noexcept {
  if (stream_ && Pa_IsStreamActive(stream_.get()) == 1) Pa_StopStream(stream_.get());
}
std::string DevicePlayback::describe() const { return "device:" + name_; }
// The next callback takes the ring's first sample and hands it to the device, which plays it
// dac_delay later: measured from the latest callback rather than taken from the stream's nominal
// latency, so where the io thread happens to run within a device period no longer counts.
double DevicePlayback::output_latency() const noexcept {
  const std::int64_t next = clock_.after_us(1);
  if (next == 0) return latency_;
  const std::int64_t until_next = std::max<std::int64_t>(0, next - timing::monotonic_us());
  return static_cast<double>(until_next + dac_delay_us_.load(std::memory_order_relaxed)) / 1e6;
}
// Before the first callback: 256, more than any low-latency device period, so the first refill
// errs towards a full queue.
std::size_t DevicePlayback::period_samples() const noexcept {
  const std::size_t period = clock_.samples();
  return period ? period : 256;
}

}  // namespace pttcam::audio
