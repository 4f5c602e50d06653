#pragma once
// The network model behind net-impair: what happens to each datagram on one direction of a link
// (outage, burst loss, random loss, bottleneck queue, delay and jitter, reordering, duplication).
// Pure code: no clock, no sockets. The caller passes each packet's arrival time and gets back its
// fate, so tests drive it with made-up arrival times and never sleep.
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace pttcam::impair {

using Micros = std::int64_t;

enum class Direction { up, down };  // up: client -> target; down: target -> client

struct LinkSpec {
  enum class Jitter { uniform, normal, pareto };
  struct GilbertElliott {
    double p = 0;  // good -> bad, probability per packet
    double r = 1;  // bad -> good, probability per packet
    double loss_good_pct = 0;
    double loss_bad_pct = 100;
    bool operator==(const GilbertElliott&) const = default;
  };
  struct Outage {
    double start_s = 0;  // seconds from proxy start
    double duration_s = 0;
    bool operator==(const Outage&) const = default;
  };

  double delay_ms = 0;
  double jitter_ms = 0;
  Jitter jitter_dist = Jitter::uniform;
  double loss_pct = 0;
  GilbertElliott ge;
  bool ge_enabled = false;
  double reorder_pct = 0;
  double reorder_extra_ms = 10;  // a reordered packet is held this much longer
  double duplicate_pct = 0;
  double rate_kbps = 0;  // 0 = unlimited
  double queue_ms = 200;  // bounded bottleneck queue, as time to drain
  std::vector<Outage> outages;  // sorted by start

  bool operator==(const LinkSpec&) const = default;
};

// Parses "delay=40,jitter=20,jitter-dist=normal,loss=5,ge=0.05/0.5/0/100,reorder=2,dup=1,
// rate=1500,queue=200,outage=4.0+0.8;9+1.5" (keys in any order, each at most once; "" or "none"
// is no impairment). Throws std::invalid_argument with a one-line message naming the bad item.
LinkSpec parse_link_spec(std::string_view text);

// The spec in the syntax parse_link_spec reads, non-default keys only ("none" if nothing):
// parse_link_spec(describe(s)) == s.
std::string describe(const LinkSpec& spec);

// --seed: a whole number from 0 to 2^64 - 1, in decimal, nothing else. Throws std::invalid_argument
// with a one-line message quoting the text.
std::uint64_t parse_seed(std::string_view text);

// Mixes the run's seed with the direction, so the two directions draw independent streams.
std::uint64_t direction_seed(std::uint64_t seed, Direction direction) noexcept;

struct Fate {
  enum class Kind { deliver, drop_loss, drop_burst, drop_outage, drop_queue };
  Kind kind = Kind::deliver;
  Micros send_at_us = 0;  // deliver only; same time base as the arrival times
  bool duplicate = false;
  Micros duplicate_at_us = 0;  // when duplicate
  bool reordered = false;
  bool operator==(const Fate&) const = default;
};

const char* to_string(Fate::Kind kind) noexcept;

// One direction of the link. Called from one thread (the proxy's io thread) per packet.
//
// Repeatability: decide() draws exactly kDrawsPerPacket values from its generator for every
// packet, whichever branch it takes, and the Gilbert-Elliott chain steps on every packet (even
// one inside an outage). So the fate of packet k depends only on the seed, k and the arrival
// times (and, with a rate cap, the sizes) of packets 0..k; switching one impairment on or off
// does not reshuffle the draws of the others.
class Link {
 public:
  static constexpr int kDrawsPerPacket = 7;

  Link(LinkSpec spec, std::uint64_t seed);

  // `arrival_us` is time since the proxy started, non-decreasing from call to call.
  Fate decide(std::size_t bytes, Micros arrival_us) noexcept;

  const LinkSpec& spec() const noexcept { return spec_; }

 private:
  bool in_outage(Micros at_us) const noexcept;
  double jitter_ms(double u1, double u2) const noexcept;

  LinkSpec spec_;
  std::mt19937_64 rng_;
  bool ge_bad_ = false;
  Micros link_free_at_us_ = 0;  // when the bottleneck has sent everything accepted so far
};

}  // namespace pttcam::impair
