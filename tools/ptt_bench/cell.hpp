#pragma once
#include <string>
#include <vector>

namespace pttcam::bench {

struct CellArgs {
  std::string out, name, link, mic, codec = "voice", mode;
  int frame_ms = 20;
  std::string ours;                   // pttcam's Result (analyze --out)
  std::vector<std::string> variants;  // each GStreamer receiver's Result (analyze --variant), in run order
};

// Writes one Cell (results_format.hpp): the settings, pttcam's Result and the reference's Results
// (null without a reference of its own).
void write_cell(const CellArgs& args);

}  // namespace pttcam::bench
