#pragma once
// The pairing code on the camera's label.
#include <cstddef>
#include <string>
#include <string_view>

namespace pttcam::pairing {

// `digits` decimal digits, each uniform, from the operating system's CSPRNG.
std::string random_code(std::size_t digits = 8);

// Empty when `code` can be a pairing code (6 to 64 letters, digits or '-'), else why not (one line).
std::string check_code(std::string_view code);

}  // namespace pttcam::pairing
