#include "impairment.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace pttcam::impair {

std::uint64_t parse_seed(std::string_view text) {
  std::uint64_t seed = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seed);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    throw std::invalid_argument("must be a whole number from 0 to 18446744073709551615, not '" + std::string(text) + "'");
  return seed;
}
namespace {

constexpr double kMaxMs = 60'000;
constexpr double kMaxRateKbps = 10'000'000;
constexpr double kMaxOutageS = 1'000'000;
constexpr double kParetoShape = 3;  // finite mean and variance, still a long tail
constexpr Micros kDuplicateGapUs = 1'000;

[[noreturn]] void fail(std::string_view item, std::string_view why) {
  throw std::invalid_argument("bad link spec item '" + std::string(item) + "': " + std::string(why));
}

bool to_number(std::string_view text, double& out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return !text.empty() && ec == std::errc{} && ptr == end && std::isfinite(out);
}

double number(std::string_view item, std::string_view text, double lo, double hi, std::string_view why) {
  double v = 0;
  if (!to_number(text, v) || v < lo || v > hi) fail(item, why);
  return v;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  for (std::size_t pos = 0;;) {
    const auto at = text.find(sep, pos);
    out.push_back(text.substr(pos, at == std::string_view::npos ? std::string_view::npos : at - pos));
    if (at == std::string_view::npos) return out;
    pos = at + 1;
  }
}

LinkSpec::GilbertElliott parse_ge(std::string_view item, std::string_view value) {
  constexpr std::string_view why =
      "ge is P/R[/LOSS_GOOD[/LOSS_BAD]]: P and R probabilities per packet from 0 to 1, losses in % from 0 to 100";
  const auto parts = split(value, '/');
  if (parts.size() < 2 || parts.size() > 4) fail(item, why);
  LinkSpec::GilbertElliott ge;
  ge.p = number(item, parts[0], 0, 1, why);
  ge.r = number(item, parts[1], 0, 1, why);
  if (parts.size() > 2) ge.loss_good_pct = number(item, parts[2], 0, 100, why);
  if (parts.size() > 3) ge.loss_bad_pct = number(item, parts[3], 0, 100, why);
  return ge;
}

std::vector<LinkSpec::Outage> parse_outages(std::string_view item, std::string_view value) {
  constexpr std::string_view why =
      "outage is START+DURATION[;START+DURATION...] in seconds from start, e.g. 4.0+0.8;9+1.5";
  std::vector<LinkSpec::Outage> out;
  for (const auto window : split(value, ';')) {
    const auto plus = window.find('+');
    if (plus == std::string_view::npos) fail(item, why);
    LinkSpec::Outage o;
    o.start_s = number(item, window.substr(0, plus), 0, kMaxOutageS, why);
    o.duration_s = number(item, window.substr(plus + 1), 0, kMaxOutageS, why);
    if (o.duration_s <= 0) fail(item, why);
    out.push_back(o);
  }
  // By start, then length: a total order, so that windows starting together (overlapping ones are
  // allowed) come out of describe() in the order parsing puts them in again.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.start_s != b.start_s ? a.start_s < b.start_s : a.duration_s < b.duration_s;
  });
  return out;
}

LinkSpec::Jitter parse_jitter_dist(std::string_view item, std::string_view value) {
  if (value == "uniform") return LinkSpec::Jitter::uniform;
  if (value == "normal") return LinkSpec::Jitter::normal;
  if (value == "pareto") return LinkSpec::Jitter::pareto;
  fail(item, "jitter-dist is uniform, normal or pareto");
}

const char* to_string(LinkSpec::Jitter j) {
  switch (j) {
    case LinkSpec::Jitter::uniform: return "uniform";
    case LinkSpec::Jitter::normal: return "normal";
    case LinkSpec::Jitter::pareto: return "pareto";
  }
  return "?";
}

// Shortest text that reads back as the same double.
std::string num(double v) {
  char buf[32];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, ptr) : std::string("?");
}

Micros ms_to_us(double ms) { return std::llround(ms * 1000.0); }

// A uniform double in [0, 1) from exactly one 64-bit draw (53 random mantissa bits), identical on
// every platform, unlike std::uniform_real_distribution.
double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E37'79B9'7F4A'7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D0'49BB'1331'11EBULL;
  return x ^ (x >> 31);
}

}  // namespace

