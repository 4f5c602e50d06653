// parse_rtcp() reads the RTCP that standard senders really send, live on loopback: ffmpeg's RTP
// muxer and GStreamer's rtpbin each send an Opus stream, and their RTCP (to the RTP port + 1) is
// received here and parsed. The test owns both ports, so nothing can take them in between.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <vector>

#include "process.hpp"
#include "pttcam/rtp/rtcp.hpp"

using namespace pttcam::test;
using namespace pttcam::rtp;
using namespace std::chrono_literals;

namespace {

class UdpSocket {
 public:
  // Binds 127.0.0.1:port (0: any free port); fd() < 0 if that failed.
  explicit UdpSocket(unsigned short port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~UdpSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  int fd() const { return fd_; }
  unsigned short port() const {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }
  // The next datagram, or nothing after `timeout`.
  std::optional<std::vector<std::byte>> receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    std::array<std::byte, 2048> buf{};
    const auto n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    return std::vector<std::byte>(buf.begin(), buf.begin() + n);
  }

 private:
  int fd_;
};

// RTP on an even port we hold, RTCP on the next one, also held.
struct PortPair {
  std::optional<UdpSocket> rtp, rtcp;
};
void bind_pair(PortPair& pair) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    pair.rtp.emplace(0);
    const auto port = pair.rtp->port();
    if (pair.rtp->fd() < 0 || port % 2 != 0 || port == 65534) continue;
    pair.rtcp.emplace(static_cast<unsigned short>(port + 1));
    if (pair.rtcp->fd() >= 0) return;
  }
  FAIL("no free UDP port pair");
}

struct Seen {
  int datagrams = 0;
  int sender_reports = 0;
  int cnames = 0;
  int byes = 0;
};

// Parses every RTCP datagram until the sender exits and nothing more arrives.
Seen collect(UdpSocket& rtcp, Process& sender) {
  Seen seen;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto d = rtcp.receive(sender.running() ? 500ms : 1500ms);
    if (!d) {
      if (!sender.running()) break;
      continue;
    }
    ++seen.datagrams;
    CHECK(is_rtcp(*d));
    const auto r = parse_rtcp(*d);
    REQUIRE_MESSAGE(r, "datagram " << seen.datagrams << ": " << to_string(r.error));
    for (const auto& report : r.compound->all_reports()) seen.sender_reports += report.sender.has_value();
    seen.cnames += static_cast<int>(r.compound->cname_count);
    seen.byes += r.compound->bye.has_value();
    if (r.compound->bye) break;  // the sender said goodbye: nothing more is due
  }
  return seen;
}

}  // namespace

TEST_CASE("parse_rtcp reads the RTCP ffmpeg and GStreamer send") {
  PortPair ports;
  bind_pair(ports);
  const auto port = std::to_string(ports.rtp->port());

  SUBCASE("ffmpeg -f rtp: sender reports") {
    const auto dir = scratch_dir("rtcp_from_ffmpeg");
    Process ffmpeg({"/usr/bin/ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning", "-re", "-f", "lavfi", "-i",
                    "sine", "-t", "2", "-c:a", "libopus", "-f", "rtp", "rtp://127.0.0.1:" + port},
                   dir / "ffmpeg.log");
    const auto seen = collect(*ports.rtcp, ffmpeg);
    INFO("ffmpeg: " << ffmpeg.output());
    CHECK(ffmpeg.wait(30s) == 0);
    MESSAGE("ffmpeg: " << seen.datagrams << " RTCP datagrams, " << seen.sender_reports << " SR, " << seen.cnames
                       << " CNAME, " << seen.byes << " BYE");
    CHECK(seen.sender_reports >= 1);  // ffmpeg 5.1 sends a bare SR, without SDES
  }
  SUBCASE("GStreamer rtpbin: SR + SDES, BYE at the end") {
    const auto dir = scratch_dir("rtcp_from_gst");
    Process gst({"/usr/bin/gst-launch-1.0", "-q", "rtpbin", "name=b", "audiotestsrc", "is-live=true",
                 "samplesperbuffer=960", "num-buffers=300", "!", "opusenc", "!", "rtpopuspay", "!", "b.send_rtp_sink_0",
                 "b.send_rtp_src_0", "!", "udpsink", "host=127.0.0.1", "port=" + port, "b.send_rtcp_src_0", "!",
                 "udpsink", "host=127.0.0.1", "port=" + std::to_string(ports.rtcp->port()), "sync=false",
                 "async=false"},
                dir / "gst.log");
    const auto seen = collect(*ports.rtcp, gst);
    INFO("gst: " << gst.output());
    // gst-launch sometimes stays up after rtpbin's BYE at end of stream (seen on a loaded machine):
    // what is checked here is what it sent, so it is stopped if it lingers.
    if (!gst.wait(5s)) {
      gst.signal(SIGTERM);
      CHECK(gst.wait(10s).has_value());
    }
    MESSAGE("GStreamer: " << seen.datagrams << " RTCP datagrams, " << seen.sender_reports << " SR, " << seen.cnames
                          << " CNAME, " << seen.byes << " BYE");
    CHECK(seen.sender_reports >= 1);
    CHECK(seen.cnames == seen.datagrams);  // every compound carries the CNAME
    CHECK(seen.byes == 1);
  }
}
