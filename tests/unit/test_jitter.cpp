#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "playout_scenarios.hpp"
#include "pttcam/jitter/burst_clock.hpp"
#include "pttcam/jitter/delay_estimator.hpp"
#include "pttcam/jitter/interarrival_jitter.hpp"
#include "pttcam/jitter/jitter_buffer.hpp"
#include "pttcam/jitter/packet_store.hpp"
#include "pttcam/jitter/playout_decision.hpp"
#include "fixed_delay_playout.hpp"

using namespace pttcam::jitter;
using namespace pttcam::test;  // packets, scenarios and the driver (tests/support/playout_scenarios.hpp)

namespace {

// The counters only the jitter buffer has.
std::string extra_text(const JitterCounters& c) {
  return "reordered=" + std::to_string(c.reordered) + " concealment_events=" + std::to_string(c.concealment_events) +
         " without_marker=" + std::to_string(c.bursts_without_marker) + " overflow=" + std::to_string(c.overflow);
}

// A jitter buffer whose estimator cannot move: it must behave exactly like FixedDelayPlayout.
JitterBuffer::Config fixed(FixedDelayPlayout::Config c) {
  JitterBuffer::Config j;
  j.min_delay_us = c.delay_us;
  j.max_delay_us = c.delay_us;
  j.initial_delay_us = c.delay_us;
  j.max_conceal_samples = c.max_conceal_samples;
  return j;
}

// FixedDelayPlayout is the reference the JitterBuffer is held to, so every scenario runs against
// both, each checked against the same steps: whatever one plays, the other plays too. This is
// also where FixedDelayPlayout's own behaviour is tested (test_playout.cpp keeps only its flush).
void run(const Scenario& sc) {
  {
    const std::string playout = "FixedDelayPlayout";
    CAPTURE(playout);
    FixedDelayPlayout reference(sc.config);
    run_scenario(reference, sc);
  }
  const std::string playout = "JitterBuffer";
  CAPTURE(playout);
  JitterBuffer jb(fixed(sc.config));
  run_scenario(jb, sc, [&](const JitterBuffer& b) {
    // The fixed delay is the delay of every burst, and there is none while idle.
    CHECK(b.current_delay_us() == (b.in_burst() ? sc.config.delay_us : 0));
  });
  if (sc.extra) CHECK(extra_text(jb.counters()) == std::string(sc.extra));
  CHECK(jb.target_delay_us() == sc.config.delay_us);
}

// Small portable PRNG (std distributions differ between standard libraries).
struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    state += 0x9E37'79B9'7F4A'7C15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBULL;
    return z ^ (z >> 31);
  }
  std::int64_t uniform(std::int64_t lo, std::int64_t hi) {  // inclusive
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
};

// One packet into the jitter buffer (which copies its bytes).
InsertResult feed(JitterBuffer& jb, const Pkt& p, Micros arrival) {
  const auto bytes = payload_of(p);
  return jb.insert(packet_of(p, bytes), arrival);
}

}  // namespace

// =============================================================================================

