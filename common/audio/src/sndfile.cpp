#include "pttcam/audio/sndfile.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "pttcam/audio/endpoint.hpp"

namespace pttcam::audio {

namespace {

// What is wrong with PATH as a WAV file, "" if it looks like one. Checked before libsndfile sees the
// file: given an MP3, libsndfile hands it to mpg123, which prints its own lines on stderr, and its
// error for an unreadable file ("File does not exist ...") names the wrong cause.
std::string wav_problem(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::strerror(errno);
  std::array<char, 12> head{};
  in.read(head.data(), head.size());
  const std::string_view h(head.data(), static_cast<std::size_t>(in.gcount()));
  const auto riff = h.substr(0, 4);
  const bool wav = h.size() == 12 && (riff == "RIFF" || riff == "RIFX" || riff == "RF64" || riff == "BW64") &&
                   h.substr(8, 4) == "WAVE";
  if (wav) return {};
  const bool mp3 = h.substr(0, 3) == "ID3" || (!h.empty() && h[0] == '\xff');
  return std::string("not a WAV file (") + (mp3 ? "it looks like an MP3" : "no RIFF/WAVE header") +
         "; convert: sox IN -r 48000 -c 1 OUT.wav)";
}

}  // namespace

std::vector<float> read_mono_48k(const std::filesystem::path& path) {
  if (const auto why = wav_problem(path); !why.empty())
    throw std::runtime_error("cannot read audio file '" + path.string() + "': " + why);
  SF_INFO info{};
  SndfilePtr file(sf_open(path.c_str(), SFM_READ, &info));
  if (!file)
    throw std::runtime_error("cannot read audio file '" + path.string() + "': a broken WAV file (libsndfile: " +
                             sf_strerror(nullptr) + ")");
  if (info.samplerate != kSampleRate)
    throw std::runtime_error("audio file '" + path.string() + "' is " + std::to_string(info.samplerate) +
                             " Hz; pttcam needs 48000 Hz (convert: sox IN -r 48000 -c 1 OUT.wav)");
  std::vector<float> interleaved(static_cast<std::size_t>(info.frames) * info.channels);
  const sf_count_t got = sf_readf_float(file.get(), interleaved.data(), info.frames);
  std::vector<float> mono(static_cast<std::size_t>(got));
  for (sf_count_t i = 0; i < got; ++i) {
    float sum = 0;
    for (int c = 0; c < info.channels; ++c) sum += interleaved[i * info.channels + c];
    mono[i] = sum / static_cast<float>(info.channels);
  }
  return mono;
}

SndfilePtr open_wav_writer(const std::filesystem::path& path) {
  SF_INFO info{};
  info.samplerate = kSampleRate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SndfilePtr file(sf_open(path.c_str(), SFM_WRITE, &info));
  if (!file)
    throw std::runtime_error("cannot write WAV file '" + path.string() + "': " + sf_strerror(nullptr));
  sf_command(file.get(), SFC_SET_UPDATE_HEADER_AUTO, nullptr, SF_TRUE);
  sf_command(file.get(), SFC_SET_CLIPPING, nullptr, SF_TRUE);
  return file;
}

void write_wav(const std::filesystem::path& path, std::span<const float> samples) {
  auto file = open_wav_writer(path);
  sf_command(file.get(), SFC_SET_UPDATE_HEADER_AUTO, nullptr, SF_FALSE);
  sf_writef_float(file.get(), samples.data(), static_cast<sf_count_t>(samples.size()));
}

}  // namespace pttcam::audio
