#include <doctest/doctest.h>

#include "bytes.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "pttcam/control/messages.hpp"
#include "pttcam/control/wire.hpp"
#include "pttcam/rtp/packet.hpp"

using namespace pttcam::control;

namespace {

using pttcam::test::Bytes;
using pttcam::test::bytes;

Bytes text(const std::string& s) {
  Bytes out;
  for (char c : s) out.push_back(static_cast<std::byte>(c));
  return out;
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Bytes to_bytes(std::span<const std::byte> view) { return Bytes(view.begin(), view.end()); }

// Header with session id 0x0102030405060708 and sequence 0xA0B0C0D0, then `body`; `length` is the
// body length field, written as given so it can lie.
Bytes raw(int version, int type, int flags, std::size_t length, const Bytes& body) {
  return concat(bytes({kMagic, version, type, flags, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xa0, 0xb0, 0xc0, 0xd0,
                       static_cast<int>(length >> 8), static_cast<int>(length & 0xff)}),
                body);
}

Bytes valid(MessageType type, const Bytes& body) {
  return raw(kVersion, static_cast<int>(type), 0, body.size(), body);
}

Message message(Body body, std::uint64_t session_id = 0x0102030405060708,
                std::uint32_t sequence = 0xa0b0c0d0) {
  return Message{
      .version = kVersion, .session_id = session_id, .sequence = sequence, .body = std::move(body)};
}

// Every printable character, cut to kMaxIdLength.
std::string longest_id() {
  std::string s;
  for (char c = 0x20; s.size() < kMaxIdLength;
       c = c == 0x7e ? char{0x20} : static_cast<char>(c + 1))
    s.push_back(c);
  return s;
}

}  // namespace

TEST_CASE("type_of / to_string") {
  SUBCASE("type_of follows the body alternative") {
    CHECK(type_of(LiveViewStart{}) == MessageType::live_view_start);
    CHECK(type_of(Accept{}) == MessageType::accept);
    CHECK(type_of(Reject{}) == MessageType::reject);
    CHECK(type_of(SessionEnd{}) == MessageType::session_end);
    CHECK(type_of(SessionWarning{}) == MessageType::session_warning);
    CHECK(type_of(TalkRequest{}) == MessageType::talk_request);
    CHECK(type_of(TalkGranted{}) == MessageType::talk_granted);
    CHECK(type_of(TalkDenied{}) == MessageType::talk_denied);
    CHECK(type_of(TalkRelease{}) == MessageType::talk_release);
    CHECK(type_of(Keepalive{}) == MessageType::keepalive);
  }
  SUBCASE("message types") {
    const std::vector<std::string> names = {
        "live_view_start", "accept",       "reject",      "session_end",  "session_warning",
        "talk_request",    "talk_granted", "talk_denied", "talk_release", "keepalive",   "retry"};
    for (std::size_t i = 0; i < names.size(); ++i)
      CHECK(std::string(to_string(static_cast<MessageType>(i + 1))) == names[i]);
    CHECK(std::string(to_string(static_cast<MessageType>(0))) == "unknown");
    CHECK(std::string(to_string(static_cast<MessageType>(12))) == "unknown");
    CHECK(std::string(to_string(static_cast<MessageType>(0xff))) == "unknown");
  }
  SUBCASE("reasons") {
    CHECK(std::string(to_string(RejectReason::busy)) == "busy");
    CHECK(std::string(to_string(RejectReason::unknown_camera)) == "unknown_camera");
    CHECK(std::string(to_string(RejectReason::unsupported_version)) == "unsupported_version");
    CHECK(std::string(to_string(RejectReason::booting)) == "booting");
    CHECK(std::string(to_string(static_cast<RejectReason>(0))) == "unknown");
    CHECK(std::string(to_string(RejectReason::pairing_required)) == "pairing_required");
    CHECK(std::string(to_string(static_cast<RejectReason>(6))) == "unknown");

    CHECK(std::string(to_string(EndReason::time_limit)) == "time_limit");
    CHECK(std::string(to_string(EndReason::client_stopped)) == "client_stopped");
    CHECK(std::string(to_string(EndReason::camera_shutdown)) == "camera_shutdown");
    CHECK(std::string(to_string(EndReason::keepalive_timeout)) == "keepalive_timeout");
    CHECK(std::string(to_string(EndReason::camera_rebooted)) == "camera_rebooted");
    CHECK(std::string(to_string(static_cast<EndReason>(0))) == "unknown");
    CHECK(std::string(to_string(static_cast<EndReason>(6))) == "unknown");

    CHECK(std::string(to_string(DenyReason::no_speaker)) == "no_speaker");
    CHECK(std::string(to_string(DenyReason::speaker_busy)) == "speaker_busy");
    CHECK(std::string(to_string(DenyReason::session_ending)) == "session_ending");
    CHECK(std::string(to_string(DenyReason::no_session)) == "no_session");
    CHECK(std::string(to_string(static_cast<DenyReason>(0))) == "unknown");
    CHECK(std::string(to_string(static_cast<DenyReason>(5))) == "unknown");
  }
  SUBCASE("decode errors") {
    const std::vector<std::string> names = {"too_short",  "bad_magic",        "unsupported_version",
                                            "bad_flags",  "auth_unsupported", "unknown_type",
                                            "bad_length", "bad_body"};
    REQUIRE(names.size() == kDecodeErrorCount);
    for (std::size_t i = 0; i < names.size(); ++i)
      CHECK(std::string(to_string(static_cast<DecodeError>(i))) == names[i]);
    CHECK(std::string(to_string(static_cast<DecodeError>(kDecodeErrorCount))) == "unknown");
  }
}

TEST_CASE("MessageWriter / decode round trip") {
  MessageWriter writer;

  SUBCASE("TalkRequest: exact bytes") {
    const auto out = writer.write(message(TalkRequest{.burst = 0xdeadbeef}));
    const Bytes expected = bytes({0x50, 0x02, 0x06, 0x00,  // magic, version, type, flags
                                  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // session id
                                  0xa0, 0xb0, 0xc0, 0xd0,  // sequence
                                  0x00, 0x04,              // body length
                                  0xde, 0xad, 0xbe, 0xef});
    CHECK(to_bytes(out) == expected);
    const auto result = decode(expected);
    REQUIRE(result);
    CHECK(*result.message == message(TalkRequest{.burst = 0xdeadbeef}));
  }
  SUBCASE("Accept: exact bytes, strings as length + characters") {
    const Accept accept{.session_limit_ms = 300000,
                        .remaining_ms = 120000,
                        .keepalive_interval_ms = 1000,
                        .capabilities = kCapSpeaker | kCapMicrophone,
                        .boot_id = 0x11223344,
                        .model = "CAM-1",
                        .serial = ""};
    const auto out = writer.write(message(accept, 7, 1));
    const Bytes expected = bytes({0x50, 0x02, 0x02, 0x00, 0, 0, 0, 0, 0,   0,    0,    7,    0,
                                  0,    0,    1,    0x00, 22,  0x00, 0x04, 0x93, 0xe0,  // 300000
                                  0x00, 0x01, 0xd4, 0xc0,                               // 120000
                                  0x03, 0xe8,                                           // 1000
                                  0x03,                    // capabilities
                                  0x11, 0x22, 0x33, 0x44,  // boot id
                                  5,    'C',  'A',  'M',  '-', '1',  0});
    CHECK(to_bytes(out) == expected);
    const auto result = decode(expected);
    REQUIRE(result);
    CHECK(*result.message == message(accept, 7, 1));
  }
  SUBCASE("every type with representative and extreme values") {
    const std::string id = longest_id();
    REQUIRE(id.size() == kMaxIdLength);
    std::vector<Message> messages = {
        message(LiveViewStart{}, 0, 0),
        message(LiveViewStart{.camera_id = "front-door", .cookie = {}}, 0, 1),
        message(LiveViewStart{.camera_id = id, .cookie = {}}, 0, 0xffffffff),
        message(LiveViewStart{.camera_id = " ", .cookie = {}}),
        message(LiveViewStart{.camera_id = "~", .cookie = {}}),
        message(LiveViewStart{.camera_id = "cam", .cookie = {true, {std::byte{1}, std::byte{0xff}}}}, 0, 2),
        message(Retry{.cookie = {true, {std::byte{0xaa}}}}, 0, 7),
        message(Retry{}, 0xffffffffffffffff, 7),
        message(Accept{}, 0xffffffffffffffff, 0xffffffff),
        message(Accept{.session_limit_ms = 0xffffffff,
                       .remaining_ms = 0xffffffff,
                       .keepalive_interval_ms = 0xffff,
                       .capabilities = 0xff,
                       .boot_id = 0xffffffff,
                       .model = id,
                       .serial = id}),
        message(Accept{.session_limit_ms = 60000,
                       .remaining_ms = 59000,
                       .keepalive_interval_ms = 2000,
                       .capabilities = kCapSpeaker,
                       .boot_id = 42,
                       .model = "SimCam 2",
                       .serial = "SN-0001"}),
        message(Reject{.reason = RejectReason::busy, .camera_version = 0}),
        message(Reject{.reason = RejectReason::unknown_camera, .camera_version = 1}),
        message(Reject{.reason = RejectReason::unsupported_version, .camera_version = 0xff}),
        message(Reject{.reason = RejectReason::booting}),
        message(Reject{.reason = RejectReason::pairing_required}),
        message(SessionWarning{.remaining_ms = 0}),
        message(SessionWarning{.remaining_ms = 10000}),
        message(SessionWarning{.remaining_ms = 0xffffffff}),
        message(TalkRequest{.burst = 0}),
        message(TalkRequest{.burst = 0xffffffff}),
        message(TalkGranted{.burst = 1}),
        message(TalkGranted{.burst = 0xffffffff}),
        message(TalkRelease{.burst = 0x80000000}),
        message(Keepalive{.remaining_ms = 0}),
        message(Keepalive{.remaining_ms = 0xffffffff}),
    };
    for (auto reason :
         {EndReason::time_limit, EndReason::client_stopped, EndReason::camera_shutdown,
          EndReason::keepalive_timeout, EndReason::camera_rebooted})
      messages.push_back(message(SessionEnd{.reason = reason}));
    for (auto reason : {DenyReason::no_speaker, DenyReason::speaker_busy,
                        DenyReason::session_ending, DenyReason::no_session})
      messages.push_back(message(TalkDenied{.burst = 0xfffffffe, .reason = reason}));

    std::set<MessageType> types;
    for (const auto& m : messages) {
      CAPTURE(to_string(type_of(m.body)));
      types.insert(type_of(m.body));
      const Bytes out = to_bytes(writer.write(m));
      REQUIRE(out.size() >= kHeaderSize);
      CHECK(out[2] == static_cast<std::byte>(type_of(m.body)));
      const auto result = decode(out);
      REQUIRE(result);
      CHECK(*result.message == m);
      CHECK(result.version == kVersion);
      CHECK(result.session_id == m.session_id);
      CHECK(result.sequence == m.sequence);
    }
    CHECK(types.size() == std::variant_size_v<Body>);
  }
  SUBCASE("the writer refuses what a receiver would reject") {
    const std::string too_long(kMaxIdLength + 1, 'x');
    for (const std::string& bad :
         {too_long, std::string("a\x1f"), std::string("\x7f"), std::string(1, '\0'),
          std::string("caf\xc3\xa9"), std::string("line\n")}) {
      CAPTURE(bad);
      CHECK(writer.write(message(LiveViewStart{.camera_id = bad, .cookie = {}})).empty());
      Accept bad_model;
      bad_model.model = bad;
      Accept bad_serial;
      bad_serial.serial = bad;
      CHECK(writer.write(message(bad_model)).empty());
      CHECK(writer.write(message(bad_serial)).empty());
    }
    CHECK(writer.write(message(Reject{.reason = static_cast<RejectReason>(0)})).empty());
    CHECK(writer.write(message(Reject{.reason = static_cast<RejectReason>(6)})).empty());
    CHECK(writer.write(message(SessionEnd{.reason = static_cast<EndReason>(0)})).empty());
    CHECK(writer.write(message(SessionEnd{.reason = static_cast<EndReason>(6)})).empty());
    CHECK(writer.write(message(TalkDenied{.burst = 1, .reason = static_cast<DenyReason>(0)}))
              .empty());
    CHECK(writer.write(message(TalkDenied{.burst = 1, .reason = static_cast<DenyReason>(5)}))
              .empty());
  }
  SUBCASE("each write replaces the previous one") {
    const std::string id = longest_id();
    CHECK(writer.write(message(Accept{.model = id, .serial = id})).size() ==
          kHeaderSize + 15 + 2 * 65);
    const auto out = writer.write(message(Keepalive{.remaining_ms = 5}));
    CHECK(to_bytes(out) == valid(MessageType::keepalive, bytes({0, 0, 0, 5})));
  }
}

TEST_CASE("decode rejects malformed datagrams") {
  const Bytes burst = bytes({0x00, 0x00, 0x00, 0x2a});
  const Bytes talk = valid(MessageType::talk_request, burst);
  const auto id_of = [](std::size_t n, int fill) {
    return concat(bytes({static_cast<int>(n)}), Bytes(n, std::byte(fill)));
  };

  SUBCASE("one row per way to be wrong, every error covered") {
    struct Row {
      const char* what;
      Bytes datagram;
      DecodeError error;
    };
    const std::vector<Row> rows = {
        {"empty", {}, DecodeError::too_short},
        {"magic only", bytes({kMagic}), DecodeError::too_short},
        {"header one byte short", Bytes(talk.begin(), talk.begin() + kHeaderSize - 1), DecodeError::too_short},
        {"magic and version only", Bytes(talk.begin(), talk.begin() + 2), DecodeError::too_short},
        {"RTP version 2 first byte", concat(bytes({0x80}), Bytes(talk.begin() + 1, talk.end())),
         DecodeError::bad_magic},
        {"magic off by one", concat(bytes({0x51}), Bytes(talk.begin() + 1, talk.end())),
         DecodeError::bad_magic},
        {"first byte 0", concat(bytes({0x00}), Bytes(talk.begin() + 1, talk.end())),
         DecodeError::bad_magic},
        {"version 0", raw(0, 6, 0, 4, burst), DecodeError::unsupported_version},
        {"version 1", raw(1, 6, 0, 4, burst), DecodeError::unsupported_version},
        {"version 1's shortest START", bytes({kMagic, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0}),
         DecodeError::unsupported_version},
        {"version 3, bad everything else", raw(3, 0xff, 0xff, 9, {}),
         DecodeError::unsupported_version},
        {"flag bit 1", raw(kVersion, 6, 0x02, 4, burst), DecodeError::bad_flags},
        {"flag bit 7", raw(kVersion, 6, 0x80, 4, burst), DecodeError::bad_flags},
        {"auth bit with an unknown bit", raw(kVersion, 6, 0x03, 4, burst), DecodeError::bad_flags},
        {"auth bit", raw(kVersion, 6, kFlagAuthTag, 4, burst), DecodeError::auth_unsupported},
        {"auth bit with a tag after the body", raw(kVersion, 6, kFlagAuthTag, 4, concat(burst, Bytes(16))),
         DecodeError::auth_unsupported},
        {"type 0", raw(kVersion, 0, 0, 4, burst), DecodeError::unknown_type},
        {"type one past retry", raw(kVersion, 0x0c, 0, 4, burst), DecodeError::unknown_type},
        {"type 0xff", raw(kVersion, 0xff, 0, 4, burst), DecodeError::unknown_type},
        {"length says more than sent", raw(kVersion, 6, 0, 5, burst), DecodeError::bad_length},
        {"length says less than sent", raw(kVersion, 6, 0, 3, burst), DecodeError::bad_length},
        {"length 0xffff", raw(kVersion, 6, 0, 0xffff, burst), DecodeError::bad_length},
        {"length 0 with a body", raw(kVersion, 6, 0, 0, burst), DecodeError::bad_length},
        {"trailing byte", concat(talk, bytes({0})), DecodeError::bad_length},
        {"u32 body cut to 3 bytes", valid(MessageType::talk_request, bytes({0, 0, 0})),
         DecodeError::bad_body},
        {"u32 body with an extra byte", valid(MessageType::talk_granted, bytes({0, 0, 0, 1, 0})),
         DecodeError::bad_body},
        {"empty keepalive", valid(MessageType::keepalive, {}), DecodeError::bad_body},
        {"reject reason 0", valid(MessageType::reject, bytes({0, 1})), DecodeError::bad_body},
        {"reject reason 6", valid(MessageType::reject, bytes({6, 1})), DecodeError::bad_body},
        {"reject without camera version", valid(MessageType::reject, bytes({1})),
         DecodeError::bad_body},
        {"end reason 0", valid(MessageType::session_end, bytes({0})), DecodeError::bad_body},
        {"end reason 6", valid(MessageType::session_end, bytes({6})), DecodeError::bad_body},
        {"deny reason 0", valid(MessageType::talk_denied, bytes({0, 0, 0, 1, 0})),
         DecodeError::bad_body},
        {"deny reason 5", valid(MessageType::talk_denied, bytes({0, 0, 0, 1, 5})),
         DecodeError::bad_body},
        {"deny without reason", valid(MessageType::talk_denied, bytes({0, 0, 0, 1})),
         DecodeError::bad_body},
        {"string without its length", valid(MessageType::live_view_start, {}),
         DecodeError::bad_body},
        {"string longer than kMaxIdLength",
         valid(MessageType::live_view_start, id_of(kMaxIdLength + 1, 'a')), DecodeError::bad_body},
        {"string length past the body",
         valid(MessageType::live_view_start, concat(bytes({5}), text("abcd"))),
         DecodeError::bad_body},
        {"string with DEL",
         valid(MessageType::live_view_start, concat(bytes({2}), bytes({'a', 0x7f}))),
         DecodeError::bad_body},
        {"string with a control character",
         valid(MessageType::live_view_start, concat(bytes({1}), bytes({0x1f}))),
         DecodeError::bad_body},
        {"string with a non-ASCII byte",
         valid(MessageType::live_view_start, concat(bytes({1}), bytes({0xc3}))),
         DecodeError::bad_body},
        {"string with a byte after it",
         valid(MessageType::live_view_start, concat(id_of(2, 'a'), bytes({0, 0}))),
         DecodeError::bad_body},
        {"start without a cookie length", valid(MessageType::live_view_start, id_of(2, 'a')),
         DecodeError::bad_body},
        {"cookie of 15 bytes", valid(MessageType::live_view_start, concat(id_of(0, 'a'), id_of(15, 1))),
         DecodeError::bad_body},
        {"cookie cut short", valid(MessageType::live_view_start, concat(id_of(0, 'a'), Bytes(16, std::byte{16}))),
         DecodeError::bad_body},
        {"retry without its cookie length", valid(MessageType::retry, {}), DecodeError::bad_body},
        {"retry with a byte after the cookie", valid(MessageType::retry, concat(id_of(16, 1), bytes({0}))),
         DecodeError::bad_body},
        {"accept without serial", valid(MessageType::accept, concat(Bytes(15), id_of(3, 'm'))),
         DecodeError::bad_body},
        {"accept with a bad serial",
         valid(MessageType::accept, concat(concat(Bytes(15), id_of(3, 'm')), id_of(2, 0x0a))),
         DecodeError::bad_body},
    };
    std::set<DecodeError> seen;
    for (const auto& row : rows) {
      CAPTURE(row.what);
      const auto result = decode(row.datagram);
      CHECK_FALSE(result);
      CHECK(std::string(to_string(result.error)) == to_string(row.error));
      seen.insert(row.error);
    }
    CHECK(seen.size() == kDecodeErrorCount);
    // The bad_body rows differ from valid messages only in the body: the last accept row with a
    // printable serial decodes, so the table is not rejecting for some other reason.
    CHECK(decode(
        valid(MessageType::accept, concat(concat(Bytes(15), id_of(3, 'm')), id_of(2, 's')))));
    CHECK(decode(valid(MessageType::live_view_start, concat(id_of(kMaxIdLength, 'a'), bytes({0})))));
    CHECK(decode(valid(MessageType::live_view_start, concat(id_of(0, 'a'), id_of(16, 1)))));
    CHECK(decode(valid(MessageType::retry, id_of(16, 1))));
  }
  SUBCASE("header fields are reported only once a header has been read") {
    const auto short_result = decode(Bytes(talk.begin(), talk.begin() + kHeaderSize - 1));
    CHECK(short_result.version == kVersion);
    CHECK(short_result.session_id == 0);
    CHECK(decode(Bytes(talk.begin(), talk.begin() + 3)).version == 0);
    const auto bad_flags = decode(raw(kVersion, 6, 0x02, 4, burst));
    CHECK(bad_flags.error == DecodeError::bad_flags);
    CHECK(bad_flags.session_id == 0x0102030405060708);
    CHECK(bad_flags.sequence == 0xa0b0c0d0);
  }
  SUBCASE("unsupported version: only the version is read (other versions lay out the rest differently)") {
    for (int version : {0, 1, 3, 0xff}) {
      CAPTURE(version);
      Bytes datagram = raw(version, 0x0b, 0x01, 0xffff, Bytes(40));  // nothing else checked
      const auto result = decode(datagram);
      CHECK_FALSE(result);
      CHECK(result.error == DecodeError::unsupported_version);
      CHECK(result.version == version);
      CHECK(result.session_id == 0);
      CHECK(result.sequence == 0);
    }
    // What a newer client sends, built with the writer: the version is written as given.
    MessageWriter writer;
    Message newer = message(LiveViewStart{.camera_id = "cam", .cookie = {}}, 0, 77);
    newer.version = kVersion + 1;
    const auto result = decode(writer.write(newer));
    CHECK(result.error == DecodeError::unsupported_version);
    CHECK(result.version == kVersion + 1);
  }
  SUBCASE("an Accept truncated at every length") {
    MessageWriter writer;
    const std::string id = longest_id();
    const Bytes full = to_bytes(writer.write(message(Accept{.session_limit_ms = 1,
                                                            .remaining_ms = 2,
                                                            .keepalive_interval_ms = 3,
                                                            .capabilities = 4,
                                                            .boot_id = 5,
                                                            .model = id,
                                                            .serial = id})));
    REQUIRE(decode(full));
    for (std::size_t n = 0; n < full.size(); ++n) {
      CAPTURE(n);
      const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));  // exact size
      const auto result = decode(cut);
      CHECK_FALSE(result);
      CHECK(result.error == (n < kHeaderSize ? DecodeError::too_short : DecodeError::bad_length));
      if (n >= kHeaderSize) {
        // With the length field made consistent, the body parser sees every prefix of the body.
        Bytes patched = cut;
        patched[16] = static_cast<std::byte>((n - kHeaderSize) >> 8);
        patched[17] = static_cast<std::byte>(n - kHeaderSize);
        CHECK(decode(patched).error == DecodeError::bad_body);
      }
    }
  }
}

