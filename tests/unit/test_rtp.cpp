#include <doctest/doctest.h>

#include "bytes.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "pttcam/rtp/packet.hpp"
#include "pttcam/rtp/red.hpp"
#include "pttcam/rtp/sequence.hpp"

using namespace pttcam::rtp;

namespace {

using pttcam::test::Bytes;
using pttcam::test::bytes;

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Bytes pattern(std::size_t size) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::byte>(i * 7 + 3);
  return out;
}

bool same(std::span<const std::byte> a, std::span<const std::byte> b) {
  return std::ranges::equal(a, b);
}

// Fixed header with the given first byte, seq 0x1234, ts 0x01020304, ssrc 0xA0B0C0D0.
Bytes fixed(int first) {
  return bytes({first, 0x6f, 0x12, 0x34, 0x01, 0x02, 0x03, 0x04, 0xa0, 0xb0, 0xc0, 0xd0});
}

}  // namespace

TEST_CASE("is_newer_seq / is_newer_ts") {
  static_assert(is_newer_seq(0, 0xffff));
  static_assert(!is_newer_ts(0xffffffff, 0));

  SUBCASE("sequence numbers across 0xFFFF -> 0") {
    struct Row { std::uint16_t a, b; bool newer; };
    const Row rows[] = {
        {1, 0, true},           {0, 1, false},          {0, 0xffff, true},
        {0xffff, 0, false},     {5, 0xfff0, true},      {0xfff0, 5, false},
        {7, 7, false},          {0x7fff, 0, true},      {0x8001, 0, false},
        {0x8000, 0, true},      {0, 0x8000, false},     {0xffff, 0x7fff, true},
        {0x7fff, 0xffff, false},
    };
    for (const auto& r : rows) {
      CAPTURE(r.a);
      CAPTURE(r.b);
      CHECK(is_newer_seq(r.a, r.b) == r.newer);
    }
  }
  SUBCASE("timestamps across 0xFFFFFFFF -> 0") {
    struct Row { std::uint32_t a, b; bool newer; };
    const Row rows[] = {
        {1, 0, true},                   {0, 0xffffffff, true},
        {0xffffffff, 0, false},         {960, 0xfffffc40, true},
        {0xfffffc40, 960, false},       {42, 42, false},
        {0x7fffffff, 0, true},          {0x80000001, 0, false},
        {0x80000000, 0, true},          {0, 0x80000000, false},
    };
    for (const auto& r : rows) {
      CAPTURE(r.a);
      CAPTURE(r.b);
      CHECK(is_newer_ts(r.a, r.b) == r.newer);
    }
  }
  SUBCASE("exactly one of two distinct values is newer") {
    for (std::uint32_t b : {0u, 1u, 0x7fffu, 0x8000u, 0xffffu}) {
      for (std::uint32_t d : {1u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) {
        const auto a = static_cast<std::uint16_t>(b + d);
        const auto bb = static_cast<std::uint16_t>(b);
        CHECK(is_newer_seq(a, bb) != is_newer_seq(bb, a));
      }
    }
  }
}

TEST_CASE("SeqUnwrapper / TsUnwrapper") {
  SUBCASE("first value maps to itself") {
    SeqUnwrapper seq;
    CHECK(seq.unwrap(0xfffe) == 0xfffe);
    TsUnwrapper ts;
    CHECK(ts.unwrap(0xfffffff0u) == 0xfffffff0);
  }
  SUBCASE("sequence forward across several wraps, then one step back across 0") {
    SeqUnwrapper seq;
    std::int64_t expected = 65000;
    CHECK(seq.unwrap(static_cast<std::uint16_t>(expected)) == expected);
    for (int i = 0; i < 5 * 65536 / 20000 + 3; ++i) {
      expected += 20000;
      CHECK(seq.unwrap(static_cast<std::uint16_t>(expected)) == expected);
    }
    CHECK(expected > 5 * 65536);
    // Land exactly on a multiple of 2^16, then a late packet from just before it.
    const std::int64_t boundary = (expected / 65536 + 1) * 65536;
    CHECK(seq.unwrap(0) == boundary);
    CHECK(seq.unwrap(0xffff) == boundary - 1);
    CHECK(seq.unwrap(1) == boundary + 1);
  }
  SUBCASE("going back across 0 from the first value goes negative") {
    SeqUnwrapper seq;
    CHECK(seq.unwrap(0) == 0);
    CHECK(seq.unwrap(0xffff) == -1);
    CHECK(seq.unwrap(0) == 0);
  }
  SUBCASE("exact half follows is_newer's tie-break") {
    SeqUnwrapper seq;
    CHECK(seq.unwrap(0) == 0);
    CHECK(seq.unwrap(0x8000) == 0x8000);  // 0x8000 > 0: newer
    CHECK(seq.unwrap(0) == 0);            // 0 < 0x8000: older
  }
  SUBCASE("timestamps forward across several wraps, then one step back across 0") {
    TsUnwrapper ts;
    std::int64_t expected = 0xfffffc40;  // 960 ticks (one 20 ms frame) before the first wrap
    CHECK(ts.unwrap(static_cast<std::uint32_t>(expected)) == expected);
    for (int i = 0; i < 16; ++i) {
      expected += 0x40000000;
      CHECK(ts.unwrap(static_cast<std::uint32_t>(expected)) == expected);
    }
    const std::int64_t boundary = expected + 960;
    CHECK(boundary == 5 * (std::int64_t{1} << 32));
    CHECK(ts.unwrap(0) == boundary);
    CHECK(ts.unwrap(0xfffffc40u) == boundary - 960);
    CHECK(ts.unwrap(960) == boundary + 960);
  }
}

RtpExtras extras_of(std::optional<std::uint64_t> capture_time_us, bool end_of_burst) {
  RtpExtras e;
  e.capture_time_us = capture_time_us;
  e.end_of_burst = end_of_burst;
  return e;
}

TEST_CASE("RtpWriter and parse round trip") {
  RtpWriter writer;
  const RtpHeader header{.marker = false, .payload_type = kOpusPayloadType, .sequence = 0xfffe,
                         .timestamp = 0xfffffc40, .ssrc = 0x12345678};
  const Bytes payload = pattern(80);

  SUBCASE("known header bytes") {
    const RtpHeader h{.marker = true, .payload_type = 111, .sequence = 0x1234,
                      .timestamp = 0xdeadbeef, .ssrc = 0x01020304};
    const auto out = writer.write(h, {}, bytes({0xaa}));
    CHECK(same(out, bytes({0x80, 0xef, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03,
                           0x04, 0xaa})));
  }
  SUBCASE("without extras there is no extension block") {
    const auto out = writer.write(header, {}, payload);
    REQUIRE(out.size() == 12 + payload.size());
    CHECK((out[0] & std::byte{0x10}) == std::byte{0});
    const auto parsed = parse(out);
    REQUIRE(parsed);
    CHECK(parsed.packet->header == header);
    CHECK(parsed.packet->extras == RtpExtras{});
    CHECK(parsed.packet->csrc_count == 0);
    CHECK(same(parsed.packet->payload, payload));
  }
  SUBCASE("with both extras: exact block bytes and round trip") {
    const RtpExtras extras = extras_of(0x0102030405060708, true);
    const auto out = writer.write(header, extras, payload);
    REQUIRE(out.size() == 12 + 4 + 12 + payload.size());
    CHECK(same(out.subspan(12, 16), bytes({0xbe, 0xde, 0x00, 0x03, 0x17, 0x01, 0x02, 0x03, 0x04,
                                          0x05, 0x06, 0x07, 0x08, 0x20, 0x01, 0x00})));
    const auto parsed = parse(out);
    REQUIRE(parsed);
    CHECK(parsed.packet->header == header);
    CHECK(parsed.packet->extras == extras);
    CHECK(same(parsed.packet->payload, payload));
  }
  SUBCASE("each extra alone, padded to 32 bits") {
    const RtpExtras only_time = extras_of(0xffffffffffffffff, false);
    const RtpExtras only_burst = extras_of(std::nullopt, true);
    for (const auto& [extras, block] : {std::pair{only_time, std::size_t{12}},
                                        std::pair{only_burst, std::size_t{4}}}) {
      const auto out = writer.write(header, extras, payload);
      REQUIRE(out.size() == 12 + 4 + block + payload.size());
      const auto parsed = parse(out);
      REQUIRE(parsed);
      CHECK(parsed.packet->extras == extras);
      CHECK(same(parsed.packet->payload, payload));
    }
  }
  SUBCASE("burst start and key times: exact element bytes and round trip") {
    RtpExtras extras;
    extras.burst_start_ts = 0xa1b2c3d4;
    extras.key_down_us = 0x1122334455667788;
    extras.key_up_us = 0x99;
    const auto out = writer.write(header, extras, payload);
    // 5 + 9 + 9 = 23 bytes of elements, padded to 24.
    REQUIRE(out.size() == 12 + 4 + 24 + payload.size());
    CHECK(same(out.subspan(12, 28),
               bytes({0xbe, 0xde, 0x00, 0x06, 0x33, 0xa1, 0xb2, 0xc3, 0xd4, 0x47, 0x11, 0x22, 0x33, 0x44,
                      0x55, 0x66, 0x77, 0x88, 0x57, 0, 0, 0, 0, 0, 0, 0, 0x99, 0x00})));
    const auto parsed = parse(out);
    REQUIRE(parsed);
    CHECK(parsed.packet->extras == extras);
    CHECK(same(parsed.packet->payload, payload));
  }
  SUBCASE("marker and payload type") {
    const RtpHeader h{.marker = true, .payload_type = 0x7f, .sequence = 0, .timestamp = 0,
                      .ssrc = 0xffffffff};
    const auto parsed = parse(writer.write(h, {}, payload));
    REQUIRE(parsed);
    CHECK(parsed.packet->header == h);
  }
  SUBCASE("empty payload parses with an empty payload") {
    const auto parsed = parse(writer.write(header, {}, {}));
    REQUIRE(parsed);
    CHECK(parsed.packet->payload.empty());
  }
  SUBCASE("maximum payload fits exactly, one more byte does not") {
    const RtpExtras extras = extras_of(1, true);
    for (const auto& [x, max] : {std::pair{RtpExtras{}, kMaxDatagram - 12},
                                 std::pair{extras, kMaxDatagram - 12 - 16}}) {
      const Bytes big = pattern(max);
      const auto out = writer.write(header, x, big);
      REQUIRE(out.size() == kMaxDatagram);
      const auto parsed = parse(out);
      REQUIRE(parsed);
      CHECK(same(parsed.packet->payload, big));
      CHECK(writer.write(header, x, pattern(max + 1)).empty());
    }
  }
  SUBCASE("payload type above 7 bits is refused") {
    RtpHeader h = header;
    h.payload_type = 128;
    CHECK(writer.write(h, {}, payload).empty());
  }
}

TEST_CASE("parse") {
  const Bytes payload = bytes({0xde, 0xad});

  SUBCASE("malformed datagrams give the exact error") {
    struct Row { const char* name; Bytes datagram; ParseError error; };
    std::vector<Row> rows;
    const Bytes valid_header = fixed(0x80);
    for (std::size_t n = 0; n < valid_header.size(); ++n)
      rows.push_back({"truncated fixed header",
                      Bytes(valid_header.begin(), valid_header.begin() + static_cast<long>(n)),
                      ParseError::too_short});
    rows.push_back({"version 0", fixed(0x00), ParseError::bad_version});
    rows.push_back({"version 1", fixed(0x40), ParseError::bad_version});
    rows.push_back({"version 3", fixed(0xc0), ParseError::bad_version});
    rows.push_back({"15 CSRCs, none present", fixed(0x8f), ParseError::csrc_truncated});
    rows.push_back({"3 CSRCs, 2 present", concat(fixed(0x83), Bytes(8)),
                    ParseError::csrc_truncated});
    rows.push_back({"extension header missing", fixed(0x90), ParseError::extension_truncated});
    rows.push_back({"extension header 3 of 4 bytes", concat(fixed(0x90), bytes({0xbe, 0xde, 0})),
                    ParseError::extension_truncated});
    rows.push_back({"extension header cut after CSRC", concat(fixed(0x91), Bytes(6)),
                    ParseError::extension_truncated});
    rows.push_back({"extension length past end",
                    concat(fixed(0x90), bytes({0xbe, 0xde, 0x00, 0x02, 0x10, 0, 0, 0})),
                    ParseError::extension_truncated});
    rows.push_back({"element runs past block",
                    concat(fixed(0x90), bytes({0xbe, 0xde, 0x00, 0x01, 0x13, 1, 2, 3, 9, 9})),
                    ParseError::bad_extension_element});
    rows.push_back({"capture time element past block",
                    concat(fixed(0x90), bytes({0xbe, 0xde, 0x00, 0x01, 0, 0, 0x17, 1, 2, 3, 4,
                                               5, 6, 7, 8})),
                    ParseError::bad_extension_element});
    rows.push_back({"padding count 0", concat(fixed(0xa0), bytes({1, 2, 0})),
                    ParseError::bad_padding});
    rows.push_back({"padding count larger than remainder", concat(fixed(0xa0), bytes({1, 4})),
                    ParseError::bad_padding});
    rows.push_back({"padding bit with nothing after headers", fixed(0xa0),
                    ParseError::bad_padding});
    rows.push_back({"padding would eat extension",
                    concat(fixed(0xb0), bytes({0xbe, 0xde, 0x00, 0x00, 0x05})),
                    ParseError::bad_padding});

    ParseCounters counters;
    for (const auto& row : rows) {
      CAPTURE(std::string(row.name));
      CAPTURE(row.datagram.size());
      const auto result = parse(row.datagram);
      REQUIRE_FALSE(result);
      CHECK(result.error == row.error);
      counters.record(result.error);
    }
    // The table must exercise every error the parser can report.
    for (std::size_t i = 0; i < kParseErrorCount; ++i) {
      CAPTURE(to_string(static_cast<ParseError>(i)));
      CHECK(counters.by_error[i] > 0);
    }
    CHECK(counters.total() == rows.size());
  }
  SUBCASE("CSRCs are skipped and counted") {
    const Bytes datagram = concat(concat(fixed(0x82), Bytes(8, std::byte{0xee})), payload);
    const auto parsed = parse(datagram);
    REQUIRE(parsed);
    CHECK(parsed.packet->csrc_count == 2);
    CHECK(parsed.packet->header.sequence == 0x1234);
    CHECK(parsed.packet->header.timestamp == 0x01020304);
    CHECK(parsed.packet->header.ssrc == 0xa0b0c0d0);
    CHECK(same(parsed.packet->payload, payload));
  }
  SUBCASE("padding is excluded from the payload") {
    const Bytes padded = concat(fixed(0xa0), bytes({0xde, 0xad, 0, 0, 3}));
    const auto parsed = parse(padded);
    REQUIRE(parsed);
    CHECK(same(parsed.packet->payload, payload));
    const Bytes only_padding = concat(fixed(0xa0), bytes({0, 2}));
    const auto all_padding = parse(only_padding);
    REQUIRE(all_padding);
    CHECK(all_padding.packet->payload.empty());
  }
  SUBCASE("foreign extension profile is skipped") {
    // Two-byte profile 0x1000 with an element that would be bogus as one-byte.
    const Bytes datagram = concat(
        concat(fixed(0x90), bytes({0x10, 0x00, 0x00, 0x02, 0x01, 0x08, 1, 2, 3, 4, 5, 6})),
        payload);
    const auto parsed = parse(datagram);
    REQUIRE(parsed);
    CHECK(parsed.packet->extras == RtpExtras{});
    CHECK(same(parsed.packet->payload, payload));
  }
  SUBCASE("unknown ids, padding bytes, wrong lengths and id 15") {
    const Bytes datagram = concat(
        concat(fixed(0x90), bytes({0xbe, 0xde, 0x00, 0x03,
                                   0x00,              // padding byte
                                   0x51, 0xaa, 0xbb,  // unknown id 5, 2 bytes
                                   0x11, 1, 2,        // capture time with the wrong length
                                   0x20, 0x01,        // end of burst
                                   0xf7, 0x17, 0x00})),  // id 15: stop, the rest is not read
        payload);
    const auto parsed = parse(datagram);
    REQUIRE(parsed);
    CHECK_FALSE(parsed.packet->extras.capture_time_us.has_value());
    CHECK(parsed.packet->extras.end_of_burst);
    CHECK(same(parsed.packet->payload, payload));
  }
  SUBCASE("burst flags other than bit 0 do not mean end of burst; bit 1 is a repeat") {
    const Bytes datagram = concat(fixed(0x90), bytes({0xbe, 0xde, 0x00, 0x01, 0x20, 0xfe, 0, 0}));
    const auto parsed = parse(datagram);
    REQUIRE(parsed);
    CHECK_FALSE(parsed.packet->extras.end_of_burst);
    CHECK(parsed.packet->extras.repeat);
  }
  SUBCASE("a repeated end packet round-trips with both flags") {
    RtpExtras e;
    e.end_of_burst = true;
    e.repeat = true;
    RtpWriter writer;
    const auto out = writer.write(RtpHeader{}, e, pattern(10));
    const auto parsed = parse(out);
    REQUIRE(parsed);
    CHECK(parsed.packet->extras == e);
  }
}

TEST_CASE("ParseCounters and to_string") {
  SUBCASE("record counts per error") {
    ParseCounters counters;
    CHECK(counters.total() == 0);
    counters.record(ParseError::bad_padding);
    counters.record(ParseError::bad_padding);
    counters.record(ParseError::too_short);
    CHECK(counters.by_error[static_cast<std::size_t>(ParseError::bad_padding)] == 2);
    CHECK(counters.by_error[static_cast<std::size_t>(ParseError::too_short)] == 1);
    CHECK(counters.total() == 3);
  }
  SUBCASE("every error has its own name") {
    std::set<std::string> names;
    for (std::size_t i = 0; i < kParseErrorCount; ++i)
      names.insert(to_string(static_cast<ParseError>(i)));
    CHECK(names.size() == kParseErrorCount);
    CHECK(names.count("unknown") == 0);
    CHECK(std::string(to_string(ParseError::extension_truncated)) == "extension_truncated");
  }
}

// =============================================================================================
// RFC 2198 redundancy

TEST_CASE("write_red / parse_red") {
  const Bytes older = pattern(40), newer = pattern(7), primary = pattern(90);

  SUBCASE("two copies and the primary, on the wire as RFC 2198 lays them out") {
    const RedBlock copies[] = {{kOpusPayloadType, 1920, older}, {kOpusPayloadType, 960, newer}};
    Bytes out(200);
    const std::size_t n = write_red(copies, primary, kOpusPayloadType, out);
    REQUIRE(n == 4 + 4 + 1 + 40 + 7 + 90);
    // F=1 | PT 111, offset 1920 (14 bits) | length 40 (10 bits)
    CHECK(out[0] == std::byte{0x80 | 111});
    const std::uint32_t rest = (std::to_integer<std::uint32_t>(out[1]) << 16) | (std::to_integer<std::uint32_t>(out[2]) << 8) |
                               std::to_integer<std::uint32_t>(out[3]);
    const std::uint32_t offset = rest >> 10, length = rest & 0x3ff;
    CHECK(offset == 1920);
    CHECK(length == 40);
    CHECK(out[8] == std::byte{111});  // F=0 | primary PT
    const auto parsed = parse_red(std::span<const std::byte>(out.data(), n));
    REQUIRE(parsed);
    REQUIRE(parsed.payload->redundant_count == 2);
    CHECK(parsed.payload->redundant[0].timestamp_offset == 1920);
    CHECK(parsed.payload->redundant[1].timestamp_offset == 960);
    CHECK(Bytes(parsed.payload->redundant[0].data.begin(), parsed.payload->redundant[0].data.end()) == older);
    CHECK(Bytes(parsed.payload->redundant[1].data.begin(), parsed.payload->redundant[1].data.end()) == newer);
    CHECK(parsed.payload->primary.payload_type == kOpusPayloadType);
    CHECK(Bytes(parsed.payload->primary.data.begin(), parsed.payload->primary.data.end()) == primary);
  }

  SUBCASE("no copies: a one-byte header and the primary") {
    Bytes out(100);
    REQUIRE(write_red({}, primary, kOpusPayloadType, out) == 91);
    const auto parsed = parse_red(std::span<const std::byte>(out.data(), 91));
    REQUIRE(parsed);
    CHECK(parsed.payload->redundant_count == 0);
    CHECK(parsed.payload->primary.data.size() == 90);
  }

  SUBCASE("header limits and a small buffer are refused by the writer") {
    Bytes out(2000);
    const Bytes big = pattern(1024);
    const RedBlock far[] = {{kOpusPayloadType, kRedMaxTimestampOffset + 1, older}};
    const RedBlock large[] = {{kOpusPayloadType, 960, big}};
    CHECK(write_red(far, primary, kOpusPayloadType, out) == 0);
    CHECK(write_red(large, primary, kOpusPayloadType, out) == 0);
    const RedBlock fine[] = {{kOpusPayloadType, 960, older}};
    Bytes small(4 + 1 + 40 + 90 - 1);
    CHECK(write_red(fine, primary, kOpusPayloadType, small) == 0);
    const RedBlock five[] = {fine[0], fine[0], fine[0], fine[0], fine[0]};
    CHECK(write_red(five, primary, kOpusPayloadType, out) == 0);
  }

  SUBCASE("malformed payloads are refused with a reason, never read past") {
    struct Row {
      const char* name;
      Bytes payload;
      RedError error;
    };
    const Row rows[] = {
        {"empty", {}, RedError::truncated_header},
        {"a block header cut short", bytes({0x80 | 111, 0x00, 0x3c}), RedError::truncated_header},
        {"no final header", bytes({0x80 | 111, 0x00, 0x3c, 0x05}), RedError::truncated_header},
        {"a block longer than the payload", bytes({0x80 | 111, 0x00, 0x3c, 0x05, 111, 1, 2, 3}), RedError::truncated_block},
        {"five copies", bytes({0x80, 0, 0, 0, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 111}),
         RedError::too_many_blocks},
    };
    for (const auto& row : rows) {
      CAPTURE(row.name);
      const auto parsed = parse_red(row.payload);
      CHECK_FALSE(parsed);
      CHECK(parsed.error == row.error);
      CHECK(std::string(to_string(parsed.error)).rfind("red_", 0) == 0);
    }
    // A copy of length 0 and an empty primary are well-formed; what to do with them is the receiver's call.
    const auto empty_blocks = parse_red(bytes({0x80 | 111, 0x00, 0x3c, 0x00, 111}));
    REQUIRE(empty_blocks);
    CHECK(empty_blocks.payload->redundant[0].data.empty());
    CHECK(empty_blocks.payload->primary.data.empty());
  }
}
