#include "pttcam/app/sdp_files.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pttcam::app {

sdp::Description stream_description(const codec::OpusSettings& opus, const boost::asio::ip::udp::endpoint& to,
                                    sdp::Direction direction) {
  sdp::PttcamStream s;
  auto address = to.address();
  if (address.is_unspecified())
    address = address.is_v6() ? boost::asio::ip::address(boost::asio::ip::address_v6::loopback())
                              : boost::asio::ip::address(boost::asio::ip::address_v4::loopback());
  s.family = address.is_v6() ? sdp::AddressFamily::ip6 : sdp::AddressFamily::ip4;
  s.address = address.to_string();
  s.port = to.port();
  s.opus_payload_type = static_cast<std::uint8_t>(opus.payload_type);
  if (opus.redundancy > 0) {
    s.red_payload_type = static_cast<std::uint8_t>(opus.red_payload_type);
    s.red_copies = static_cast<std::uint8_t>(opus.redundancy);
  }
  s.ptime_ms = opus.frame_ms;
  s.max_average_bitrate = static_cast<std::uint32_t>(opus.bitrate);
  s.dtx = opus.dtx;
  s.direction = direction;
  // RFC 8866 5.2 suggests an NTP timestamp for the session id: seconds since 1900.
  const auto unix_s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  s.session_id = static_cast<std::uint64_t>(unix_s.count()) + 2'208'988'800ull;
  return sdp::describe(s);
}

void write_sdp_file(const std::string& option, const std::filesystem::path& path, const sdp::Description& d) {
  const std::string text = sdp::write_sdp(d);
  // Written whole under another name, then renamed: a tool waiting for the file never reads half.
  const auto tmp = std::filesystem::path(path.string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error(option + ": cannot write '" + path.string() + "'");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw std::runtime_error(option + ": cannot write '" + path.string() + "': " + ec.message());
}

sdp::Description read_sdp_file(const std::string& option, const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(option + ": cannot read '" + path.string() + "'");
  std::string text(sdp::kMaxSdpBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > sdp::kMaxSdpBytes)
    throw std::runtime_error(option + ": '" + path.string() + "' is larger than an SDP can be");
  const auto parsed = sdp::parse_sdp(text);
  if (!parsed) throw std::runtime_error(option + ": '" + path.string() + "': " + parsed.error.message());
  return *parsed.description;
}

boost::asio::ip::udp::endpoint endpoint_of(const sdp::Description& d) {
  return {boost::asio::ip::make_address(d.address), d.port};
}

bool apply_payload_types(const sdp::Description& d, codec::OpusSettings& opus) {
  opus.payload_type = d.opus.payload_type;
  if (!d.red) return false;
  opus.red_payload_type = d.red->payload_type;
  return true;
}

}  // namespace pttcam::app
