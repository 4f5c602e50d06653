#include <doctest/doctest.h>

#include "bytes.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pttcam/rtp/rtcp.hpp"

using namespace pttcam::rtp;
using pttcam::test::Bytes;
using pttcam::test::bytes;

namespace {

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// SR from 0x11223344 with one block about 0x55667788, then SDES CNAME "ab@c".
const Bytes kSrSdes = bytes({
    0x81, 0xc8, 0x00, 0x0c, 0x11, 0x22, 0x33, 0x44,              // SR, RC=1, 13 words
    0xe0, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,              // NTP
    0x00, 0xab, 0xcd, 0xef, 0x00, 0x00, 0x00, 0x32,              // RTP ts, packets 50
    0x00, 0x00, 0x0f, 0xa0,                                      // octets 4000
    0x55, 0x66, 0x77, 0x88, 0x40, 0x00, 0x00, 0x05,              // block: ssrc, fraction, lost 5
    0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x20,              // ext seq, jitter
    0xaa, 0xbb, 0xcc, 0xdd, 0x00, 0x01, 0x00, 0x00,              // LSR, DLSR
    0x81, 0xca, 0x00, 0x03, 0x11, 0x22, 0x33, 0x44,              // SDES, 1 chunk, 4 words
    0x01, 0x04, 'a', 'b', '@', 'c', 0x00, 0x00,                  // CNAME, end, pad
});

const ReportBlock kBlock{0x55667788, 0x40, 5, 0x00010002, 0x20, 0xaabbccdd, 0x00010000};
const SenderInfo kSender{0xe000000080000000ull, 0x00abcdef, 50, 4000};

Bytes rr_header(int count, int length_words) {
  return bytes({0x80 | count, 0xc9, 0x00, length_words, 0x01, 0x02, 0x03, 0x04});
}

Bytes block_bytes(int lost_hi, int lost_mid, int lost_lo) {
  return bytes({0x0a, 0x0b, 0x0c, 0x0d, 0x00, lost_hi, lost_mid, lost_lo, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
}

Bytes from_hex(std::string_view hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

}  // namespace

TEST_CASE("is_rtcp: RFC 5761 demultiplexing") {
  struct Row {
    Bytes datagram;
    bool rtcp;
  };
  const Row rows[] = {
      {bytes({0x80, 191}), false}, {bytes({0x80, 192}), true},  {bytes({0x80, 200}), true},
      {bytes({0x81, 201}), true},  {bytes({0x80, 223}), true},  {bytes({0x80, 224}), false},
      {bytes({0x80, 0x6f}), false},                               // RTP, payload type 111
      {bytes({0x80, 0xef}), false},                               // RTP, marker + 111
      {bytes({0x80, 0x60}), false},                               // RTP, payload type 96
      {bytes({0x80}), false},      {Bytes{}, false},
  };
  for (const auto& r : rows) {
    CAPTURE(r.datagram.size());
    CHECK(is_rtcp(r.datagram) == r.rtcp);
  }
}

TEST_CASE("parse_rtcp") {
  SUBCASE("SR with a report block, then SDES CNAME") {
    const auto r = parse_rtcp(kSrSdes);
    REQUIRE(r);
    const auto& c = *r.compound;
    REQUIRE(c.report_count == 1);
    const auto& sr = c.reports[0];
    CHECK(sr.ssrc == 0x11223344u);
    REQUIRE(sr.sender);
    CHECK(*sr.sender == kSender);
    REQUIRE(sr.block_count == 1);
    CHECK(sr.blocks[0] == kBlock);
    REQUIRE(c.cname_count == 1);
    CHECK(c.cnames[0].ssrc == 0x11223344u);
    CHECK(c.cnames[0].cname == "ab@c");
    CHECK(!c.bye);
    CHECK(c.skipped == 0);
    CHECK(c.dropped == 0);
  }
  SUBCASE("cumulative lost is 24-bit signed") {
    struct Row {
      int hi, mid, lo;
      std::int32_t lost;
    };
    const Row rows[] = {{0, 0, 0, 0},           {0, 0, 1, 1},           {0x7f, 0xff, 0xff, 0x7fffff},
                        {0xff, 0xff, 0xff, -1}, {0x80, 0, 0, -0x800000}, {0xff, 0xff, 0xfe, -2}};
    for (const auto& row : rows) {
      const auto r = parse_rtcp(concat(rr_header(1, 7), block_bytes(row.hi, row.mid, row.lo)));
      REQUIRE(r);
      CHECK(r.compound->reports[0].blocks[0].cumulative_lost == row.lost);
      CHECK(!r.compound->reports[0].sender);
    }
  }
  SUBCASE("RR without blocks; SDES with other items and two chunks; BYE with reason; APP skipped") {
    const auto packet = concat(
        concat(rr_header(0, 1),
               bytes({0x82, 0xca, 0x00, 0x05,                                 // SDES, 2 chunks, 6 words
                      0x01, 0x02, 0x03, 0x04, 0x02, 0x01, 'N', 0x01, 0x02, 'x', 'y', 0x00,  // NAME, CNAME "xy"
                      0x09, 0x08, 0x07, 0x06, 0x01, 0x00, 0x00, 0x00,        // empty CNAME, end
                      0x80, 0xcc, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04, 'n', 'a', 'm', 'e'})),  // APP
        bytes({0x82, 0xcb, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04, 0x09, 0x08, 0x07, 0x06,  // BYE, 2 sources, "end"
               0x03, 'e', 'n', 'd', 0x00, 0x00, 0x00, 0x00}));
    const auto r = parse_rtcp(packet);
    REQUIRE_MESSAGE(r, to_string(r.error));
    const auto& c = *r.compound;
    CHECK(c.report_count == 1);
    CHECK(c.reports[0].block_count == 0);
    REQUIRE(c.cname_count == 2);
    CHECK(c.cnames[0].ssrc == 0x01020304u);
    CHECK(c.cnames[0].cname == "xy");
    CHECK(c.cnames[1].ssrc == 0x09080706u);
    CHECK(c.cnames[1].cname.empty());
    CHECK(c.skipped == 1);
    REQUIRE(c.bye);
    CHECK(c.bye->count == 2);
    CHECK(c.bye->ssrcs[0] == 0x01020304u);
    CHECK(c.bye->ssrcs[1] == 0x09080706u);
    CHECK(c.bye->reason == "end");
  }
  SUBCASE("padding on the last packet only") {
    auto padded = concat(kSrSdes, bytes({0x81, 0xcb, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x04}));
    padded[kSrSdes.size()] = std::byte{0xa1};  // BYE with P set, 4 octets of padding
    const auto ok = parse_rtcp(padded);
    REQUIRE(ok);
    CHECK(ok.compound->bye->count == 1);
    CHECK(ok.compound->bye->reason.empty());

    auto early = kSrSdes;
    early[0] = std::byte{0xa1};  // SR claims padding, but SDES follows
    CHECK(parse_rtcp(early).error == RtcpError::bad_padding);
    auto zero = padded;
    zero.back() = std::byte{0};
    CHECK(parse_rtcp(zero).error == RtcpError::bad_padding);
    auto too_much = padded;
    too_much.back() = std::byte{9};
    CHECK(parse_rtcp(too_much).error == RtcpError::bad_padding);
  }
  SUBCASE("bounded: a third report is counted as dropped") {
    const auto three = concat(concat(rr_header(0, 1), rr_header(0, 1)), rr_header(0, 1));
    const auto r = parse_rtcp(three);
    REQUIRE(r);
    CHECK(r.compound->report_count == 2);
    CHECK(r.compound->dropped == 1);
  }
  SUBCASE("malformed input: the exact error") {
    struct Row {
      const char* what;
      Bytes datagram;
      RtcpError error;
    };
    const Row rows[] = {
        {"empty", Bytes{}, RtcpError::too_short},
        {"3 bytes", bytes({0x80, 0xc9, 0x00}), RtcpError::too_short},
        {"version 1", bytes({0x40, 0xc9, 0x00, 0x01, 1, 2, 3, 4}), RtcpError::bad_version},
        {"version 2 then 0", concat(rr_header(0, 1), bytes({0x00, 0xc9, 0x00, 0x00})), RtcpError::bad_version},
        {"length past the end", bytes({0x80, 0xc9, 0x00, 0x02, 1, 2, 3, 4}), RtcpError::bad_length},
        {"2 stray bytes after", concat(rr_header(0, 1), bytes({0x80, 0xc9})), RtcpError::bad_length},
        {"RC 2, room for 1", concat(rr_header(2, 7), block_bytes(0, 0, 0)), RtcpError::bad_report},
        {"SR without sender info", bytes({0x80, 0xc8, 0x00, 0x01, 1, 2, 3, 4}), RtcpError::bad_report},
        {"RR header only", bytes({0x80, 0xc9, 0x00, 0x00}), RtcpError::bad_report},
        {"SDES item runs over", bytes({0x81, 0xca, 0x00, 0x02, 1, 2, 3, 4, 0x01, 0x09, 'a', 'b'}), RtcpError::bad_sdes},
        {"SDES without end item", bytes({0x81, 0xca, 0x00, 0x02, 1, 2, 3, 4, 0x01, 0x02, 'a', 'b'}), RtcpError::bad_sdes},
        {"SDES 2 chunks, room for 1", bytes({0x82, 0xca, 0x00, 0x02, 1, 2, 3, 4, 0, 0, 0, 0}), RtcpError::bad_sdes},
        {"BYE SC 2, room for 1", bytes({0x82, 0xcb, 0x00, 0x01, 1, 2, 3, 4}), RtcpError::bad_bye},
        {"BYE reason runs over", bytes({0x81, 0xcb, 0x00, 0x02, 1, 2, 3, 4, 0x05, 'a', 'b', 'c'}), RtcpError::bad_bye},
    };
    for (const auto& row : rows) {
      CAPTURE(row.what);
      const auto r = parse_rtcp(row.datagram);
      CHECK(!r);
      CHECK(r.error == row.error);
    }
    for (std::size_t e = 0; e < kRtcpErrorCount; ++e)
      CHECK(std::string(to_string(static_cast<RtcpError>(e))) != "unknown");
  }
}

TEST_CASE("write_rtcp") {
  std::array<std::byte, kRtcpMaxCompound> buffer{};
  SUBCASE("SR + SDES: exactly the reference bytes") {
    const RtcpReportSpec spec{0x11223344, kSender, std::span(&kBlock, 1), "ab@c", false, {}};
    const auto n = write_rtcp(spec, buffer);
    REQUIRE(n == kSrSdes.size());
    CHECK(Bytes(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n)) == kSrSdes);
  }
  SUBCASE("RR + SDES + BYE reads back; CNAME lengths around the word boundary") {
    for (const std::string& cname :
         std::vector<std::string>{"a", "ab", "abc", "abcd", "abcde", "pttcam@127.0.0.1", std::string(255, 'c')}) {
      CAPTURE(cname);
      ReportBlock b = kBlock;
      b.cumulative_lost = -3;
      const RtcpReportSpec spec{7, std::nullopt, std::span(&b, 1), cname, true, "bye now"};
      const auto n = write_rtcp(spec, buffer);
      REQUIRE(n > 0);
      CHECK(n % 4 == 0);
      const auto r = parse_rtcp(std::span(buffer.data(), n));
      REQUIRE_MESSAGE(r, to_string(r.error));
      const auto& c = *r.compound;
      REQUIRE(c.report_count == 1);
      CHECK(!c.reports[0].sender);
      CHECK(c.reports[0].ssrc == 7u);
      CHECK(c.reports[0].blocks[0] == b);
      REQUIRE(c.cname_count == 1);
      CHECK(c.cnames[0].cname == cname);
      REQUIRE(c.bye);
      CHECK(c.bye->count == 1);
      CHECK(c.bye->ssrcs[0] == 7u);
      CHECK(c.bye->reason == "bye now");
      CHECK(is_rtcp(std::span(buffer.data(), n)));
    }
  }
  SUBCASE("cumulative lost is clamped to 24-bit signed") {
    for (const auto& [given, written] : {std::pair{100'000'000, 0x7fffff}, std::pair{-100'000'000, -0x800000}}) {
      ReportBlock b = kBlock;
      b.cumulative_lost = given;
      const auto n = write_rtcp({1, std::nullopt, std::span(&b, 1), "x", false, {}}, buffer);
      REQUIRE(n > 0);
      CHECK(parse_rtcp(std::span(buffer.data(), n)).compound->reports[0].blocks[0].cumulative_lost == written);
    }
  }
  SUBCASE("the largest compound fits kRtcpMaxCompound; limits are refused") {
    std::array<ReportBlock, kRtcpMaxCount + 1> blocks{};
    const std::string cname(255, 'c');
    const std::string reason(255, 'r');
    const RtcpReportSpec largest{1, kSender, std::span(blocks.data(), kRtcpMaxCount), cname, true, reason};
    const auto n = write_rtcp(largest, buffer);
    CHECK(n > 0);
    CHECK(n <= kRtcpMaxCompound);
    CHECK(write_rtcp(largest, std::span(buffer.data(), n - 1)) == 0);
    auto spec = largest;
    spec.blocks = blocks;  // 32
    CHECK(write_rtcp(spec, buffer) == 0);
    spec = largest;
    spec.cname = "";
    CHECK(write_rtcp(spec, buffer) == 0);
    const std::string long_name(256, 'c');
    spec = largest;
    spec.cname = long_name;
    CHECK(write_rtcp(spec, buffer) == 0);
  }
}

TEST_CASE("NTP timestamps and round trip") {
  static_assert(ntp_from_unix_us(0) == 2208988800ull << 32);
  static_assert(ntp_from_unix_us(1'500'000) == ((2208988801ull << 32) | 0x80000000ull));
  static_assert(ntp_middle32(0x0000123456789abcull) == 0x12345678u);

  ReportBlock b;
  b.last_sr = 0x00010000;                        // 1 s
  b.delay_since_last_sr = 0x00008000;            // 0.5 s
  CHECK(round_trip_us(0x00018000 + 6554, b).value_or(-1) == 100'006);  // 6554/65536 s ~ 100 ms
  CHECK(round_trip_us(0x00018000, b) == std::optional<std::int64_t>(0));
  CHECK(!round_trip_us(0x00017fff, b));  // would be negative
  b.last_sr = 0;
  CHECK(!round_trip_us(0x00018000, b));
  // Across the 16.16 wrap (every 18 hours): still the right difference.
  b.last_sr = 0xffff0000;
  b.delay_since_last_sr = 0x00008000;
  CHECK(round_trip_us(0x00008000, b).value_or(-1) == 1'000'000);
}

TEST_CASE("ReceptionStatistics") {
  constexpr std::int64_t kFrameUs = 20'000;
  constexpr std::uint32_t kFrameTs = 960;

  // Feeds sequence numbers, one every 20 ms on time; returns how many on_packet() accepted.
  const auto feed = [](ReceptionStatistics& s, std::initializer_list<int> seqs) {
    int accepted = 0;
    std::int64_t i = 0;
    for (int seq : seqs) {
      accepted += s.on_packet(static_cast<std::uint16_t>(seq), static_cast<std::uint32_t>(i * kFrameTs),
                              1'000'000 + i * kFrameUs);
      ++i;
    }
    return accepted;
  };

  SUBCASE("table: loss, duplicates, reordering, wrap 0xFFFF -> 0, restarts") {
    struct Row {
      const char* what;
      int min_sequential;
      std::initializer_list<int> seqs;
      int accepted;
      std::uint64_t received;
      std::int64_t expected;
      std::uint32_t extended_highest;
      std::uint8_t fraction;
      std::uint64_t restarts;
    };
    const Row rows[] = {
        {"clean across the wrap", 2, {0xfffd, 0xfffe, 0xffff, 0, 1, 2}, 5, 5, 5, 0x10002, 0, 0},
        {"first packet counts with probation 1", 1, {0xfffd, 0xfffe, 0xffff, 0, 1, 2}, 6, 6, 6, 0x10002, 0, 0},
        {"one lost at the wrap", 1, {0xfffe, 0xffff, 1, 2}, 4, 4, 5, 0x10002, 51, 0},
        {"0xFFFF lost", 1, {0xfffd, 0xfffe, 0, 1}, 4, 4, 5, 0x10001, 51, 0},
        {"duplicate: negative loss", 1, {10, 11, 11, 12}, 4, 4, 3, 12, 0, 0},
        {"reordered within MAX_MISORDER", 1, {10, 12, 11, 13}, 4, 4, 4, 13, 0, 0},
        {"late across the wrap", 1, {0xfffe, 0, 0xffff, 1}, 4, 4, 4, 0x10001, 0, 0},
        {"a gap under MAX_DROPOUT is loss", 1, {10, 11, 2010}, 3, 3, 2001, 2010, 255, 0},
        {"one stray far packet is ignored", 1, {100, 101, 30000, 102}, 3, 3, 3, 102, 0, 0},
        {"a jump of MAX_DROPOUT - 1 is loss", 1, {10, 3009}, 2, 2, 3000, 3009, 255, 0},
        {"a jump of MAX_DROPOUT is a stray", 1, {10, 3010}, 1, 1, 1, 10, 0, 0},
        {"MAX_MISORDER back is a stray", 1, {200, 100}, 1, 1, 1, 200, 0, 0},
        {"MAX_MISORDER - 1 back is late", 1, {200, 101}, 2, 2, 1, 200, 0, 0},
        {"two sequential far packets: restart", 1, {100, 101, 102, 20000, 20001, 20002}, 5, 2, 2, 20002, 0, 1},
        {"probation restarts on a gap", 2, {5, 7, 8, 9}, 2, 2, 2, 9, 0, 0},
        {"nothing valid yet", 2, {5}, 0, 0, 0, 5, 0, 0},
    };
    for (const auto& row : rows) {
      CAPTURE(row.what);
      ReceptionStatistics s(48000, row.min_sequential);
      CHECK(feed(s, row.seqs) == row.accepted);
      CHECK(s.received() == row.received);
      CHECK(s.expected() == row.expected);
      CHECK(s.extended_highest_seq() == row.extended_highest);
      CHECK(s.restarts() == row.restarts);
      const auto block = s.report_block(0xabcd, 0);
      CHECK(block.has_value() == (row.received > 0));
      if (block) {
        CHECK(block->ssrc == 0xabcdu);
        CHECK(block->fraction_lost == row.fraction);
        CHECK(block->cumulative_lost == row.expected - static_cast<std::int64_t>(row.received));
        CHECK(block->extended_highest_seq == row.extended_highest);
        CHECK(block->last_sr == 0);
        CHECK(block->delay_since_last_sr == 0);
      }
    }
  }
  SUBCASE("fraction lost is per interval; cumulative is not") {
    ReceptionStatistics s(48000, 1);
    feed(s, {1, 2, 4, 5});  // 1 of 5 lost
    auto b = s.report_block(1, 0);
    CHECK(b->fraction_lost == 51);
    CHECK(b->cumulative_lost == 1);
    feed(s, {6, 7, 8, 9});  // none lost since
    b = s.report_block(1, 0);
    CHECK(b->fraction_lost == 0);
    CHECK(b->cumulative_lost == 1);
    feed(s, {12, 13});  // 10, 11 lost: 2 of 4
    b = s.report_block(1, 0);
    CHECK(b->fraction_lost == 128);
    CHECK(b->cumulative_lost == 3);
    b = s.report_block(1, 0);  // nothing expected since
    CHECK(b->fraction_lost == 0);
  }
  SUBCASE("cumulative lost clamps to 24-bit signed in the block") {
    ReceptionStatistics gaps(48000, 1);
    std::uint16_t seq = 0;
    gaps.on_packet(seq, 0, 0);
    for (int i = 0; i < 3000; ++i) {
      seq = static_cast<std::uint16_t>(seq + 2999);
      REQUIRE(gaps.on_packet(seq, 0, 0));
    }
    CHECK(gaps.cumulative_lost() == 3000 * 2998);
    CHECK(gaps.report_block(1, 0)->cumulative_lost == 0x7fffff);

    ReceptionStatistics duplicates(48000, 1);
    for (int i = 0; i < 0x800000 + 5; ++i) duplicates.on_packet(7, 0, 0);
    CHECK(duplicates.cumulative_lost() == -(0x800000 + 4));
    CHECK(duplicates.report_block(1, 0)->cumulative_lost == -0x800000);
  }
  SUBCASE("interarrival jitter, RFC 3550 A.8, in timestamp units") {
    ReceptionStatistics s(48000, 1);
    std::uint32_t ts = 0xfffffc40;  // crosses the 32-bit timestamp wrap on the way
    std::int64_t arrival = 5'000'000;
    std::uint16_t seq = 0xfffe;
    const auto next = [&](std::int64_t late_us) {
      s.on_packet(seq++, ts, arrival + late_us);
      ts += kFrameTs;
      arrival += kFrameUs;
    };
    for (int i = 0; i < 10; ++i) next(0);
    CHECK(s.jitter() == 0);
    next(10'000);  // 480 units late: J = 480/16
    CHECK(s.jitter() == 30);
    next(0);  // back on time, |D| = 480 again: 16J = 480 + 480 - 30, so J = 58 (integer form)
    CHECK(s.jitter() == 58);
    for (int i = 0; i < 200; ++i) next(0);
    CHECK(s.jitter() == 0);  // decays back once arrivals are regular
    CHECK(s.report_block(1, 0)->jitter == 0);
  }
  SUBCASE("the jitter's mean and maximum leave out each talk spurt's first packet, as Wireshark does") {
    ReceptionStatistics s(48000, 1);
    std::uint32_t ts = 0;
    std::int64_t arrival = 1'000'000;
    const auto next = [&](std::int64_t late_us, bool marker = false) {
      s.on_packet(static_cast<std::uint16_t>(ts / kFrameTs), ts, arrival + late_us, marker);
      ts += kFrameTs;
      arrival += kFrameUs;
    };
    next(0, true);
    next(0);
    next(10'000);  // J = 30 units
    next(0);       // J = 58
    CHECK(s.jitter_max() == doctest::Approx(58.125));  // 930/16: the unrounded estimate
    CHECK(s.jitter_mean() == doctest::Approx((0 + 480 + 930) / 16.0 / 3));
    arrival += 200'000;  // a pause the timestamps do not show: the next spurt's first pairs across it
    next(0, true);
    CHECK(s.jitter() > 58);   // the estimate takes it, as A.8 says
    CHECK(s.jitter_max() == doctest::Approx(58.125));  // the statistics do not
    next(0);
    CHECK(s.jitter_max() > 58.125);  // the spurt's second packet carries the raised estimate
  }
  SUBCASE("LSR and DLSR from the last sender report") {
    ReceptionStatistics s(48000, 1);
    feed(s, {1, 2});
    s.on_sender_report(0x0000123456789abcull, 1'000'000);
    const auto b = s.report_block(1, 1'500'000);
    CHECK(b->last_sr == 0x12345678u);
    CHECK(b->delay_since_last_sr == 32768u);  // 0.5 s in 1/65536 s
  }
}

TEST_CASE("RTCP transmission interval, RFC 3550 A.7") {
  constexpr double kCompensation = 2.71828182845904523536 - 1.5;
  IntervalInputs two;  // client and camera, 64 kbit/s: 400 octets/s of RTCP, reports of ~100 octets
  two.rtcp_bandwidth = 64000.0 / 8 * 0.05;
  two.avg_rtcp_size = 100;
  SUBCASE("two members: the 5 s minimum, randomised over [0.5, 1.5), compensated") {
    CHECK(rtcp_interval_us(two, 0.0) == static_cast<std::int64_t>(5.0 * 0.5 / kCompensation * 1e6));
    CHECK(rtcp_interval_us(two, 0.5) == static_cast<std::int64_t>(5.0 / kCompensation * 1e6));
    CHECK(rtcp_interval_us(two, 1.0) == static_cast<std::int64_t>(5.0 * 1.5 / kCompensation * 1e6));
    auto first = two;
    first.initial = true;
    CHECK(rtcp_interval_us(first, 0.5) == static_cast<std::int64_t>(2.5 / kCompensation * 1e6));
    two.we_sent = true;  // with 1 sender of 2 members the bandwidth is not split
    CHECK(rtcp_interval_us(two, 0.5) == static_cast<std::int64_t>(5.0 / kCompensation * 1e6));
  }
  SUBCASE("many members: above the minimum; senders and receivers split the bandwidth") {
    IntervalInputs many = two;
    many.members = 1000;
    many.senders = 1;
    // Receivers: 75 % of 400 octets/s for 999 members of 100 octets each.
    CHECK(rtcp_interval_us(many, 0.5) == static_cast<std::int64_t>(100.0 * 999 / 300 / kCompensation * 1e6));
    many.we_sent = true;  // the one sender: 25 % for itself alone -> 0.25 s, so the minimum
    CHECK(rtcp_interval_us(many, 0.5) == static_cast<std::int64_t>(5.0 / kCompensation * 1e6));
  }
  SUBCASE("nonsense inputs still give a bounded interval") {
    IntervalInputs bad = two;
    bad.rtcp_bandwidth = 0;
    CHECK(rtcp_interval_us(bad, 0.5) == static_cast<std::int64_t>(5.0 / kCompensation * 1e6));
    bad.rtcp_bandwidth = 1e-9;
    CHECK(rtcp_interval_us(bad, 0.5) == static_cast<std::int64_t>(3600.0 / kCompensation * 1e6));
    CHECK(rtcp_interval_us(two, std::numeric_limits<double>::quiet_NaN()) == rtcp_interval_us(two, 0.5));
    CHECK(rtcp_interval_us(two, 7.0) == rtcp_interval_us(two, 1.0));
  }
  SUBCASE("RtcpSchedule: due times on an injected clock") {
    const std::int64_t t0 = 10'000'000;
    RtcpSchedule schedule(64000, t0, 0.5);
    const auto first = schedule.next_due_us();
    CHECK(first == t0 + static_cast<std::int64_t>(2.5 / kCompensation * 1e6));  // half the minimum at start
    CHECK(!schedule.due(first - 1));
    CHECK(schedule.due(first));
    schedule.on_sent(first, 72, true, 0.0);
    CHECK(schedule.next_due_us() == first + static_cast<std::int64_t>(5.0 * 0.5 / kCompensation * 1e6));
    schedule.on_received(80);
    schedule.on_sent(schedule.next_due_us(), 72, true, 0.999);
    CHECK(schedule.next_due_us() > first);
  }
}

TEST_CASE("parse_rtcp: what ffmpeg and GStreamer send") {
  // Captured on loopback from ffmpeg 5.1 (`-f rtp`, its RTCP port) and GStreamer 1.22 (rtpbin's
  // send_rtcp_src after audiotestsrc ! opusenc ! rtpopuspay), byte for byte.
  SUBCASE("ffmpeg: a lone SR, no SDES") {
    // The bytes outlive the result: it views them.
    const auto bytes = from_hex("80c800067841d62beec0fc30604189376d91676e0000000000000000");
    const auto r = parse_rtcp(bytes);
    REQUIRE(r);
    REQUIRE(r.compound->report_count == 1);
    const auto& sr = r.compound->reports[0];
    CHECK(sr.ssrc == 0x7841d62bu);
    REQUIRE(sr.sender);
    CHECK(sr.sender->ntp_timestamp == 0xeec0fc3060418937ull);
    CHECK(sr.sender->rtp_timestamp == 0x6d91676eu);
    CHECK(sr.sender->packet_count == 0);
    CHECK(sr.block_count == 0);
    CHECK(r.compound->cname_count == 0);
  }
  SUBCASE("GStreamer: SR + SDES (CNAME, TOOL) + BYE") {
    const auto bytes = from_hex(
        "80c80006b919a217eec0fc40dd58a7615e1d425f000001410000ca8181ca000cb919a217011b7573657239303230353436"
        "393740686f73742d626633633063346106094753747265616d65720000000081cb0001b919a217");
    const auto r = parse_rtcp(bytes);
    REQUIRE(r);
    const auto& c = *r.compound;
    REQUIRE(c.report_count == 1);
    CHECK(c.reports[0].ssrc == 0xb919a217u);
    REQUIRE(c.reports[0].sender);
    CHECK(c.reports[0].sender->packet_count == 0x141u);
    CHECK(c.reports[0].sender->octet_count == 0xca81u);
    REQUIRE(c.cname_count == 1);
    CHECK(c.cnames[0].ssrc == 0xb919a217u);
    CHECK(c.cnames[0].cname == "user902054697@host-bf3c0c4a");
    REQUIRE(c.bye);
    CHECK(c.bye->count == 1);
    CHECK(c.bye->ssrcs[0] == 0xb919a217u);
    CHECK(c.bye->reason.empty());
  }
}
