#pragma once
#include <sndfile.h>

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

namespace pttcam::audio {

struct SndfileCloser {
  void operator()(SNDFILE* f) const noexcept { sf_close(f); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

// Reads a whole WAV file as 48 kHz mono float (channels are mixed down). Throws a one-line
// error when the file cannot be opened or has another sample rate (with the sox line to fix it).
std::vector<float> read_mono_48k(const std::filesystem::path& path);

// Opens PATH for writing 48 kHz mono 16-bit WAV; the header is rewritten after every write so
// the file stays valid even if the process is killed.
SndfilePtr open_wav_writer(const std::filesystem::path& path);

// Writes a whole buffer as 48 kHz mono 16-bit WAV.
void write_wav(const std::filesystem::path& path, std::span<const float> samples);

}  // namespace pttcam::audio