LinkSpec parse_link_spec(std::string_view text) {
  LinkSpec spec;
  if (text.empty() || text == "none") return spec;
  constexpr std::string_view kKeys[] = {"delay", "jitter", "jitter-dist", "loss", "ge",    "reorder",
                                        "reorder-extra", "dup", "rate", "queue", "outage"};
  std::vector<std::string_view> seen;
  for (const auto item : split(text, ',')) {
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) fail(item, "expected KEY=VALUE");
    const auto key = item.substr(0, eq);
    const auto value = item.substr(eq + 1);
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
      fail(item, "unknown key (keys: delay, jitter, jitter-dist, loss, ge, reorder, reorder-extra, dup, rate, "
                 "queue, outage)");
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) fail(item, "key given twice");
    seen.push_back(key);

    if (key == "delay") {
      spec.delay_ms = number(item, value, 0, kMaxMs, "delay is milliseconds from 0 to 60000");
    } else if (key == "jitter") {
      spec.jitter_ms = number(item, value, 0, kMaxMs, "jitter is milliseconds from 0 to 60000");
    } else if (key == "jitter-dist") {
      spec.jitter_dist = parse_jitter_dist(item, value);
    } else if (key == "loss") {
      spec.loss_pct = number(item, value, 0, 100, "loss is a percentage from 0 to 100");
    } else if (key == "ge") {
      spec.ge = parse_ge(item, value);
      spec.ge_enabled = true;
    } else if (key == "reorder") {
      spec.reorder_pct = number(item, value, 0, 100, "reorder is a percentage from 0 to 100");
    } else if (key == "reorder-extra") {
      spec.reorder_extra_ms = number(item, value, 0, kMaxMs, "reorder-extra is milliseconds from 0 to 60000");
    } else if (key == "dup") {
      spec.duplicate_pct = number(item, value, 0, 100, "dup is a percentage from 0 to 100");
    } else if (key == "rate") {
      spec.rate_kbps = number(item, value, 0, kMaxRateKbps, "rate is kbit/s: 0 (unlimited) or from 1 to 10000000");
      if (spec.rate_kbps > 0 && spec.rate_kbps < 1) fail(item, "rate is kbit/s: 0 (unlimited) or from 1 to 10000000");
    } else if (key == "queue") {
      spec.queue_ms = number(item, value, 0, kMaxMs, "queue is milliseconds from 0 to 60000");
    } else {
      spec.outages = parse_outages(item, value);
    }
  }
  return spec;
}

std::string describe(const LinkSpec& s) {
  const LinkSpec d;
  std::string out;
  // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive) on "," + std::string.
  const auto add = [&](std::string_view key, const std::string& value) {
    if (!out.empty()) out += ',';
    out.append(key).append("=").append(value);
  };
  if (s.delay_ms != d.delay_ms) add("delay", num(s.delay_ms));
  if (s.jitter_ms != d.jitter_ms) add("jitter", num(s.jitter_ms));
  if (s.jitter_dist != d.jitter_dist) add("jitter-dist", to_string(s.jitter_dist));
  if (s.loss_pct != d.loss_pct) add("loss", num(s.loss_pct));
  if (s.ge_enabled)
    add("ge", num(s.ge.p) + "/" + num(s.ge.r) + "/" + num(s.ge.loss_good_pct) + "/" + num(s.ge.loss_bad_pct));
  if (s.reorder_pct != d.reorder_pct) add("reorder", num(s.reorder_pct));
  if (s.reorder_extra_ms != d.reorder_extra_ms) add("reorder-extra", num(s.reorder_extra_ms));
  if (s.duplicate_pct != d.duplicate_pct) add("dup", num(s.duplicate_pct));
  if (s.rate_kbps != d.rate_kbps) add("rate", num(s.rate_kbps));
  if (s.queue_ms != d.queue_ms) add("queue", num(s.queue_ms));
  if (!s.outages.empty()) {
    std::string windows;
    for (const auto& o : s.outages) {
      if (!windows.empty()) windows += ';';
      windows.append(num(o.start_s)).append("+").append(num(o.duration_s));
    }
    add("outage", windows);
  }
  return out.empty() ? "none" : out;
}

