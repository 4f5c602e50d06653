#pragma once
// --sdp-out and --sdp for both programs: the SDP (RFC 8866) of the stream a program sends or
// expects, written for standard tools, and one written by a standard tool, read to configure
// payload types and addresses. At setup only (allocates, throws).
#include <filesystem>
#include <optional>
#include <string>

#include "pttcam/codec/opus_settings.hpp"
#include "pttcam/net/asio.hpp"
#include "pttcam/sdp/description.hpp"

namespace pttcam::app {

// The description of a pttcam Opus stream at `to` (the receiver's address and port). An
// unspecified address (0.0.0.0, ::) is written as loopback: a tool needs an address to use.
// With redundancy, RED is described too; its copies are the frames before the primary.
sdp::Description stream_description(const codec::OpusSettings& opus, const boost::asio::ip::udp::endpoint& to,
                                    sdp::Direction direction);

// Writes it to `path`; throws std::runtime_error naming `option` when it cannot.
void write_sdp_file(const std::string& option, const std::filesystem::path& path, const sdp::Description& d);

// Reads and parses `path`; throws std::runtime_error naming `option`, the file and the bad line.
sdp::Description read_sdp_file(const std::string& option, const std::filesystem::path& path);

// The address and port an SDP gives for its stream.
boost::asio::ip::udp::endpoint endpoint_of(const sdp::Description& d);

// Payload types from an SDP into the Opus settings (RED's too, when the SDP has RED); true when
// it had RED.
bool apply_payload_types(const sdp::Description& d, codec::OpusSettings& opus);

}  // namespace pttcam::app