TEST_CASE("DecodeCounters") {
  DecodeCounters counters;
  CHECK(counters.total() == 0);
  for (std::size_t i = 0; i < kDecodeErrorCount; ++i)
    for (std::size_t k = 0; k <= i; ++k) counters.record(static_cast<DecodeError>(i));
  for (std::size_t i = 0; i < kDecodeErrorCount; ++i) CHECK(counters.by_error[i] == i + 1);
  CHECK(counters.total() == kDecodeErrorCount * (kDecodeErrorCount + 1) / 2);
  counters.record(static_cast<DecodeError>(kDecodeErrorCount));  // out of range: ignored
  CHECK(counters.total() == kDecodeErrorCount * (kDecodeErrorCount + 1) / 2);
}

TEST_CASE("is_control") {
  SUBCASE("only the magic byte marks a control datagram") {
    CHECK_FALSE(is_control({}));
    for (int first = 0; first <= 0xff; ++first) {
      CAPTURE(first);
      CHECK(is_control(bytes({first})) == (first == 0x50));
    }
    for (int first = 0x80; first <= 0xbf; ++first)
      CHECK_FALSE(is_control(bytes({first, 0x6f, 0, 1})));
  }
  SUBCASE("real datagrams of both kinds") {
    MessageWriter writer;
    CHECK(is_control(writer.write(message(Keepalive{}))));
    pttcam::rtp::RtpWriter rtp;
    pttcam::rtp::RtpExtras extras;
    extras.capture_time_us = 1;
    extras.end_of_burst = true;
    const auto media = rtp.write({}, extras, bytes({1, 2, 3}));
    REQUIRE_FALSE(media.empty());
    CHECK_FALSE(is_control(media));
    CHECK(decode(media).error == DecodeError::bad_magic);
  }
}
