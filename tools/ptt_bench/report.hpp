#pragma once
#include <string>

namespace pttcam::bench {

// Reads DIR/cells.txt (cell names in matrix order), each DIR/cells/NAME/cell.json and DIR/idle/idle.json
// (if there), picks each cell's tuned reference, and writes DIR/results.json, DIR/results.md and
// the gnuplot scripts and data for DIR/plots/*.svg (run by tools/ptt-bench). Throws on missing input.
void write_report(const std::string& dir, const std::string& matrix);

}  // namespace pttcam::bench
