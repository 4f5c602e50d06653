#pragma once
// ptt-client --pair and --unpair (docs/security.md, "Pairing"): each runs alone, prints one line
// and returns the program's exit code (0 done, 1 refused or failed).
#include <filesystem>
#include <optional>
#include <string>

#include "pttcam/net/address.hpp"

namespace pttcam::client {

// Pairs with the camera at `camera` (its control port; pairing is TCP on the same number) using the
// label's `code`, and keeps the key in `<config_dir>/cameras/<camera-id>`.
int pair_camera(const net::Udp::endpoint& camera, const std::string& code, const std::filesystem::path& config_dir);

// Deletes the pairing with `camera_id`, or every pairing made at `camera`'s address.
int unpair_camera(const std::optional<std::string>& camera_id, const std::optional<net::Udp::endpoint>& camera,
                  const std::filesystem::path& config_dir);

}  // namespace pttcam::client
