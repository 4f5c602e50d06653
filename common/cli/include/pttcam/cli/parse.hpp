#pragma once
#include <CLI/CLI.hpp>

#include <optional>

namespace pttcam::cli {

// Parses the command line the way every pttcam program does: --help prints and exits 0; a bad
// argument is one line on stderr, "PROGRAM: what is wrong (see --help)", and exit code 2.
// Returns the exit code when the program should stop now, nothing when it should go on.
std::optional<int> parse(CLI::App& app, int argc, char** argv, const char* program);

}  // namespace pttcam::cli