TEST_CASE("PacketStore") {
  using R = PacketStore::Result;
  constexpr auto kSpan = static_cast<std::int64_t>(PacketStore::kSlots);

  SUBCASE("insert results, table-driven") {
    enum class Op { insert, erase, floor, give_up, reset };
    struct Do {
      Op op;
      std::int64_t seq;
      R want = R::stored;          // insert
      std::size_t dropped = 0;     // give_up
      std::size_t size = 0;        // waiting afterwards
      std::size_t payload = 5;     // insert
    };
    struct Row {
      const char* name;
      std::vector<Do> ops;
    };
    const Row rows[] = {
        {"in order across 0xFFFF -> 0 (unwrapped), then a duplicate",
         {{Op::insert, 0xFFFE, R::stored, 0, 1}, {Op::insert, 0xFFFF, R::stored, 0, 2},
          {Op::insert, 0x10000, R::stored, 0, 3}, {Op::insert, 0x10001, R::stored, 0, 4},
          {Op::insert, 0x10000, R::duplicate, 0, 4}}},
        {"numbers below zero (late packets from before the first one)",
         {{Op::insert, 2, R::stored, 0, 1}, {Op::insert, -1, R::stored, 0, 2}, {Op::insert, -3, R::stored, 0, 3},
          {Op::insert, -1, R::duplicate, 0, 3}, {Op::insert, -1 + kSpan, R::full, 0, 3}}},
        {"the floor refuses at or below it",
         {{Op::floor, 10, R::stored, 0, 0}, {Op::insert, 10, R::too_late, 0, 0}, {Op::insert, 9, R::too_late, 0, 0},
          {Op::insert, -5, R::too_late, 0, 0}, {Op::insert, 11, R::stored, 0, 1},
          {Op::insert, 11, R::duplicate, 0, 1}}},
        {"too late comes before duplicate",
         {{Op::insert, 7, R::stored, 0, 1}, {Op::floor, 7, R::stored, 0, 0}, {Op::insert, 7, R::too_late, 0, 0}}},
        {"full: kSlots above the oldest waiting packet",
         {{Op::insert, 100, R::stored, 0, 1}, {Op::insert, 100 + kSpan - 1, R::stored, 0, 2},
          {Op::insert, 100 + kSpan, R::full, 0, 2}, {Op::erase, 100, R::stored, 0, 1},
          {Op::insert, 100 + kSpan, R::stored, 0, 2}}},
        {"too old: kSlots below the newest waiting packet",
         {{Op::insert, 300, R::stored, 0, 1}, {Op::insert, 300 - kSpan + 1, R::stored, 0, 2},
          {Op::insert, 300 - kSpan, R::too_old, 0, 2}, {Op::insert, 300 - kSpan - 1000, R::too_old, 0, 2}}},
        {"an empty store takes any number above the floor",
         {{Op::floor, 5, R::stored, 0, 0}, {Op::insert, 5 + 10 * kSpan, R::stored, 0, 1},
          {Op::erase, 5 + 10 * kSpan, R::stored, 0, 0}, {Op::insert, 6, R::stored, 0, 1}}},
        {"payload over kMaxPayload",
         {{Op::insert, 1, R::too_large, 0, 0, PacketStore::kMaxPayload + 1},
          {Op::insert, 1, R::stored, 0, 1, PacketStore::kMaxPayload}, {Op::insert, 2, R::stored, 0, 2, 0}}},
        {"a raised floor drops what it covers; a lowered one drops nothing",
         {{Op::insert, 5, R::stored, 0, 1}, {Op::insert, 6, R::stored, 0, 2}, {Op::insert, 7, R::stored, 0, 3},
          {Op::floor, 6, R::stored, 0, 1}, {Op::floor, 2, R::stored, 0, 1}, {Op::insert, 3, R::stored, 0, 2}}},
        {"give_up_through raises the floor only, and says how many it dropped",
         {{Op::insert, 5, R::stored, 0, 1}, {Op::insert, 6, R::stored, 0, 2}, {Op::insert, 8, R::stored, 0, 3},
          {Op::give_up, 6, R::stored, 2, 1}, {Op::give_up, 4, R::stored, 0, 1}, {Op::insert, 6, R::too_late, 0, 1},
          {Op::insert, 7, R::stored, 0, 2}}},
        {"reset forgets the floor",
         {{Op::floor, 10, R::stored, 0, 0}, {Op::insert, 11, R::stored, 0, 1}, {Op::reset, 0, R::stored, 0, 0},
          {Op::insert, 5, R::stored, 0, 1}}},
    };
    for (const auto& row : rows) {
      const std::string name = row.name;
      CAPTURE(name);
      PacketStore store;
      for (std::size_t i = 0; i < row.ops.size(); ++i) {
        const Do& d = row.ops[i];
        CAPTURE(i);
        switch (d.op) {
          case Op::insert: {
            const std::vector<std::byte> bytes(d.payload, std::byte{7});
            IncomingPacket p;
            p.payload = bytes;
            p.samples = kFrame;
            CHECK(std::string(to_string(store.insert(d.seq, p, 0))) == std::string(to_string(d.want)));
            break;
          }
          case Op::erase: store.erase(d.seq); break;
          case Op::floor: store.set_floor(d.seq); break;
          case Op::give_up: CHECK(store.give_up_through(d.seq) == d.dropped); break;
          case Op::reset: store.reset(); break;
        }
        CHECK(store.size() == d.size);
      }
    }
  }

  SUBCASE("what it keeps and finds") {
    PacketStore store;
    CHECK(store.empty());
    CHECK(store.oldest() == nullptr);
    CHECK_FALSE(store.newest().has_value());
    CHECK(store.earliest() == nullptr);
    CHECK_FALSE(store.has_after(-1'000'000));
    const Pkt pkts[] = {with_fec(mid(12)), first(10), last(13)};
    const Micros arrivals[] = {5'000, 9'000, 3'000};
    for (std::size_t i = 0; i < 3; ++i) {
      const auto bytes = payload_of(pkts[i]);
      CHECK(store.insert(pkts[i].seq, packet_of(pkts[i], bytes), arrivals[i], 100 * static_cast<Micros>(i)) == R::stored);
    }
    REQUIRE(store.oldest() != nullptr);
    CHECK(store.oldest()->seq == 10);
    CHECK(store.newest() == std::optional<std::int64_t>(13));
    REQUIRE(store.earliest() != nullptr);
    CHECK(store.earliest()->seq == 13);
    CHECK(store.earliest()->arrival_us == 3'000);
    CHECK(store.earliest()->above_floor_us == 200);
    CHECK(store.has_after(12));
    CHECK_FALSE(store.has_after(13));
    CHECK(store.find(11) == nullptr);
    const StoredPacket* p = store.find(12);
    REQUIRE(p != nullptr);
    CHECK(p->has_fec);
    CHECK_FALSE(p->marker);
    CHECK(p->arrival_us == 5'000);
    CHECK(p->capture_us == std::optional<Micros>(capture_of(12)));
    CHECK(bytes_of(p->payload()) == payload_of(pkts[0]));
    CHECK(store.find(10)->marker);
    CHECK(store.find(13)->end_of_burst);
    // Erased: gone from the store, but the bytes stay readable until the next insert.
    const auto view = store.find(13)->payload();
    store.erase(13);
    CHECK(store.find(13) == nullptr);
    CHECK(store.size() == 2);
    CHECK(bytes_of(view) == payload_of(pkts[2]));
    store.erase(13);  // twice: nothing happens
    CHECK(store.size() == 2);
    store.clear();
    CHECK(store.empty());
    CHECK_FALSE(store.floor().has_value());
  }
}

// =============================================================================================

TEST_CASE("DelayEstimator") {
  struct Obs {
    Micros delay;
    int count;
    int samples = kFrame;
  };
  struct Row {
    const char* name;
    DelayEstimator::Config config;
    std::vector<Obs> observed;
    Micros target;
  };
  const DelayEstimator::Config dflt{};  // 0 .. 500 ms, 0.5 %, initial 20 ms
  const DelayEstimator::Config min15{15'000, 500'000, 0.005, 20'000};
  const DelayEstimator::Config loose{0, 500'000, 0.1, 20'000};
  const DelayEstimator::Config strict{0, 500'000, 0.0, 20'000};  // k = 1: the second largest
  const Row rows[] = {
      {"nothing seen: the initial delay", dflt, {}, 20'000},
      {"under 1 s of media: at least the initial delay", dflt, {{0, 49}}, 20'000},
      {"under 1 s of media, higher delays already count", dflt, {{0, 10}, {33'000, 2}}, 33'000},
      {"under 1 s of media, one lone spike does not", dflt, {{0, 10}, {33'000, 1}}, 20'000},
      {"1 s of zero delay: the minimum", dflt, {{0, 50}}, 0},
      {"1 s of zero delay with a minimum", min15, {{0, 50}}, 15'000},
      {"n < 199: k = 1, the second largest", dflt, {{0, 60}, {30'000, 1}, {20'000, 1}, {0, 10}}, 20'000},
      {"n < 199: one lone spike never sets the target", dflt, {{0, 60}, {30'000, 1}, {0, 10}}, 0},
      {"n = 400 (8 s): k = 1, the second largest", dflt, {{50'000, 1}, {30'000, 1}, {0, 398}}, 30'000},
      {"n = 400 with one peak: the peak is allowed late", dflt, {{50'000, 1}, {0, 399}}, 0},
      {"late_target 0.1, n = 99: k = 9, the tenth largest",
       loose,
       {{0, 89}, {1'000, 1}, {2'000, 1}, {3'000, 1}, {4'000, 1}, {5'000, 1}, {6'000, 1}, {7'000, 1}, {8'000, 1},
        {9'000, 1}, {10'000, 1}},
       1'000},
      {"clamped to the maximum", {0, 80'000, 0.005, 20'000}, {{0, 60}, {900'000, 2}}, 80'000},
      {"negative relative delays count as zero", dflt, {{-40'000, 60}}, 0},
      {"the window is 8 s of media: one more frame pushes the first peak out; one peak is allowed late",
       dflt, {{50'000, 1}, {30'000, 1}, {0, 399}}, 0},
      {"... which is 200 frames of 40 ms", dflt, {{50'000, 2, 1920}, {0, 198, 1920}}, 50'000},
      {"... and 200 frames of 40 ms later, gone", dflt, {{50'000, 2, 1920}, {0, 200, 1920}}, 0},
      {"... but never over kCapacity entries (2.5 ms frames)", strict, {{50'000, 2, 120}, {0, 1022, 120}}, 50'000},
      {"... kCapacity reached, the oldest goes", strict, {{50'000, 2, 120}, {0, 1023, 120}}, 0},
      {"min above max: max is raised to min", {30'000, 10'000, 0.005, 0}, {{0, 60}}, 30'000},
      {"late_target above 0.5 is 0.5 (n = 60: k = 29)",
       {0, 500'000, 7.0, 0},
       {{0, 10}, {1'000, 21}, {2'000, 29}},
       1'000},
      {"late_target NaN is 0", {0, 500'000, std::nan(""), 0}, {{1'000, 300}, {2'000, 2}}, 2'000},
  };
  for (const auto& row : rows) {
    const std::string name = row.name;
    CAPTURE(name);
    DelayEstimator est(row.config);
    for (const auto& o : row.observed)
      for (int i = 0; i < o.count; ++i) est.observe(o.delay, o.samples);
    CHECK(est.target_us() == row.target);
  }

  SUBCASE("the window holds the newest entries that cover 8 s of media") {
    DelayEstimator est(dflt);
    for (int i = 0; i < 1000; ++i) est.observe(0, kFrame);
    CHECK(est.window_packets() == 400);
    CHECK(est.window_samples() == DelayEstimator::kWindowSamples);
    CHECK(est.config().late_target == 0.005);
  }
}

// =============================================================================================

TEST_CASE("rtp_to_us") {
  SUBCASE("exact, truncated toward zero") {
    CHECK(pttcam::jitter::rtp_to_us(0) == 0);
    CHECK(pttcam::jitter::rtp_to_us(960) == 20'000);
    CHECK(pttcam::jitter::rtp_to_us(1) == 20);
    CHECK(pttcam::jitter::rtp_to_us(-1) == -20);
    CHECK(pttcam::jitter::rtp_to_us(-48'001) == -1'000'020);
  }
  SUBCASE("tick counts whose product with 10^6 would overflow 64 bits") {
    // 10^13 ticks: 6.6 years of sender timestamps, reached by a sender that advances by 2^31 - 1
    // per packet after ~4,700 packets.
    CHECK(pttcam::jitter::rtp_to_us(10'000'000'000'000) == 208'333'333'333'333);
    CHECK(pttcam::jitter::rtp_to_us(-10'000'000'000'000) == -208'333'333'333'333);
    CHECK(pttcam::jitter::rtp_to_us(INT64_MAX) == pttcam::jitter::kMaxDurationUs);
    CHECK(pttcam::jitter::rtp_to_us(INT64_MIN) == -pttcam::jitter::kMaxDurationUs);
  }
}

TEST_CASE("BurstClock: a sender advancing its timestamp by 2^31 - 1 per packet") {
  // Each packet stays "newer" than the last, so the session timeline's unwrapped tick count grows
  // without bound; samples stay defined (UBSan) and the clock keeps answering.
  pttcam::jitter::BurstClock clock;
  std::uint32_t ts = 0;
  int answered = 0;
  for (int i = 0; i < 6'000; ++i) {
    const auto s = clock.observe(i, ts, i == 0, false, 1'000'000 + i * 20'000, false);
    if (s) {
      ++answered;
      CHECK(s->above_floor_us >= 0);
    }
    ts += 0x7FFF'FFFFu;
  }
  CHECK(answered > 0);
}

TEST_CASE("BurstClock") {
  struct Obs {
    std::int64_t seq;
    std::uint32_t ts;
    Micros arrival;
    bool marker = false;
    bool end = false;
    bool idle = false;
    // Expected: a sample (relative delay, which anchor by order of creation, is it an anchor)
    std::optional<Micros> relative{};
    std::uint64_t burst = 0;
    bool anchor = false;
  };
  constexpr std::uint32_t kTsNearWrap = 0xFFFF'FFFFu - 2 * kFrame + 1;  // wraps after the 2nd packet
  const auto ts_at = [](std::uint32_t base, int frames) {
    return static_cast<std::uint32_t>(base + static_cast<std::uint32_t>(frames * kFrame));
  };
  struct Row {
    const char* name;
    std::vector<Obs> obs;
  };
  const Row rows[] = {
      {"on time across the timestamp wrap: zero",
       {{100, ts_at(kTsNearWrap, 0), 1'000'000, true, false, true, 0, 1, true},
        {101, ts_at(kTsNearWrap, 1), 1'020'000, false, false, false, 0, 1},
        {102, ts_at(kTsNearWrap, 2), 1'040'000, false, false, false, 0, 1},
        {103, ts_at(kTsNearWrap, 3), 1'060'000, false, false, false, 0, 1}}},
      {"late and early against the anchor, across the wrap",
       {{100, ts_at(kTsNearWrap, 0), 0, true, false, false, 0, 1, true},
        {101, ts_at(kTsNearWrap, 1), 25'000, false, false, false, 5'000, 1},
        {102, ts_at(kTsNearWrap, 2), 33'000, false, false, false, -7'000, 1},
        {105, ts_at(kTsNearWrap, 5), 190'000, false, false, false, 90'000, 1}}},
      {"the anchor is the first to arrive, marker or not",
       {{11, 11 * kFrame, 0, false, false, true, 0, 1, true},
        {10, 10 * kFrame, 5'000, true, false, false, 25'000, 1},  // older marker: same burst
        {12, 12 * kFrame, 21'000, false, false, false, 1'000, 1}}},
      {"a newer marker anchors a new burst; its timestamp jump is no delay",
       {{10, 10 * kFrame, 0, true, false, false, 0, 1, true},
        {11, 11 * kFrame, 20'000, false, false, false, 0, 1},
        {12, 0x8000'0000u, 3'000'000, true, false, false, 0, 2, true},
        {13, 0x8000'0000u + kFrame, 3'021'000, false, false, false, 1'000, 2}}},
      {"after the end packet a newer packet anchors without marker",
       {{10, 10 * kFrame, 0, true, false, false, 0, 1, true},
        {11, 11 * kFrame, 20'000, false, true, false, 0, 1},
        {13, 5'000, 900'000, false, false, false, 0, 2, true},
        {14, 5'000 + kFrame, 920'000, false, false, false, 0, 2}}},
      {"idle: a newer packet anchors; a packet not newer does not",
       {{10, 10 * kFrame, 0, true, false, false, 0, 1, true},
        {11, 11 * kFrame, 20'000, false, false, false, 0, 1},
        {11, 11 * kFrame, 30'000, false, false, true, 10'000, 1},  // e.g. a late copy while idle
        {20, 77, 500'000, false, false, true, 0, 2, true}}},
      {"an implausible jump anchors when newest, is ignored when not",
       {{10, 10 * kFrame, 0, true, false, false, 0, 1, true},
        {11, 11 * kFrame, 20'000, false, false, false, 0, 1},
        {12, 12 * kFrame + 48'000 * 10, 40'000, false, false, false, 0, 2, true},  // 10 s ahead, marker lost
        {14, 14 * kFrame + 48'000 * 10, 81'000, false, false, false, 1'000, 2},
        {13, 13 * kFrame, 85'000, false, false, false, std::nullopt},  // 10 s behind its burst
        {9, 9 * kFrame, 90'000, false, false, false, 110'000, 1}}},     // the previous burst's
      {"a late tail of the previous burst is measured on its own anchor",
       {{10, 10 * kFrame, 0, true, false, false, 0, 1, true},
        {11, 11 * kFrame, 20'000, false, false, false, 0, 1},  // 12, the end, is late
        {13, 900'000, 300'000, true, false, false, 0, 2, true},
        {12, 12 * kFrame, 310'000, false, true, false, 270'000, 1},
        {14, 900'000 + kFrame, 321'000, false, false, false, 1'000, 2}}},
      {"a leading packet after an anchor without marker belongs to the new burst",
       {{10, 10 * kFrame, 0, true, false, false, 0, 1, true},
        {11, 11 * kFrame, 20'000, false, true, false, 0, 1},
        {14, 700'000, 900'000, false, false, true, 0, 2, true},  // 12 and 13 still on their way
        {13, 700'000 - kFrame, 905'000, false, false, false, 25'000, 2},
        {12, 700'000 - 2 * kFrame, 906'000, true, false, false, 46'000, 2}}},
  };
  for (const auto& row : rows) {
    const std::string name = row.name;
    CAPTURE(name);
    BurstClock clock;
    std::vector<std::uint64_t> ids;  // anchor ids in order of creation
    for (std::size_t i = 0; i < row.obs.size(); ++i) {
      const Obs& o = row.obs[i];
      CAPTURE(i);
      const auto s = clock.observe(o.seq, o.ts, o.marker, o.end, o.arrival, o.idle);
      REQUIRE(s.has_value() == o.relative.has_value());
      if (!s) continue;
      CHECK(s->relative_delay_us == *o.relative);
      CHECK(s->anchor == o.anchor);
      if (s->anchor) ids.push_back(s->burst);
      REQUIRE(o.burst >= 1);
      REQUIRE(o.burst <= ids.size());
      CHECK(s->burst == ids[o.burst - 1]);
    }
  }

  SUBCASE("the delay above the fastest packet of the burst so far") {
    struct Arr {
      std::int64_t seq;
      Micros arrival;
      bool marker;
      Micros relative;
      Micros above_fastest;
    };
    const std::vector<Arr> arrivals = {
        {10, 0, true, 0, 0},                 // anchor
        {11, 25'000, false, 5'000, 5'000},   // 5 ms after the anchor's pace
        {12, 33'000, false, -7'000, 0},      // 7 ms ahead of it: the fastest now
        {13, 63'000, false, 3'000, 10'000},  // 3 ms behind the anchor, 10 ms behind the fastest
        {20, 900'000, true, 0, 0},           // a new burst starts from scratch
        {21, 922'000, false, 2'000, 2'000},
        {14, 990'000, false, 910'000, 917'000},  // the previous burst's tail: its own fastest
    };
    BurstClock clock;
    for (const auto& a : arrivals) {
      CAPTURE(a.seq);
      const auto ts = static_cast<std::uint32_t>(a.seq * kFrame);
      const auto s = clock.observe(a.seq, ts, a.marker, false, a.arrival, false);
      REQUIRE(s.has_value());
      CHECK(s->relative_delay_us == a.relative);
      CHECK(s->above_fastest_us == a.above_fastest);
    }
  }

  SUBCASE("reset: the next packet anchors") {
    BurstClock clock;
    CHECK(clock.observe(10, 0, true, false, 0, false)->anchor);
    CHECK_FALSE(clock.observe(11, kFrame, false, false, 30'000, false)->anchor);
    clock.reset();
    const auto s = clock.observe(12, 2 * kFrame, false, false, 90'000, false);
    CHECK(s->anchor);
    CHECK(s->relative_delay_us == 0);
  }
}

// =============================================================================================

TEST_CASE("BurstClock: one timeline across bursts") {
  BurstClock clock;
  // ts in frames of 20 ms on one capture clock; arrival in microseconds.
  const auto at = [&](std::int64_t seq, std::int64_t ts_frames, Micros arrival, bool marker = false, bool end = false) {
    const auto s = clock.observe(seq, static_cast<std::uint32_t>(ts_frames * kFrame), marker, end, arrival, false);
    REQUIRE(s.has_value());
    return *s;
  };
  // Burst 1: the fastest packets arrive 10 ms after their timestamp; frame 1 is 6 ms slower.
  CHECK(at(1, 0, 10'000, true).above_floor_us == 0);
  CHECK(at(2, 1, 36'000).above_floor_us == 6'000);
  CHECK(at(3, 2, 50'000).above_floor_us == 0);
  // The end packet is flushed at key-up, 19 ms before its time: it is not a faster path.
  const auto end = at(4, 3, 51'000, false, true);
  CHECK(end.above_floor_us == 0);
  CHECK(end.above_fastest_us == 0);
  // Burst 2, 300 ms (15 frames) later on the same clock: its first packet came 12 ms late.
  const auto second = at(5, 19, 10'000 + 19 * 20'000 + 12'000, true);
  CHECK(second.anchor);
  CHECK(second.above_floor_us == 12'000);
  CHECK(second.above_fastest_us == 0);  // within its own burst it is the fastest so far
  CHECK(at(6, 20, 10'000 + 20 * 20'000).above_floor_us == 0);
  // Burst 3: the sender jumped its timestamps by 10 s: a new timeline, nothing is late.
  const auto jumped = at(7, 20 + 500 + 15, 10'000 + 36 * 20'000 + 30'000, true);
  CHECK(jumped.anchor);
  CHECK(jumped.above_floor_us == 0);
  CHECK(at(8, 20 + 500 + 16, 10'000 + 37 * 20'000 + 34'000).above_floor_us == 4'000);
  // A new stream forgets the timeline.
  clock.reset();
  CHECK(at(100, 7, 5'000, true).above_floor_us == 0);
}

TEST_CASE("InterarrivalJitter") {
  struct Row {
    const char* name;
    std::vector<std::pair<Micros, std::uint64_t>> samples;  // relative delay, burst
    double jitter_us;
  };
  std::vector<std::pair<Micros, std::uint64_t>> alternating;
  for (int i = 0; i < 400; ++i) alternating.push_back({i % 2 ? 10'000 : 0, 1});
  const Row rows[] = {
      {"nothing", {}, 0},
      {"constant delay", {{5'000, 1}, {5'000, 1}, {5'000, 1}}, 0},
      {"one step: |D| / 16", {{0, 1}, {16'000, 1}}, 1'000},
      {"two steps", {{0, 1}, {16'000, 1}, {0, 1}}, 1'000 + (16'000 - 1'000) / 16.0},
      {"no pair across bursts", {{0, 1}, {16'000, 2}, {16'000, 2}}, 0},
      {"alternating 10 ms: converges to 10 ms", alternating, 10'000},
  };
  for (const auto& row : rows) {
    const std::string name = row.name;
    CAPTURE(name);
    InterarrivalJitter j;
    for (const auto& [r, burst] : row.samples) j.observe(r, burst);
    CHECK(j.jitter_us() == doctest::Approx(row.jitter_us).epsilon(1e-6));
  }
  SUBCASE("restart: the next packet pairs with nothing") {
    InterarrivalJitter j;
    j.observe(0, 1);
    j.restart();
    j.observe(16'000, 1);
    CHECK(j.jitter_us() == 0);
  }
}

// =============================================================================================

TEST_CASE("PlayoutDecision") {
  PacketStore store;
  PlayoutDecision decision(store, 4800);
  const auto put = [&](const Pkt& p, Micros arrival, Micros delay, Micros above_floor = 0) {
    const auto bytes = payload_of(p);
    decision.admit(p.seq, p.marker);
    REQUIRE(store.insert(p.seq, packet_of(p, bytes), arrival, above_floor) == PacketStore::Result::stored);
    decision.on_stored(*store.find(p.seq), delay);
  };

  SUBCASE("a first packet that came late has used up part of the delay") {
    put(first(10), 1'000, 30'000, 12'000);  // 12 ms later than the fastest recent packets
    CHECK(decision.start_at_us() == std::optional<Micros>(19'000));
    CHECK(decision.next(19'000, kSilence, 30'000).kind == FrameKind::normal);
    CHECK(decision.current_delay_us() == 30'000);  // above the fastest: 12 late + 18 waited
  }

  SUBCASE("a first packet later than the whole delay plays at once") {
    put(first(10), 1'000, 30'000, 45'000);
    CHECK(decision.start_at_us() == std::optional<Micros>(1'000));
    CHECK(decision.next(1'000, kSilence, 30'000).kind == FrameKind::normal);
    CHECK(decision.current_delay_us() == 45'000);
  }

  SUBCASE("an older packet of the burst that came after the anchor starts it when it is due") {
    put(mid(11), 1'000, 30'000, 0);           // fastest: due at 31 ms, frame 10 at 11 ms
    put(first(10), 5'000, 30'000, 24'000);   // its own due: 5 - 24 + 30 = 11 ms
    CHECK(decision.start_at_us() == std::optional<Micros>(11'000));
    const auto f = decision.next(11'000, kSilence, 30'000);
    CHECK(f.kind == FrameKind::normal);
    CHECK(f.sequence == 10);
    CHECK(decision.current_delay_us() == 30'000);
    // Without timing (a fixed delay) the anchor's clock stands: frame 10 waits for 31 ms.
    PacketStore fixed_store;
    PlayoutDecision fixed(fixed_store, 4800);
    for (const auto& [pkt, arrival] : {std::pair{mid(11), Micros{1'000}}, std::pair{first(10), Micros{5'000}}}) {
      const auto bytes = payload_of(pkt);
      REQUIRE(fixed_store.insert(pkt.seq, packet_of(pkt, bytes), arrival) == PacketStore::Result::stored);
      fixed.on_stored(*fixed_store.find(pkt.seq), 30'000);
    }
    CHECK(fixed.start_at_us() == std::optional<Micros>(31'000));
  }

  SUBCASE("growing inside a burst: a frame that only a copy brought waits one frame for its packet") {
    decision.set_stretch(60'000, false, 45'000);
    put(first(10), 0, 20'000);
    {
      const Pkt copy = mid(11);
      const auto bytes = payload_of(copy);
      REQUIRE(store.insert(copy.seq, packet_of(copy, bytes), 25'000, 0, true) == PacketStore::Result::stored);
    }
    put(mid(12), 25'000, 20'000);
    CHECK(decision.next(20'000, kSilence, 20'000).kind == FrameKind::normal);  // 10
    CHECK(decision.next(40'000, kSilence, 20'000).kind == FrameKind::concealed);  // 20 + 10 < 45: grow
    CHECK(decision.counters().stretched == 1);
    const auto copy = decision.next(60'000, kSilence, 20'000);  // 40 + 10 >= 45: the copy plays
    CHECK(copy.kind == FrameKind::fec);
    CHECK(copy.redundant);
    CHECK(copy.sequence == 11);
    CHECK(decision.counters().redundancy_recovered == 1);
  }

  SUBCASE("growing inside a burst: a missing packet is waited for while the burst plays below the target") {
    decision.set_stretch(60'000, false, 70'000);  // no stall stretching; the target grew to 70 ms
    put(first(10), 0, 20'000);
    put(mid(12), 30'000, 20'000);  // 11 is missing, 12 is here: not a stall
    CHECK(decision.next(20'000, kSilence, 20'000).kind == FrameKind::normal);  // 10
    const auto wait = decision.next(40'000, kSilence, 20'000);                 // 11 due: 20 < 70 - 10
    CHECK(wait.kind == FrameKind::concealed);
    CHECK(decision.counters().stretched == 1);
    CHECK(decision.current_delay_us() == 40'000);
    CHECK(decision.next(60'000, kSilence, 20'000).kind == FrameKind::concealed);  // 40 < 70 - 10: again
    CHECK(decision.counters().stretched == 2);
    CHECK(decision.current_delay_us() == 60'000);
    const auto lost = decision.next(80'000, kSilence, 20'000);  // 60 = 70 - 10: 11 is given up
    CHECK(lost.kind == FrameKind::concealed);
    CHECK(lost.sequence == 11);
    CHECK(decision.counters().stretched == 2);
    CHECK(decision.next(100'000, kSilence, 20'000).sequence == 12);
  }

  SUBCASE("the delay is fixed when the burst's clock starts") {
    put(first(10), 1'000, 30'000);
    CHECK(decision.start_at_us() == std::optional<Micros>(31'000));
    put(mid(11), 2'000, 90'000);  // a later target does not move a clock already running
    CHECK(decision.start_at_us() == std::optional<Micros>(31'000));
    CHECK(decision.next(30'999, kSilence, 90'000).kind == FrameKind::silence);
    CHECK(decision.current_delay_us() == 0);
    const auto f = decision.next(31'000, kSilence, 90'000);
    CHECK(f.kind == FrameKind::normal);
    CHECK(f.burst_start);
    CHECK(decision.current_delay_us() == 30'000);
    CHECK_FALSE(decision.start_at_us().has_value());
  }

  SUBCASE("a burst starting at a packet without marker is counted") {
    put(mid(11), 0, 0);
    put(last(12), 20'000, 0);
    CHECK(decision.next(0, kSilence, 0).sequence == 11);
    CHECK(decision.next(20'000, kSilence, 0).burst_end);
    CHECK(decision.counters().bursts == 1);
    CHECK(decision.counters().bursts_without_marker == 1);
  }

  SUBCASE("concealment events count runs, not frames") {
    put(first(10), 0, 0);
    put(mid(13), 0, 0);
    put(with_fec(mid(16)), 0, 0);
    put(mid(17), 0, 0);
    put(last(19), 0, 0);
    std::string kinds;
    for (int i = 0; i < 10; ++i) kinds += to_string(decision.next(i * kPeriod, kSilence, 0).kind)[0];
    CHECK(kinds == "nccnc" "fnncn");  // 10, 11-12 PLC, 13, 14 PLC, 15 FEC, 16, 17, 18 PLC, 19
    CHECK(decision.counters().concealed == 4);
    CHECK(decision.counters().concealment_events == 3);
    CHECK(decision.counters().fec_recovered == 1);
    CHECK(decision.counters().lost == 5);
  }

  SUBCASE("numbers the store gave up on are skipped, not concealed") {
    put(first(10), 0, 0);
    put(mid(11), 0, 0);
    put(mid(15), 0, 0);
    CHECK(decision.next(0, kSilence, 0).sequence == 10);
    CHECK(store.give_up_through(13) == 1);  // 11 dropped; 12, 13 never came
    const auto f = decision.next(20'000, kSilence, 0);
    CHECK(f.kind == FrameKind::concealed);  // 14: missing, 15 waits
    CHECK(f.sequence == 14);
    CHECK(decision.next(40'000, kSilence, 0).sequence == 15);
    CHECK(decision.counters().lost == 1);
  }

  SUBCASE("reset: idle, nothing waits, no floor") {
    put(first(10), 0, 0);
    CHECK(decision.next(0, kSilence, 0).kind == FrameKind::normal);
    decision.reset();
    CHECK_FALSE(decision.in_burst());
    CHECK(store.empty());
    CHECK_FALSE(store.floor().has_value());
    CHECK(decision.next(10'000, kSilence, 0).kind == FrameKind::silence);
  }
}

// =============================================================================================

TEST_CASE("JitterBuffer") {
  // Every subcase below that calls run() holds FixedDelayPlayout and the fixed-delay JitterBuffer
  // to the same steps (see run() above).
  const char* const clean_extra = "reordered=0 concealment_events=0 without_marker=0 overflow=0";

  SUBCASE("idle: silence of the requested length") {
    std::vector<Step> steps;
    for (const int n : {1, 128, 960}) steps.push_back(out(1'000, FrameKind::silence, -1, false, false, n));
    run({"idle", steps,
         "received=0 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=0 bursts=0 unterminated=0 "
         "stream_changes=0",
         {40'000, 4800}, clean_extra});
  }

  SUBCASE("a burst starts exactly at first arrival + delay") {
    for (const Micros delay : {Micros{0}, Micros{1}, Micros{10'000}, Micros{40'000}, Micros{123'457}}) {
      for (const Micros arrival : {Micros{0}, Micros{1'000'000}}) {
        CAPTURE(delay);
        CAPTURE(arrival);
        std::vector<Step> steps = {idle(arrival - 1), in(arrival, first(7))};  // nothing before the packet
        if (delay > 0) steps.insert(steps.end(), {idle(arrival), idle(arrival + delay - 1)});
        steps.push_back(play(arrival + delay, 7, true));
        run({"burst start", steps,
             "received=1 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=1 bursts=1 unterminated=0 "
             "stream_changes=0",
             {delay, 4800}, clean_extra});
      }
    }
  }

  // FixedDelayPlayout ignores RTP timestamps: for it the timestamp column changes nothing, and these
  // are its in-order bursts across 0xFFFF -> 0.
  SUBCASE("in-order bursts of N packets, sequence across 0xFFFF -> 0 and timestamp across 2^32 -> 0") {
    struct Row {
      std::uint16_t first_seq;
      int n;
      std::uint32_t first_ts;
    };
    const Row rows[] = {{100, 1, 0},          {100, 2, 5},           {100, 5, 0xFFFF'FFFFu},
                        {0xFFFF, 2, 0xFFFF'FC40u}, {0xFFFE, 4, 0xFFFF'F000u}, {0xFFF0, 50, 0xFFFF'0000u},
                        {0, 3, 0}};
    for (const auto& row : rows) {
      CAPTURE(row.first_seq);
      CAPTURE(row.n);
      std::vector<Step> steps;
      const Micros arrival = 1'000'000;
      for (int i = 0; i < row.n; ++i) {
        Pkt p = mid(static_cast<std::uint16_t>(row.first_seq + i));
        p.marker = i == 0;
        p.end = i == row.n - 1;
        p.ts = row.first_ts + static_cast<std::uint32_t>(i * kFrame);
        steps.push_back(in(arrival + i * kPeriod, p));
      }
      steps.push_back(idle(arrival + 40'000 - 1));
      for (int i = 0; i < row.n; ++i)
        steps.push_back(play(arrival + 40'000 + i * kPeriod, Micros{row.first_seq} + i, i == 0, i == row.n - 1));
      steps.push_back(idle(arrival + 40'000 + row.n * kPeriod));
      // Time order; a packet arriving at t is inserted before the frame asked for at t.
      std::stable_sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) {
        return a.t < b.t || (a.t == b.t && a.is_insert && !b.is_insert);
      });
      const std::string counters = "received=" + std::to_string(row.n) +
                                   " duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=" +
                                   std::to_string(row.n) + " bursts=1 unterminated=0 stream_changes=0";
      run({"in order", steps, counters.c_str(), {40'000, 4800}, clean_extra});
    }
  }

  SUBCASE("scenarios (those of FixedDelayPlayout, then the jitter buffer's own)") {
    using enum InsertResult;
    constexpr auto concealed = FrameKind::concealed;
    constexpr auto fec = FrameKind::fec;
    const char* const clean_one_burst = "received=4 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=4 "
                                        "bursts=1 unterminated=0 stream_changes=0";
    // Steps are in time order: a packet inserted at t comes before a frame asked for at t.
    const Scenario scenarios[] = {
        // ---- FixedDelayPlayout's behaviour, which the jitter buffer must keep ----
        {"reordered arrival plays in sequence order",
         {in(0, first(10)), in(1'000, mid(12)), in(2'000, mid(11)), in(3'000, last(13)), play(40'000, 10, true),
          play(60'000, 11), play(80'000, 12), play(100'000, 13, false, true), idle(120'000)},
         clean_one_burst, {40'000, 4800}, "reordered=1 concealment_events=0 without_marker=0 overflow=0"},

        {"reordered arrival while playing",
         {in(0, first(10)), play(40'000, 10, true), in(45'000, last(13)), in(46'000, mid(12)), in(47'000, mid(11)),
          play(60'000, 11), play(80'000, 12), play(100'000, 13, false, true), idle(120'000)},
         clean_one_burst, {40'000, 4800}, "reordered=2 concealment_events=0 without_marker=0 overflow=0"},

        {"the delay runs from the first arrival even if it is not the marker",
         {in(0, mid(11)), in(5'000, first(10)), in(6'000, last(12)), idle(39'999), play(40'000, 10, true),
          play(60'000, 11), play(80'000, 12, false, true)},
         "received=3 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=3 bursts=1 unterminated=0 "
         "stream_changes=0",
         {40'000, 4800}, "reordered=1 concealment_events=0 without_marker=0 overflow=0"},

        {"reordering across 0xFFFF -> 0 inside a burst",
         {in(0, first(0xFFFE)), in(1'000, mid(0)), in(2'000, mid(0xFFFF)), in(3'000, last(1)),
          play(40'000, 0xFFFE, true), play(60'000, 0xFFFF), play(80'000, 0x10000), play(100'000, 0x10001, false, true)},
         clean_one_burst, {40'000, 4800}, "reordered=1 concealment_events=0 without_marker=0 overflow=0"},

        {"duplicates are refused and counted; a copy of a played packet is late",
         {in(0, first(10)), in(1'000, first(10), duplicate), in(20'000, last(11)), in(20'001, last(11), duplicate),
          play(40'000, 10, true), play(60'000, 11, false, true), in(70'000, last(11), late), idle(80'000)},
         "received=5 duplicate=2 late=1 too_large=0 lost=0 fec=0 concealed=0 normal=2 bursts=1 unterminated=0 "
         "stream_changes=0",
         {40'000, 4800}, clean_extra},

        {"a packet arriving after its turn is late",
         {in(0, first(10)), in(40'000, last(12)), play(40'000, 10, true), out(60'000, concealed, 11),
          in(65'000, mid(11), late), play(80'000, 12, false, true)},
         "received=3 duplicate=0 late=1 too_large=0 lost=1 fec=0 concealed=1 normal=2 bursts=1 unterminated=0 "
         "stream_changes=0",
         {40'000, 4800}, "reordered=0 concealment_events=1 without_marker=0 overflow=0"},

        {"a lost packet is rebuilt from the next packet's FEC",
         {in(0, first(10)), in(40'000, with_fec(mid(12))), play(40'000, 10, true), in(60'000, last(13)),
          out(60'000, fec, 11), play(80'000, 12), play(100'000, 13, false, true)},
         "received=3 duplicate=0 late=0 too_large=0 lost=1 fec=1 concealed=0 normal=3 bursts=1 unterminated=0 "
         "stream_changes=0",
         {40'000, 4800}, clean_extra},

        {"without FEC a lost packet is concealed",
         {in(0, first(10)), in(40'000, mid(12)), play(40'000, 10, true), in(60'000, last(13)),
          out(60'000, concealed, 11), play(80'000, 12), play(100'000, 13, false, true)},
         "received=3 duplicate=0 late=0 too_large=0 lost=1 fec=0 concealed=1 normal=3 bursts=1 unterminated=0 "
         "stream_changes=0",
         {40'000, 4800}, "reordered=0 concealment_events=1 without_marker=0 overflow=0"},

        {"two losses: PLC for the first, FEC for the one before the FEC packet",
         {in(0, first(10)), play(40'000, 10, true), in(50'000, with_fec(mid(13))), in(60'000, last(14)),
          out(60'000, concealed, 11), out(80'000, fec, 12), play(100'000, 13), play(120'000, 14, false, true)},
         "received=3 duplicate=0 late=0 too_large=0 lost=2 fec=1 concealed=1 normal=3 bursts=1 unterminated=0 "
         "stream_changes=0",
         {40'000, 4800}, "reordered=0 concealment_events=1 without_marker=0 overflow=0"},

        {"FEC shorter than the missing frame is not used",
         {in(0, first(10)), in(40'000, with_fec(Pkt{12, false, true, false, kSsrc, 480})), play(40'000, 10, true),
          out(60'000, concealed, 11), out(80'000, FrameKind::normal, 12, false, true, 480)},
         "received=2 duplicate=0 late=0 too_large=0 lost=1 fec=0 concealed=1 normal=2 bursts=1 unterminated=0 "
         "stream_changes=0"},

        {"end packet lost: conceal up to max_conceal_samples, end the burst, the next burst still plays",
         {in(0, first(10)), in(20'000, mid(11)), in(40'000, mid(12)),  // 13 (end) lost
          play(40'000, 10, true), play(60'000, 11), play(80'000, 12), out(100'000, concealed, 13),
          out(120'000, concealed, 14), out(140'000, concealed, 15), out(160'000, concealed, 16),
          out(180'000, concealed, 17),  // 5 x 960 = 4800 samples
          idle(200'000, true), idle(220'000),
          in(250'000, last(13), late),  // the lost end, far too late
          // The sender numbers on from 14: the numbers concealed after 13 were never used.
          in(300'000, first(14)), in(320'000, last(15)), idle(339'999), play(340'000, 14, true),
          play(360'000, 15, false, true), idle(380'000)},
         "received=6 duplicate=0 late=1 too_large=0 lost=5 fec=0 concealed=5 normal=5 bursts=2 unterminated=1 "
         "stream_changes=0",
         {40'000, 4800}, "reordered=0 concealment_events=1 without_marker=0 overflow=0"},

        {"max_conceal_samples is honoured as configured",
         {in(0, first(10)), play(40'000, 10, true), out(60'000, concealed, 11), out(80'000, concealed, 12),
          idle(100'000, true)},
         "received=1 duplicate=0 late=0 too_large=0 lost=2 fec=0 concealed=2 normal=1 bursts=1 unterminated=1 "
         "stream_changes=0",
         {40'000, 2 * kFrame}},

        {"a new burst arriving while the previous one waits for its lost end",
         {in(0, first(10)), in(20'000, mid(11)),  // 12 (end) lost
          play(40'000, 10, true), play(60'000, 11), in(75'000, first(13)),
          out(80'000, concealed, 12),  // 13 is buffered: 12 was lost
          in(95'000, last(14)),
          idle(100'000, true),  // 13 starts a new burst: the old one ends unterminated
          idle(114'999), play(115'000, 13, true), play(135'000, 14, false, true)},
         "received=4 duplicate=0 late=0 too_large=0 lost=1 fec=0 concealed=1 normal=4 bursts=2 unterminated=1 "
         "stream_changes=0"},

        {"a new burst arriving while the lost end is concealed with nothing buffered",
         {in(0, first(10)), in(20'000, mid(11)),  // 12 (end) lost
          play(40'000, 10, true), play(60'000, 11), out(80'000, concealed, 12), out(100'000, concealed, 13),
          out(120'000, concealed, 14),
          in(125'000, first(13)),  // the sender numbers on from 12
          idle(140'000, true), in(145'000, last(14)), idle(164'999), play(165'000, 13, true),
          play(185'000, 14, false, true)},
         "received=4 duplicate=0 late=0 too_large=0 lost=3 fec=0 concealed=3 normal=4 bursts=2 unterminated=1 "
         "stream_changes=0",
         {40'000, 4800}, "reordered=0 concealment_events=1 without_marker=0 overflow=0"},

        {"a burst arriving while the previous one still plays gets its full delay from its own arrival",
         {in(0, first(10)), in(20'000, last(11)), play(40'000, 10, true),
          in(50'000, Pkt{12, true, true}),  // a one-packet burst
          play(60'000, 11, false, true), idle(80'000), idle(89'999), play(90'000, 12, true, true), idle(110'000)},
         "received=3 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=3 bursts=2 unterminated=0 "
         "stream_changes=0"},

        {"an SSRC change resets the stream and the new stream plays",
         {in(0, first(10)), in(20'000, mid(11)), play(40'000, 10, true),
          in(50'000, Pkt{500, true, false, false, 0xBEEF}), in(55'000, Pkt{501, false, true, false, 0xBEEF}),
          idle(60'000), idle(89'999), play(90'000, 500, true), play(110'000, 501, false, true), idle(130'000)},
         "received=4 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=3 bursts=2 unterminated=0 "
         "stream_changes=1",
         {40'000, 4800}, clean_extra},

        {"a payload larger than kMaxPayload is refused",
         {in(0, Pkt{10, true, false, false, kSsrc, kFrame, FixedDelayPlayout::kMaxPayload + 1}, too_large),
          idle(100'000), in(100'000, Pkt{11, true, true, false, kSsrc, kFrame, FixedDelayPlayout::kMaxPayload}),
          idle(139'999), play(140'000, 11, true, true)},
         "received=2 duplicate=0 late=0 too_large=1 lost=0 fec=0 concealed=0 normal=1 bursts=1 unterminated=0 "
         "stream_changes=0"},

        // ---- the jitter buffer's own ----
        {"a burst whose first packet was lost starts anyway, and is counted",
         {in(0, mid(11)), in(20'000, last(12)), idle(39'999), play(40'000, 11, true),
          play(60'000, 12, false, true), idle(80'000)},
         "received=2 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=2 bursts=1 unterminated=0 "
         "stream_changes=0",
         {40'000, 4800}, "reordered=0 concealment_events=0 without_marker=1 overflow=0"},

        {"after a complete burst, a burst whose marker packet was lost",
         {in(0, first(10)), in(20'000, last(11)), play(40'000, 10, true), play(60'000, 11, false, true),
          in(500'000, mid(13)), in(520'000, last(14)),  // 12 (marker) lost
          idle(539'999), play(540'000, 13, true), play(560'000, 14, false, true)},
         "received=4 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=4 bursts=2 unterminated=0 "
         "stream_changes=0",
         {40'000, 4800}, "reordered=0 concealment_events=0 without_marker=1 overflow=0"},

        {"timestamps across 2^32 -> 0 and a timestamp jump between bursts change nothing",
         {in(0, at_ts(first(0xFFFF), 0xFFFF'FC40u)), in(20'000, at_ts(mid(0), 0)),
          in(40'000, at_ts(last(1), kFrame)), play(40'000, 0xFFFF, true), play(60'000, 0x10000),
          play(80'000, 0x10001, false, true), in(300'000, at_ts(first(2), 0x7000'0000u)),
          in(320'000, at_ts(last(3), 0x7000'0000u + kFrame)), play(340'000, 0x10002, true),
          play(360'000, 0x10003, false, true)},
         "received=5 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=5 bursts=2 unterminated=0 "
         "stream_changes=0",
         {40'000, 4800}, clean_extra},

        {"loss burst: PLC for all but the last lost frame, FEC for it",
         {in(0, first(10)), play(40'000, 10, true), in(45'000, with_fec(mid(14))), in(50'000, last(15)),
          out(60'000, concealed, 11), out(80'000, concealed, 12), out(100'000, fec, 13), play(120'000, 14),
          play(140'000, 15, false, true)},
         "received=3 duplicate=0 late=0 too_large=0 lost=3 fec=1 concealed=2 normal=3 bursts=1 unterminated=0 "
         "stream_changes=0",
         {40'000, 4800}, "reordered=0 concealment_events=1 without_marker=0 overflow=0"},

        {"late: after its frame was concealed, and after it was rebuilt by FEC",
         {in(0, first(10)), in(30'000, with_fec(mid(13))), in(35'000, last(14)), play(40'000, 10, true),
          out(60'000, concealed, 11), out(80'000, fec, 12), in(81'000, mid(11), late), in(82'000, mid(12), late),
          play(100'000, 13), play(120'000, 14, false, true)},
         "received=5 duplicate=0 late=2 too_large=0 lost=2 fec=1 concealed=1 normal=3 bursts=1 unterminated=0 "
         "stream_changes=0",
         {40'000, 4800}, "reordered=0 concealment_events=1 without_marker=0 overflow=0"},

        {"an SSRC change in the middle of a waiting burst: the new stream's packet starts its own clock",
         {in(0, first(10)), in(20'000, Pkt{7, false, false, false, 0xBEEF}),
          in(30'000, Pkt{8, false, true, false, 0xBEEF}), idle(40'000), idle(59'999), play(60'000, 7, true),
          play(80'000, 8, false, true)},
         "received=3 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=2 bursts=1 unterminated=0 "
         "stream_changes=1",
         {40'000, 4800}, "reordered=0 concealment_events=0 without_marker=1 overflow=0"},
    };
    for (const auto& sc : scenarios) run(sc);
  }

  SUBCASE("flush") {
    JitterBuffer jb(fixed({10'000, 4800}));
    check_flush(jb, [&] { CHECK(jb.current_delay_us() == 0); });
  }

  SUBCASE("a full store: the newest kSlots numbers win") {
    JitterBuffer jb(fixed({40'000, 4800}));
    const auto slots = static_cast<int>(JitterBuffer::kSlots);
    const auto put = [&](int i, Micros t) {
      return feed(jb, Pkt{static_cast<std::uint16_t>(0xFFC0 + i), i == 0}, t);  // crosses 0xFFFF -> 0
    };
    for (int i = 0; i < slots; ++i) CHECK(put(i, 1'000) == InsertResult::accepted);
    CHECK(jb.counters().overflow == 0);
    CHECK(put(slots, 2'000) == InsertResult::accepted);  // the oldest (the marker) is given up
    CHECK(put(slots + 1, 2'000) == InsertResult::accepted);
    CHECK(jb.counters().overflow == 2);
    CHECK(put(0, 3'000) == InsertResult::late);  // the given-up packet, again
    CHECK(put(1, 3'000) == InsertResult::late);
    CHECK(jb.counters().late == 2);
    const auto f = jb.next(41'000, kSilence);
    CHECK(f.kind == FrameKind::normal);
    CHECK(f.sequence == 0xFFC0 + 2);
    CHECK(f.burst_start);
    CHECK(jb.counters().bursts_without_marker == 1);

    SUBCASE("while a burst plays, the playout skips what was given up") {
      // 2 played: 3 .. 129 wait (127 numbers); 130 fits, 131 .. 139 each push one out.
      for (int i = slots + 2; i < slots + 12; ++i) CHECK(put(i, 50'000) == InsertResult::accepted);
      CHECK(jb.counters().overflow == 2 + 9);  // 3 .. 11 given up
      const auto g = jb.next(61'000, kSilence);
      CHECK(g.kind == FrameKind::normal);
      CHECK(g.sequence == 0xFFC0 + 12);
      CHECK(jb.counters().lost == 0);
    }
  }

  SUBCASE("the start delay is re-chosen at each burst start, and fixed for the burst") {
    JitterBuffer::Config c;
    c.initial_delay_us = 30'000;
    JitterBuffer jb(c);
    const auto put = [&](std::uint16_t seq, bool marker, bool end, Micros t) { return feed(jb, Pkt{seq, marker, end}, t); };
    CHECK(jb.target_delay_us() == 30'000);
    // Burst 1: 60 packets on time but numbers 30 and 40, which are 12 ms late.
    Micros now = 0;
    for (int i = 0; i < 60; ++i)
      put(static_cast<std::uint16_t>(i), i == 0, i == 59, i * kPeriod + (i == 30 || i == 40 ? 12'000 : 0));
    CHECK(jb.next(29'999, kSilence).kind == FrameKind::silence);  // 30 ms: the initial delay
    for (now = 30'000; !jb.next(now, kSilence).burst_end; now += kPeriod) CHECK(jb.current_delay_us() == 30'000);
    CHECK(jb.counters().late == 0);
    CHECK(jb.target_delay_us() == 12'000);  // past warm-up: the second largest relative delay
    // Burst 2 starts 12 ms after its first packet; a later peak changes the target, not this burst.
    const Micros t2 = 5'000'000;
    CHECK(put(60, true, false, t2) == InsertResult::accepted);
    CHECK(jb.next(t2 + 11'999, kSilence).kind == FrameKind::silence);
    CHECK(jb.next(t2 + 12'000, kSilence).sequence == 60);
    CHECK(jb.current_delay_us() == 12'000);
    CHECK(put(61, false, false, t2 + kPeriod) == InsertResult::accepted);
    CHECK(jb.next(t2 + 32'000, kSilence).sequence == 61);
    CHECK(put(62, false, false, t2 + 2 * kPeriod) == InsertResult::accepted);
    CHECK(jb.next(t2 + 52'000, kSilence).sequence == 62);
    // 63 is 25 ms late and nothing after it has come: the buffer conceals one frame and keeps
    // waiting for it (the burst's delay grows by a frame) instead of giving it up.
    CHECK(jb.next(t2 + 72'000, kSilence).kind == FrameKind::concealed);
    CHECK(jb.current_delay_us() == 32'000);
    CHECK(put(63, false, true, t2 + 3 * kPeriod + 25'000) == InsertResult::accepted);
    CHECK(jb.target_delay_us() == 12'000);  // one late packet alone does not move the estimator
    const auto f63 = jb.next(t2 + 92'000, kSilence);
    CHECK(f63.kind == FrameKind::normal);
    CHECK(f63.sequence == 63);
    CHECK(f63.burst_end);
    CHECK(jb.counters().late == 0);
    CHECK(jb.counters().stretched == 1);
  }

  SUBCASE("a fixed delay never stretches: the late packet is given up") {
    JitterBuffer::Config c;
    c.min_delay_us = c.max_delay_us = c.initial_delay_us = 12'000;
    JitterBuffer jb(c);
    const auto put = [&](std::uint16_t seq, bool marker, bool end, Micros t) { return feed(jb, Pkt{seq, marker, end}, t); };
    CHECK(put(0, true, false, 0) == InsertResult::accepted);
    CHECK(jb.next(12'000, kSilence).sequence == 0);
    CHECK(jb.next(32'000, kSilence).kind == FrameKind::concealed);  // 1 is not there yet
    CHECK(put(1, false, true, kPeriod + 25'000) == InsertResult::late);
    CHECK(jb.counters().stretched == 0);
    CHECK(jb.counters().late == 1);
  }

  SUBCASE("a late packet arriving while idle is measured on its own burst's clock") {
    JitterBuffer jb(JitterBuffer::Config{});
    const auto put = [&](const Pkt& p, Micros t) { return feed(jb, p, t); };
    Micros now = 0;
    const auto pull_until = [&](Micros t) {  // the speaker, as the simulation below drives it
      while (now <= t) now += Micros{jb.next(now, 240).samples} * 1'000'000 / 48'000;
    };
    for (int i = 0; i < 59; ++i) {  // 59 is held up in the network, 60 (the end) is lost
      CHECK(put(Pkt{static_cast<std::uint16_t>(i), i == 0}, i * kPeriod) == InsertResult::accepted);
      if (i < 58) pull_until(i * kPeriod);
    }
    pull_until(59 * kPeriod + 140'000);  // 59 concealed, then 4 more numbers: the burst ends
    CHECK_FALSE(jb.in_burst());
    CHECK(jb.counters().bursts_unterminated == 1);
    CHECK(jb.target_delay_us() == 0);
    CHECK(put(mid(59), 59 * kPeriod + 150'000) == InsertResult::late);
    CHECK(jb.target_delay_us() == 0);  // one late packet alone does not set the target (its 150 ms: below)
    // The next burst, its marker packet (61) lost and its timestamps not counting the pause: its
    // first packet arrives while idle, so it starts a new clock instead of looking 1 s late.
    CHECK(put(mid(62), 2'200'000) == InsertResult::accepted);
    CHECK(put(mid(63), 2'200'000 + kPeriod + 3'000) == InsertResult::accepted);
    CHECK(jb.target_delay_us() == 3'000);  // the second largest; "1 s late" would have made it 150 ms
    // RFC 3550: |D| = 150 ms for (58, 59); 62 pairs with nothing (new burst); |D| = 3 ms for (62, 63).
    const double after_59 = 150'000 / 16.0;
    CHECK(jb.counters().interarrival_jitter_us == doctest::Approx(after_59 + (3'000 - after_59) / 16.0));
  }

  SUBCASE("relative delays and the RFC 3550 jitter cross both wraps") {
    JitterBuffer::Config c;
    JitterBuffer jb(c);
    for (int i = 0; i < 60; ++i) {
      Pkt p{static_cast<std::uint16_t>(0xFFE0 + i), i == 0};
      p.ts = 0xFFFF'FFFFu - 20 * kFrame + static_cast<std::uint32_t>(i * kFrame);  // wraps at i = 21, seq at 32
      feed(jb, p, 1'000'000 + i * kPeriod + (i == 40 ? 7'000 : 0));
    }
    CHECK(jb.target_delay_us() == 0);  // one late packet alone does not set the target
    // Two pairs (39, 40) and (40, 41) each have |D| = 7 ms: measured across both wraps.
    const double after_40 = 7'000 / 16.0;
    CHECK(jb.counters().interarrival_jitter_us ==
          doctest::Approx((after_40 + (7'000 - after_40) / 16.0) * std::pow(15.0 / 16.0, 18)).epsilon(1e-9));
  }

  SUBCASE("with a fixed delay, random streams play exactly as with FixedDelayPlayout") {
    int frames = 0;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
      CAPTURE(seed);
      Rng rng{seed};
      const Micros delay = rng.uniform(0, 80'000);
      const int max_conceal = static_cast<int>(rng.uniform(1, 8)) * kFrame;
      JitterBuffer jb(fixed({delay, max_conceal}));
      FixedDelayPlayout reference({delay, max_conceal});
      struct Arrival {
        Micros t;
        Pkt pkt;
      };
      std::vector<Arrival> arrivals;
      Micros t = 0;
      std::uint32_t ssrc = kSsrc;
      auto seq = static_cast<std::uint16_t>(rng.uniform(0, 0xFFFF));
      for (int burst = 0; burst < 150; ++burst) {
        if (rng.chance(0.04)) {
          ssrc = static_cast<std::uint32_t>(rng.next());
          seq = static_cast<std::uint16_t>(rng.uniform(0, 0xFFFF));
        }
        const int n = static_cast<int>(rng.uniform(1, 25));
        for (int i = 0; i < n; ++i, ++seq) {
          Pkt p{seq, i == 0, i == n - 1, rng.chance(0.3), ssrc};
          p.size = rng.chance(0.01) ? FixedDelayPlayout::kMaxPayload + 1 : static_cast<std::size_t>(rng.uniform(1, 60));
          if (rng.chance(0.1)) continue;  // lost
          const Micros at = t + i * kPeriod + rng.uniform(0, 60'000);
          arrivals.push_back({at, p});
          if (rng.chance(0.05)) arrivals.push_back({at + rng.uniform(0, 60'000), p});  // duplicated
        }
        t += n * kPeriod + rng.uniform(0, 300'000);
      }
      std::stable_sort(arrivals.begin(), arrivals.end(), [](const Arrival& a, const Arrival& b) { return a.t < b.t; });
      std::size_t next_arrival = 0;
      for (Micros now = 0; next_arrival < arrivals.size() || jb.in_burst() || now < t + 1'000'000;) {
        if (next_arrival < arrivals.size() && arrivals[next_arrival].t <= now) {
          const auto& a = arrivals[next_arrival++];
          const auto bytes = payload_of(a.pkt);
          const auto p = packet_of(a.pkt, bytes);
          REQUIRE(static_cast<int>(jb.insert(p, a.t)) == static_cast<int>(reference.insert(p, a.t)));
          continue;
        }
        if (rng.chance(0.003)) {
          jb.flush();
          reference.flush();
        }
        const int silence = static_cast<int>(rng.uniform(1, 4)) * 240;
        const PlayoutFrame f = jb.next(now, silence);
        const PlayoutFrame g = reference.next(now, silence);
        REQUIRE(std::string(to_string(f.kind)) == std::string(to_string(g.kind)));
        REQUIRE(f.sequence == g.sequence);
        REQUIRE(f.samples == g.samples);
        REQUIRE(f.burst_start == g.burst_start);
        REQUIRE(f.burst_end == g.burst_end);
        REQUIRE(f.capture_us == g.capture_us);
        REQUIRE(bytes_of(f.payload) == bytes_of(g.payload));
        REQUIRE(jb.in_burst() == reference.in_burst());
        if (f.kind != FrameKind::silence) ++frames;
        now += Micros{f.samples} * 1'000'000 / 48'000;
      }
      CHECK(counters_text(jb.counters()) == counters_text(reference.counters()));
      CHECK(jb.counters().lost > 0);
      CHECK(jb.counters().bursts_unterminated > 0);
    }
    MESSAGE("differential: " << frames << " frames played identically over 20 random streams");
  }
}

// =============================================================================================
// The estimator in the loop: 20 ms frames in talk bursts of 1 s with 300 ms pauses; each packet's
// network delay is 30 ms + uniform(-j, +j), j chosen per packet (or, `clipped`, as net-impair
// does with no base delay: max(0, uniform(-j, +j))); the speaker asks for a frame whenever the
// previous one is used up and for 5 ms of silence when idle. By default the sender jumps its
// timestamp at every pause; `continuous_ts` keeps them on the capture clock (pttcam's sender).
// Late rate = packets refused as late / packets sent; latency = send -> start of play, per
// frame played from its own packet.

namespace {

struct SimOptions {
  bool continuous_ts = false;
  bool clipped = false;
};

struct SimResult {
  std::uint64_t sent = 0;
  std::uint64_t late = 0;
  std::vector<Micros> latency;
  double late_rate() const { return sent ? static_cast<double>(late) / static_cast<double>(sent) : 0; }
  Micros latency_quantile(double q) const {
    std::vector<Micros> v = latency;
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  }
};

// jitter_of(i): the half-width of the delay jitter of the i-th packet sent.
// probe(k, jb): after the k-th insert (k counts from 1), in arrival order.
SimResult simulate(JitterBuffer& jb, int bursts, int per_burst, const std::function<Micros(int)>& jitter_of,
                   const std::function<void(int, const JitterBuffer&)>& probe, std::uint64_t seed,
                   SimOptions options = {}) {
  Rng rng{seed};
  struct Sent {
    Micros arrival;
    Pkt pkt;
  };
  std::vector<Sent> sent;
  std::vector<Micros> sent_at;  // by packet index; the jitter buffer unwraps 0xFF00 to 0xFF00
  constexpr std::int64_t kFirstSeq = 0xFF00;
  auto seq = static_cast<std::uint16_t>(kFirstSeq);
  std::uint32_t ts = 0xFFF0'0000u;
  Micros t = 100'000;
  int index = 0;
  for (int b = 0; b < bursts; ++b) {
    for (int i = 0; i < per_burst; ++i, ++seq, ++index) {
      Pkt p{seq, i == 0, i == per_burst - 1};
      p.ts = ts + static_cast<std::uint32_t>(i * kFrame);
      const Micros j = jitter_of(index);
      const Micros send = t + i * kPeriod;
      const Micros delay = options.clipped ? std::max<Micros>(0, rng.uniform(-j, j)) : 30'000 + rng.uniform(-j, j);
      sent.push_back({send + delay, p});
      sent_at.push_back(send);
    }
    t += per_burst * kPeriod + 300'000;
    ts += static_cast<std::uint32_t>(per_burst * kFrame) +
          (options.continuous_ts ? static_cast<std::uint32_t>(300'000 * 48 / 1000) : 1'234'567u);
  }
  std::stable_sort(sent.begin(), sent.end(), [](const Sent& a, const Sent& b) { return a.arrival < b.arrival; });
  SimResult result;
  std::size_t k = 0;
  for (Micros now = 0; k < sent.size() || jb.in_burst();) {
    if (k < sent.size() && sent[k].arrival <= now) {
      feed(jb, sent[k].pkt, sent[k].arrival);
      probe(static_cast<int>(++k), jb);
      continue;
    }
    const PlayoutFrame f = jb.next(now, 240);
    if (f.kind == FrameKind::normal) result.latency.push_back(now - sent_at[static_cast<std::size_t>(f.sequence - kFirstSeq)]);
    now += Micros{f.samples} * 1'000'000 / 48'000;
  }
  result.sent = sent.size();
  result.late = jb.counters().late;
  return result;
}

}  // namespace

// Delay poisoning: a stranger (or the previous session) streams half-speed audio, each packet
// 20 ms later than the one before, and the estimate climbs. The next stream, a new SSRC or the
// same SSRC after forget_stream() (a new session), starts from the configured delay.
TEST_CASE("JitterBuffer: nothing learned from one stream delays the next") {
  const auto poison = [](JitterBuffer& jb, std::uint32_t ssrc) {
    Micros now = 1'000'000;
    for (std::uint16_t i = 0; i < 40; ++i) {  // 0.8 s of media over 1.6 s
      Pkt p{static_cast<std::uint16_t>(100 + i), i == 0, i == 39};
      p.ssrc = ssrc;
      const auto bytes = payload_of(p);
      jb.insert(packet_of(p, bytes), now);
      now += 2 * 20'000;
      while (jb.in_burst() || jb.waiting()) {
        if (jb.next(now, 240).kind == FrameKind::silence) break;
      }
    }
  };
  const JitterBuffer::Config config{};
  JitterBuffer fresh(config);
  const Micros initial = fresh.target_delay_us();

  JitterBuffer jb(config);
  poison(jb, 0x1111);
  const Micros poisoned = jb.target_delay_us();
  MESSAGE("target after half-speed audio: " << poisoned / 1000.0 << " ms (fresh: " << initial / 1000.0 << " ms)");
  REQUIRE(poisoned > initial + 100'000);  // the attack works on one stream

  SUBCASE("a new SSRC") {
    Pkt p{5000, true};
    p.ssrc = 0x2222;
    const auto bytes = payload_of(p);
    jb.insert(packet_of(p, bytes), 10'000'000);
    CHECK(jb.target_delay_us() == initial);
    CHECK(jb.counters().stream_changes == 1);
  }
  SUBCASE("the same SSRC in a new session") {
    jb.forget_stream();
    Pkt p{5000, true};
    p.ssrc = 0x1111;
    const auto bytes = payload_of(p);
    jb.insert(packet_of(p, bytes), 10'000'000);
    CHECK(jb.target_delay_us() == initial);
  }
  SUBCASE("without either, the same stream keeps what it learned") {
    Pkt p{200, true};
    p.ssrc = 0x1111;
    const auto bytes = payload_of(p);
    jb.insert(packet_of(p, bytes), 10'000'000);
    CHECK(jb.target_delay_us() == poisoned);
  }
}

TEST_CASE("JitterBuffer: the delay follows the jitter") {
  SUBCASE("zero jitter: the target settles at min_delay") {
    for (const Micros min : {Micros{0}, Micros{15'000}}) {
      CAPTURE(min);
      JitterBuffer::Config c;
      c.min_delay_us = min;
      JitterBuffer jb(c);
      Micros highest_after_warmup = 0;
      const auto r = simulate(
          jb, 20, 50, [](int) { return Micros{0}; },
          [&](int k, const JitterBuffer& b) {
            if (k > 50) highest_after_warmup = std::max(highest_after_warmup, b.target_delay_us());
          },
          1);
      MESSAGE("zero jitter, min " << min / 1000 << " ms: target " << jb.target_delay_us() / 1000.0
                                  << " ms (highest after 1 s: " << highest_after_warmup / 1000.0 << " ms), late "
                                  << r.late << " of " << r.sent);
      CHECK(jb.target_delay_us() >= min);
      CHECK(jb.target_delay_us() <= min + kPeriod);
      CHECK(highest_after_warmup <= min + kPeriod);
      CHECK(r.late == 0);
      CHECK(jb.counters().interarrival_jitter_us == 0);
    }
  }

  SUBCASE("uniform +-20 ms jitter on 20 ms frames: <= 1 % late over 10k packets, target 20..60 ms") {
    for (const std::uint64_t seed : {1u, 2u, 3u}) {
      CAPTURE(seed);
      JitterBuffer jb(JitterBuffer::Config{});
      Micros lowest = 1'000'000, highest = 0;
      const auto r = simulate(
          jb, 200, 50, [](int) { return Micros{20'000}; },
          [&](int k, const JitterBuffer& b) {
            if (k <= 500) return;  // past the first 10 s
            lowest = std::min(lowest, b.target_delay_us());
            highest = std::max(highest, b.target_delay_us());
          },
          seed);
      MESSAGE("+-20 ms jitter, seed " << seed << ": late " << r.late << " of " << r.sent << " ("
                                      << 100.0 * r.late_rate() << " %), concealed " << jb.counters().concealed
                                      << ", target " << lowest / 1000.0 << " .. " << highest / 1000.0
                                      << " ms, RFC 3550 jitter " << jb.counters().interarrival_jitter_us / 1000.0
                                      << " ms");
      CHECK(r.sent == 10'000);
      CHECK(r.late_rate() <= 0.01);
      CHECK(lowest >= 20'000);
      CHECK(highest <= 60'000);
    }
  }

  SUBCASE("net-impair's jitter=20/50: with timestamps on one clock, bursts start no later than they need") {
    // Both runs see the same arrivals; only the sender's timestamps across pauses differ. With a
    // timestamp jump every burst is on its own and waits the full target after its first packet,
    // however late that packet came; on one clock the wait counts from the fastest recent packet.
    for (const Micros j : {Micros{20'000}, Micros{50'000}}) {
      CAPTURE(j);
      SimResult by_burst, timeline;
      for (const bool continuous : {false, true}) {
        JitterBuffer::Config c;
        c.min_delay_us = 5'000;
        c.initial_delay_us = 5'000;
        JitterBuffer jb(c);
        (continuous ? timeline : by_burst) =
            simulate(jb, 100, 50, [&](int) { return j; }, [](int, const JitterBuffer&) {}, 5, {continuous, true});
      }
      const auto ms = [](Micros us) { return static_cast<double>(us) / 1000.0; };
      MESSAGE("jitter=" << j / 1000 << ": send->play p50 / p99 / max: per burst "
                        << ms(by_burst.latency_quantile(0.5)) << " / " << ms(by_burst.latency_quantile(0.99)) << " / "
                        << ms(by_burst.latency_quantile(1.0)) << " ms, late " << by_burst.late << "; one clock "
                        << ms(timeline.latency_quantile(0.5)) << " / " << ms(timeline.latency_quantile(0.99)) << " / "
                        << ms(timeline.latency_quantile(1.0)) << " ms, late " << timeline.late << " of "
                        << timeline.sent);
      CHECK(timeline.late_rate() <= 0.01);
      CHECK(timeline.latency_quantile(0.99) < by_burst.latency_quantile(0.99));
      // The jitter's own p99.5 is 0.99 j: the playout should not need much more than a frame above it.
      CHECK(timeline.latency_quantile(0.99) <= j + kPeriod);
    }
  }

  SUBCASE("jitter jumps from 0 to +-40 ms: up within 1 s; calm again: down within 10 s, not within 1 s") {
    constexpr int kJump = 1025;  // packets sent before the jitter starts (20.5 s, mid-burst)
    constexpr int kCalm = 2025;  // ... and before it stops
    JitterBuffer jb(JitterBuffer::Config{});
    Micros before_jump = -1;
    int up_after = -1, down_after = -1;
    Micros one_second_after_calm = -1;
    const auto r = simulate(
        jb, 80, 50, [](int i) { return i >= kJump && i < kCalm ? Micros{40'000} : Micros{0}; },
        [&](int k, const JitterBuffer& b) {
          const Micros target = b.target_delay_us();
          if (k == kJump) before_jump = target;
          if (k > kJump && k < kCalm && up_after < 0 && target >= 30'000) up_after = k - kJump;
          if (k == kCalm + 50) one_second_after_calm = target;
          if (k > kCalm && down_after < 0 && target <= kPeriod) down_after = k - kCalm;
        },
        7);
    MESSAGE("jump to +-40 ms: target " << before_jump / 1000.0 << " ms before, >= 30 ms after " << up_after
                                       << " packets; calm: " << one_second_after_calm / 1000.0
                                       << " ms after 50 packets, <= 20 ms after " << down_after
                                       << " packets; late " << r.late << " of " << r.sent);
    CHECK(before_jump <= kPeriod);
    CHECK(up_after >= 0);
    CHECK(up_after <= 50);
    CHECK(one_second_after_calm >= 30'000);  // shrinks slowly
    CHECK(down_after > 50);
    CHECK(down_after <= 500);
  }
}

// =============================================================================================

TEST_CASE("JitterBuffer: RFC 2198 copies stand in for lost packets") {
  JitterBuffer::Config c;
  c.min_delay_us = 10'000;
  c.initial_delay_us = 10'000;
  JitterBuffer jb(c);
  const auto insert = [&](const Pkt& p, Micros arrival) { return feed(jb, p, arrival); };
  // A copy travels in a later packet: same frame (number, timestamp, marker), its own bytes.
  const auto copy_of = [&](Pkt p, Micros arrival) {
    p.size = 9;  // tells the copy's bytes from the packet's own
    const auto bytes = payload_of(p);
    return jb.insert_redundant(packet_of(p, bytes), arrival);
  };

  SUBCASE("a lost packet plays from the copy in the next one; copies of what came are ignored") {
    REQUIRE(insert(first(100), 0) == InsertResult::accepted);
    CHECK(copy_of(first(100), 20'000) == InsertResult::duplicate);  // 100 is waiting: not needed
    // 101 is lost; 102 carries a copy of it.
    REQUIRE(insert(mid(102), 40'000) == InsertResult::accepted);
    CHECK(copy_of(mid(101), 40'000) == InsertResult::accepted);
    REQUIRE(insert(last(103), 60'000) == InsertResult::accepted);
    CHECK(copy_of(mid(102), 60'000) == InsertResult::duplicate);

    std::vector<PlayoutFrame> frames;
    for (Micros now = 10'000; frames.size() < 4; now += kPeriod) {
      const auto f = jb.next(now, kFrame);
      if (f.kind != FrameKind::silence) frames.push_back(f);
    }
    CHECK(frames[0].kind == FrameKind::normal);
    CHECK(frames[1].kind == FrameKind::fec);
    CHECK(frames[1].redundant);
    CHECK(frames[1].sequence == 101);
    CHECK(frames[1].payload.size() == 9);  // the copy itself, to decode as a normal packet
    CHECK_FALSE(frames[1].capture_us.has_value());
    CHECK(frames[2].kind == FrameKind::normal);
    CHECK_FALSE(frames[2].redundant);
    CHECK(frames[3].burst_end);
    const auto& k = jb.counters();
    CHECK(k.received == 3);  // copies are not packets received
    CHECK(k.duplicate == 0);
    CHECK(k.redundant_received == 3);
    CHECK(k.redundant_stored == 1);
    CHECK(k.lost == 1);
    CHECK(k.fec_recovered == 1);
    CHECK(k.redundancy_recovered == 1);
    CHECK(k.concealed == 0);
    // A copy of a frame already played is not late: it is simply not needed.
    CHECK(copy_of(mid(101), 200'000) == InsertResult::duplicate);
    CHECK(jb.counters().late == 0);
  }

  SUBCASE("a burst whose first packet was lost starts from the copy, marker and all") {
    REQUIRE(insert(mid(201), 0) == InsertResult::accepted);
    CHECK(copy_of(first(200), 0) == InsertResult::accepted);
    REQUIRE(insert(last(202), 20'000) == InsertResult::accepted);
    std::vector<PlayoutFrame> frames;
    for (Micros now = 0; frames.size() < 3; now += kPeriod) {
      const auto f = jb.next(now, kFrame);
      if (f.kind != FrameKind::silence) frames.push_back(f);
    }
    CHECK(frames[0].sequence == 200);
    CHECK(frames[0].burst_start);
    CHECK(frames[0].redundant);
    CHECK(frames[1].sequence == 201);
    CHECK(jb.counters().bursts_without_marker == 0);
  }

  SUBCASE("a packet that comes after its copy replaces it: nothing was lost") {
    REQUIRE(insert(first(400), 0) == InsertResult::accepted);
    REQUIRE(insert(mid(402), 25'000) == InsertResult::accepted);  // overtook 401 ...
    CHECK(copy_of(mid(401), 25'000) == InsertResult::accepted);     // ... with a copy of it
    REQUIRE(insert(mid(401), 27'000) == InsertResult::accepted);    // 401 itself, in time
    REQUIRE(insert(last(403), 60'000) == InsertResult::accepted);
    std::vector<PlayoutFrame> frames;
    for (Micros now = 10'000; frames.size() < 4; now += kPeriod) {
      const auto f = jb.next(now, kFrame);
      if (f.kind != FrameKind::silence) frames.push_back(f);
    }
    CHECK(frames[1].sequence == 401);
    CHECK(frames[1].kind == FrameKind::normal);
    CHECK(frames[1].payload.size() == 5);  // its own bytes, not the copy's
    CHECK(jb.counters().lost == 0);
    CHECK(jb.counters().duplicate == 0);
    CHECK(jb.counters().normal == 4);
  }

  SUBCASE("copies of another stream are ignored") {
    REQUIRE(insert(first(300), 0) == InsertResult::accepted);
    Pkt other = mid(299);
    other.ssrc = kSsrc + 1;
    CHECK(copy_of(other, 0) == InsertResult::duplicate);
    CHECK(jb.counters().redundant_stored == 0);
  }
}
