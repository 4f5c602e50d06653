// tshark, which nobody here wrote, decodes the RTCP compounds write_rtcp() produces: written into
// a pcap as UDP datagrams on one port with an RTP packet (RFC 5761 multiplexing, decoded as RTP:
// Wireshark hands payload types 200..204 to its RTCP dissector), every field reads back as we
// wrote it, and no frame is malformed or carries a warning.
#include <doctest/doctest.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "process.hpp"
#include "pttcam/rtp/packet.hpp"
#include "pttcam/rtp/rtcp.hpp"

using namespace pttcam::test;
using namespace pttcam::rtp;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTshark = "/usr/bin/tshark";
constexpr std::uint16_t kPort = 5004;  // only a number in a file: nothing is bound

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

template <typename T>
void put_le(std::ofstream& out, T v) {
  for (std::size_t i = 0; i < sizeof v; ++i) out.put(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
}

// A classic pcap of raw IPv4 packets (LINKTYPE_RAW), each a UDP datagram 127.0.0.1:kPort+2 -> :kPort.
class PcapWriter {
 public:
  explicit PcapWriter(const fs::path& path) : out_(path, std::ios::binary) {
    put_le<std::uint32_t>(out_, 0xa1b2c3d4);
    put_le<std::uint16_t>(out_, 2);
    put_le<std::uint16_t>(out_, 4);
    put_le<std::int32_t>(out_, 0);
    put_le<std::uint32_t>(out_, 0);
    put_le<std::uint32_t>(out_, 65535);
    put_le<std::uint32_t>(out_, 101);
  }

  void udp(std::span<const std::byte> payload) {
    std::vector<std::uint8_t> ip{0x45, 0x00};
    put16(ip, static_cast<std::uint16_t>(20 + 8 + payload.size()));
    put16(ip, id_++);
    ip.insert(ip.end(), {0x40, 0x00, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1});
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = static_cast<std::uint8_t>(~sum >> 8);
    ip[11] = static_cast<std::uint8_t>(~sum);
    put16(ip, kPort + 2);
    put16(ip, kPort);
    put16(ip, static_cast<std::uint16_t>(8 + payload.size()));
    put16(ip, 0);  // no UDP checksum (allowed over IPv4)
    for (auto b : payload) ip.push_back(std::to_integer<std::uint8_t>(b));
    put_le<std::uint32_t>(out_, 1'700'000'000 + frames_);
    put_le<std::uint32_t>(out_, 0);
    put_le<std::uint32_t>(out_, static_cast<std::uint32_t>(ip.size()));
    put_le<std::uint32_t>(out_, static_cast<std::uint32_t>(ip.size()));
    out_.write(reinterpret_cast<const char*>(ip.data()), static_cast<std::streamsize>(ip.size()));
    ++frames_;
  }

 private:
  std::ofstream out_;
  std::uint16_t id_ = 1;
  std::uint32_t frames_ = 0;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

}  // namespace

TEST_CASE("tshark decodes pttcam's RTCP without complaint") {
  const auto dir = scratch_dir("rtcp_tshark");
  const auto pcap = dir / "rtcp.pcap";
  const std::string cname(255, 'n');
  const std::string reason(255, 'r');
  {
    PcapWriter writer(pcap);
    RtpWriter rtp;
    const std::array<std::byte, 3> opus{std::byte{0xfc}, std::byte{0xff}, std::byte{0xfe}};
    writer.udp(rtp.write(RtpHeader{false, 111, 0xfffe, 960, 0x11223344}, RtpExtras{}, opus));

    std::array<std::byte, kRtcpMaxCompound> buf{};
    const auto add = [&](const RtcpReportSpec& spec) {
      const auto n = write_rtcp(spec, buf);
      REQUIRE(n > 0);
      writer.udp(std::span(buf.data(), n));
    };
    // Frame 2: the client's SR + SDES, one block about the camera.
    const ReportBlock from_client{0xcafe0001, 51, 1, 0x00010002, 12, 0x12345678, 32768};
    add({0x11223344, SenderInfo{ntp_from_unix_us(1'700'000'000'500'000), 960 * 50, 50, 50 * 80},
         std::span(&from_client, 1), "pttcam-client@127.0.0.1", false, {}});
    // Frame 3: the camera's RR with two blocks (one with negative cumulative loss) + SDES.
    const std::array<ReportBlock, 2> two{ReportBlock{0x11223344, 0, -2, 0x0001fffe, 240, 0, 0},
                                         ReportBlock{0x55667788, 255, 0x7fffff, 7, 0, 0xffff0000, 65536}};
    add({0xcafe0001, std::nullopt, two, "pttcam-camera@127.0.0.1", false, {}});
    // Frame 4: RR without blocks, a one-letter CNAME, BYE with a reason.
    add({0xcafe0001, std::nullopt, {}, "c", true, "stream ended"});
    // Frame 5: the largest: SR with 31 blocks, a 255-byte CNAME and reason.
    std::array<ReportBlock, kRtcpMaxCount> many{};
    for (std::size_t i = 0; i < many.size(); ++i) many[i].ssrc = static_cast<std::uint32_t>(i + 1);
    add({0x11223344, SenderInfo{1, 2, 3, 4}, many, cname, true, reason});
  }

  Process tshark({kTshark, "-n", "-r", pcap.string(), "-d", "udp.port==" + std::to_string(kPort) + ",rtp", "-T",
                  "fields", "-E", "separator=|", "-E", "aggregator=,", "-e", "frame.number", "-e",
                  "_ws.col.Protocol", "-e", "rtcp.pt", "-e", "rtcp.senderssrc", "-e", "rtcp.sender.packetcount",
                  "-e", "rtcp.ssrc.identifier", "-e", "rtcp.ssrc.fraction", "-e", "rtcp.ssrc.cum_nr", "-e",
                  "rtcp.ssrc.ext_high", "-e", "rtcp.ssrc.jitter", "-e", "rtcp.ssrc.lsr", "-e", "rtcp.ssrc.dlsr",
                  "-e", "rtcp.sdes.text", "-e", "_ws.malformed", "-e", "_ws.expert.severity"},
                 dir / "fields.log");
  REQUIRE(tshark.wait(120s) == 0);
  Process verbose({kTshark, "-n", "-r", pcap.string(), "-d", "udp.port==" + std::to_string(kPort) + ",rtp", "-V"},
                  dir / "verbose.log");
  REQUIRE(verbose.wait(120s) == 0);
  const auto detail = verbose.output();
  INFO("tshark fields:\n" << tshark.output());

  std::map<int, std::vector<std::string>> frames;
  for (const auto& line : split(tshark.output(), '\n')) {
    const auto f = split(line, '|');
    if (f.size() == 15 && !f[0].empty() && std::isdigit(static_cast<unsigned char>(f[0][0])))
      frames[std::stoi(f[0])] = f;
  }
  REQUIRE(frames.size() == 5);
  CHECK(frames[1][1] == "RTP");
  for (int n = 2; n <= 5; ++n) {
    CAPTURE(n);
    CHECK(frames[n][1] == "RTCP");
    CHECK(frames[n][13].empty());  // _ws.malformed
    // Expert severities, if any, are only chats/notes (tshark's own remarks), never warnings or errors.
    for (const auto& severity : split(frames[n][14], ','))
      CHECK_MESSAGE((severity.empty() || std::stoul(severity, nullptr, 0) < 0x00600000), severity);
  }
  CHECK(frames[2][2] == "200,202");
  CHECK(frames[2][3] == "0x11223344");
  CHECK(frames[2][4] == "50");
  CHECK(frames[2][5] == "0xcafe0001,0x11223344");  // the block's source, then the SDES chunk's
  CHECK(frames[2][6] == "51");
  CHECK(frames[2][7] == "1");
  CHECK(frames[2][8] == "65538");
  CHECK(frames[2][9] == "12");
  CHECK(frames[2][10] == "305419896");  // 0x12345678
  CHECK(frames[2][11] == "32768");
  CHECK(frames[2][12] == "pttcam-client@127.0.0.1");
  CHECK(frames[3][2] == "201,202");
  CHECK(frames[3][5] == "0x11223344,0x55667788,0xcafe0001");
  CHECK(frames[3][6] == "0,255");
  CHECK(frames[3][7] == "-2,8388607");
  CHECK(frames[3][12] == "pttcam-camera@127.0.0.1");
  CHECK(frames[4][2] == "201,202,203");
  CHECK(frames[4][12] == "c,stream ended");  // tshark shows the BYE reason as SDES text
  CHECK(frames[5][2] == "200,202,203");
  CHECK(split(frames[5][5], ',').size() == kRtcpMaxCount + 2);  // + SDES chunk and BYE source
  CHECK(frames[5][12] == cname + "," + reason);
  CHECK(detail.find("Malformed") == std::string::npos);
  CHECK(detail.find("stream ended") != std::string::npos);
}