std::uint64_t direction_seed(std::uint64_t seed, Direction direction) noexcept {
  return splitmix64(splitmix64(seed) + (direction == Direction::up ? 0 : 1));
}

const char* to_string(Fate::Kind kind) noexcept {
  switch (kind) {
    case Fate::Kind::deliver: return "deliver";
    case Fate::Kind::drop_loss: return "drop_loss";
    case Fate::Kind::drop_burst: return "drop_burst";
    case Fate::Kind::drop_outage: return "drop_outage";
    case Fate::Kind::drop_queue: return "drop_queue";
  }
  return "?";
}

Link::Link(LinkSpec spec, std::uint64_t seed) : spec_(std::move(spec)), rng_(seed) {}

bool Link::in_outage(Micros at_us) const noexcept {
  return std::any_of(spec_.outages.begin(), spec_.outages.end(), [&](const LinkSpec::Outage& o) {
    const Micros start = std::llround(o.start_s * 1e6);
    return at_us >= start && at_us < start + std::llround(o.duration_s * 1e6);
  });
}

// u1, u2 uniform in [0, 1). Uniform: [-j, +j]; normal: sigma j (Box-Muller); pareto: shape 3,
// shifted to start at 0 and scaled so its mean is j (only ever adds delay).
double Link::jitter_ms(double u1, double u2) const noexcept {
  const double j = spec_.jitter_ms;
  switch (spec_.jitter_dist) {
    case LinkSpec::Jitter::uniform: return j * (2 * u1 - 1);
    case LinkSpec::Jitter::normal: return j * std::sqrt(-2 * std::log(1 - u1)) * std::cos(2 * std::numbers::pi * u2);
    case LinkSpec::Jitter::pareto: return j * (kParetoShape - 1) * (std::pow(1 - u1, -1 / kParetoShape) - 1);
  }
  return 0;
}

Fate Link::decide(std::size_t bytes, Micros arrival_us) noexcept {
  double u[kDrawsPerPacket];
  for (double& x : u) x = unit(rng_);

  if (spec_.ge_enabled) ge_bad_ = ge_bad_ ? u[0] >= spec_.ge.r : u[0] < spec_.ge.p;

  Fate fate;
  fate.send_at_us = arrival_us;
  if (in_outage(arrival_us)) {
    fate.kind = Fate::Kind::drop_outage;
    return fate;
  }
  if (spec_.ge_enabled && u[1] * 100 < (ge_bad_ ? spec_.ge.loss_bad_pct : spec_.ge.loss_good_pct)) {
    fate.kind = Fate::Kind::drop_burst;
    return fate;
  }
  if (u[2] * 100 < spec_.loss_pct) {
    fate.kind = Fate::Kind::drop_loss;
    return fate;
  }

  // Bottleneck: a FIFO drained at rate_kbps holding at most queue_ms of data, counting the packet
  // being sent. A packet that does not fit is tail-dropped; an idle link always takes one.
  Micros leaves_us = arrival_us;
  if (spec_.rate_kbps > 0) {
    const Micros wait_us = std::max<Micros>(0, link_free_at_us_ - arrival_us);
    const Micros send_us = std::llround(static_cast<double>(bytes) * 8.0 * 1000.0 / spec_.rate_kbps);
    if (wait_us > 0 && wait_us + send_us > ms_to_us(spec_.queue_ms)) {
      fate.kind = Fate::Kind::drop_queue;
      return fate;
    }
    link_free_at_us_ = arrival_us + wait_us + send_us;
    leaves_us = link_free_at_us_;
  }

  double extra_ms = std::max(0.0, spec_.delay_ms + jitter_ms(u[3], u[4]));
  if (u[5] * 100 < spec_.reorder_pct) {
    fate.reordered = true;
    extra_ms += spec_.reorder_extra_ms;
  }
  fate.send_at_us = leaves_us + ms_to_us(extra_ms);
  if (u[6] * 100 < spec_.duplicate_pct) {
    fate.duplicate = true;
    fate.duplicate_at_us = fate.send_at_us + kDuplicateGapUs;
  }
  return fate;
}

}  // namespace pttcam::impair
