#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "impairment.hpp"

using namespace pttcam::impair;
using Kind = Fate::Kind;

namespace {

constexpr int kSample = 100'000;
constexpr Micros kPeriodUs = 20'000;  // one 20 ms Opus packet

std::string spec_error(const std::string& text) {
  try {
    parse_link_spec(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

// Fates of `n` packets of `bytes` bytes arriving every `period_us`, starting at 0.
std::vector<Fate> fates(const LinkSpec& spec, std::uint64_t seed, int n = kSample, Micros period_us = kPeriodUs,
                        std::size_t bytes = 100) {
  Link link(spec, seed);
  std::vector<Fate> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) out.push_back(link.decide(bytes, k * period_us));
  return out;
}

double fraction(const std::vector<Fate>& f, Kind kind) {
  return static_cast<double>(std::count_if(f.begin(), f.end(), [&](const Fate& x) { return x.kind == kind; })) /
         static_cast<double>(f.size());
}

// One-way delays in ms of the delivered packets (arrival = index * period).
std::vector<double> delays_ms(const std::vector<Fate>& f, Micros period_us = kPeriodUs) {
  std::vector<double> out;
  for (std::size_t k = 0; k < f.size(); ++k)
    if (f[k].kind == Kind::deliver)
      out.push_back(static_cast<double>(f[k].send_at_us - static_cast<Micros>(k) * period_us) / 1000.0);
  return out;
}

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

double stddev(const std::vector<double>& v) {
  const double m = mean(v);
  double sum = 0;
  for (double x : v) sum += (x - m) * (x - m);
  return std::sqrt(sum / static_cast<double>(v.size()));
}

LinkSpec everything() {
  return parse_link_spec("delay=40,jitter=20,jitter-dist=normal,loss=5,ge=0.05/0.5/0/100,reorder=2,dup=1,"
                         "rate=150,queue=100,outage=4.0+0.8;9+1.5");
}

}  // namespace

TEST_CASE("parse_link_spec and describe") {
  SUBCASE("every key, in any order") {
    const auto s = everything();
    CHECK(s.delay_ms == 40);
    CHECK(s.jitter_ms == 20);
    CHECK(s.jitter_dist == LinkSpec::Jitter::normal);
    CHECK(s.loss_pct == 5);
    CHECK(s.ge_enabled);
    CHECK(s.ge == LinkSpec::GilbertElliott{0.05, 0.5, 0, 100});
    CHECK(s.reorder_pct == 2);
    CHECK(s.reorder_extra_ms == 10);
    CHECK(s.duplicate_pct == 1);
    CHECK(s.rate_kbps == 150);
    CHECK(s.queue_ms == 100);
    CHECK(s.outages == std::vector<LinkSpec::Outage>{{4.0, 0.8}, {9, 1.5}});
    CHECK(parse_link_spec("outage=9+1.5;4.0+0.8,queue=100,rate=150,dup=1,reorder=2,ge=0.05/0.5,loss=5,"
                          "jitter-dist=normal,jitter=20,delay=40") == s);
  }

  SUBCASE("empty and none mean no impairment") {
    CHECK(parse_link_spec("") == LinkSpec{});
    CHECK(parse_link_spec("none") == LinkSpec{});
    CHECK(describe(LinkSpec{}) == "none");
  }

  SUBCASE("ge takes 2 to 4 fields") {
    CHECK(parse_link_spec("ge=0.1/0.3").ge == LinkSpec::GilbertElliott{0.1, 0.3, 0, 100});
    CHECK(parse_link_spec("ge=0.1/0.3/1").ge == LinkSpec::GilbertElliott{0.1, 0.3, 1, 100});
    CHECK(parse_link_spec("ge=0.1/0.3/1/50").ge == LinkSpec::GilbertElliott{0.1, 0.3, 1, 50});
  }

  SUBCASE("describe writes non-default keys in parse_link_spec's syntax") {
    CHECK(describe(parse_link_spec("loss=5,delay=40")) == "delay=40,loss=5");
    CHECK(describe(parse_link_spec("ge=0.05/0.5,reorder-extra=25,jitter-dist=pareto")) ==
          "jitter-dist=pareto,ge=0.05/0.5/0/100,reorder-extra=25");
    for (const char* text : {"delay=40,jitter=20,jitter-dist=normal,loss=5,ge=0.05/0.5/0/100,reorder=2,dup=1,"
                             "rate=1500,queue=200,outage=4.0+0.8;9+1.5",
                             "delay=0.125,loss=33.3", "rate=1,queue=0", "outage=0+0.001"}) {
      CAPTURE(text);
      const auto s = parse_link_spec(text);
      CHECK(parse_link_spec(describe(s)) == s);
    }
  }

  SUBCASE("bad input names the item and the fix") {
    struct Row {
      const char* text;
      const char* message;
    };
    const Row rows[] = {
        {"loss", "bad link spec item 'loss': expected KEY=VALUE"},
        {"=5", "bad link spec item '=5': expected KEY=VALUE"},
        {"loss=5,", "bad link spec item '': expected KEY=VALUE"},
        {"lose=5", "bad link spec item 'lose=5': unknown key (keys: delay, jitter, jitter-dist, loss, ge, reorder, "
                   "reorder-extra, dup, rate, queue, outage)"},
        {"loss=5,loss=6", "bad link spec item 'loss=6': key given twice"},
        {"loss=101", "bad link spec item 'loss=101': loss is a percentage from 0 to 100"},
        {"loss=-1", "bad link spec item 'loss=-1': loss is a percentage from 0 to 100"},
        {"loss=5%", "bad link spec item 'loss=5%': loss is a percentage from 0 to 100"},
        {"loss=", "bad link spec item 'loss=': loss is a percentage from 0 to 100"},
        {"loss=nan", "bad link spec item 'loss=nan': loss is a percentage from 0 to 100"},
        {"delay=40ms", "bad link spec item 'delay=40ms': delay is milliseconds from 0 to 60000"},
        {"delay=60001", "bad link spec item 'delay=60001': delay is milliseconds from 0 to 60000"},
        {"jitter=-3", "bad link spec item 'jitter=-3': jitter is milliseconds from 0 to 60000"},
        {"jitter-dist=gauss", "bad link spec item 'jitter-dist=gauss': jitter-dist is uniform, normal or pareto"},
        {"ge=0.05", "bad link spec item 'ge=0.05': ge is P/R[/LOSS_GOOD[/LOSS_BAD]]: P and R probabilities per "
                    "packet from 0 to 1, losses in % from 0 to 100"},
        {"ge=5/50", "bad link spec item 'ge=5/50': ge is P/R[/LOSS_GOOD[/LOSS_BAD]]: P and R probabilities per "
                    "packet from 0 to 1, losses in % from 0 to 100"},
        {"ge=0.1/0.2/0/100/1", "bad link spec item 'ge=0.1/0.2/0/100/1': ge is P/R[/LOSS_GOOD[/LOSS_BAD]]: P and R "
                               "probabilities per packet from 0 to 1, losses in % from 0 to 100"},
        {"reorder=200", "bad link spec item 'reorder=200': reorder is a percentage from 0 to 100"},
        {"reorder-extra=x", "bad link spec item 'reorder-extra=x': reorder-extra is milliseconds from 0 to 60000"},
        {"dup=1.5.0", "bad link spec item 'dup=1.5.0': dup is a percentage from 0 to 100"},
        {"rate=0.5", "bad link spec item 'rate=0.5': rate is kbit/s: 0 (unlimited) or from 1 to 10000000"},
        {"rate=1e9", "bad link spec item 'rate=1e9': rate is kbit/s: 0 (unlimited) or from 1 to 10000000"},
        {"queue=-1", "bad link spec item 'queue=-1': queue is milliseconds from 0 to 60000"},
        {"outage=4", "bad link spec item 'outage=4': outage is START+DURATION[;START+DURATION...] in seconds from "
                     "start, e.g. 4.0+0.8;9+1.5"},
        {"outage=4+0", "bad link spec item 'outage=4+0': outage is START+DURATION[;START+DURATION...] in seconds "
                       "from start, e.g. 4.0+0.8;9+1.5"},
        {"outage=4+1;", "bad link spec item 'outage=4+1;': outage is START+DURATION[;START+DURATION...] in seconds "
                        "from start, e.g. 4.0+0.8;9+1.5"},
        {"outage=-1+1", "bad link spec item 'outage=-1+1': outage is START+DURATION[;START+DURATION...] in seconds "
                        "from start, e.g. 4.0+0.8;9+1.5"},
        {"delay=40;loss=5", "bad link spec item 'delay=40;loss=5': delay is milliseconds from 0 to 60000"},
    };
    for (const auto& row : rows) {
      CAPTURE(row.text);
      CHECK(spec_error(row.text) == row.message);
    }
  }
}

TEST_CASE("Link") {
  SUBCASE("the same seed and arrivals give the same fates; another seed, others") {
    const auto a = fates(everything(), 7, 20'000);
    CHECK(a == fates(everything(), 7, 20'000));
    CHECK(a != fates(everything(), 8, 20'000));
    CHECK(direction_seed(7, Direction::up) != direction_seed(7, Direction::down));
    CHECK(direction_seed(7, Direction::up) != direction_seed(8, Direction::up));
    CHECK(fates(everything(), direction_seed(7, Direction::up), 1000) !=
          fates(everything(), direction_seed(7, Direction::down), 1000));
  }

  SUBCASE("every packet draws the same randomness, so adding an outage or a drop changes no other fate") {
    const auto base = parse_link_spec("loss=5,ge=0.02/0.4,delay=30,jitter=10,reorder=3,dup=2");
    auto with_outage = base;
    with_outage.outages = {{10, 5}};  // packets 500..749
    auto with_more_loss = base;
    with_more_loss.loss_pct = 50;
    const auto plain = fates(base, 3, 5000);
    const auto out = fates(with_outage, 3, 5000);
    const auto lossy = fates(with_more_loss, 3, 5000);
    int outage_drops = 0, changed_by_loss = 0;
    for (std::size_t k = 0; k < plain.size(); ++k) {
      CAPTURE(k);
      if (k >= 500 && k < 750) {
        outage_drops += out[k].kind == Kind::drop_outage;
      } else {
        CHECK(out[k] == plain[k]);
      }
      if (lossy[k].kind == Kind::drop_loss && plain[k].kind != Kind::drop_loss)
        ++changed_by_loss;
      else
        CHECK(lossy[k] == plain[k]);
    }
    CHECK(outage_drops == 250);
    CHECK(changed_by_loss > 2000);  // the 45 % extra loss did happen
  }

  SUBCASE("random loss") {
    const auto f = fates(parse_link_spec("loss=5"), 1);
    CHECK(fraction(f, Kind::drop_loss) == doctest::Approx(0.05).epsilon(0.06));  // 5 +- 0.3 %
    CHECK(fraction(f, Kind::deliver) + fraction(f, Kind::drop_loss) == doctest::Approx(1.0));
    CHECK(fraction(fates(LinkSpec{}, 1), Kind::deliver) == 1.0);
    CHECK(fraction(fates(parse_link_spec("loss=100"), 1, 1000), Kind::drop_loss) == 1.0);
  }

  SUBCASE("Gilbert-Elliott bursts: loss p/(p+r), mean burst 1/r") {
    const double p = 0.05, r = 0.5;
    const auto f = fates(parse_link_spec("ge=0.05/0.5"), 2);
    CHECK(fraction(f, Kind::drop_burst) == doctest::Approx(p / (p + r)).epsilon(0.05));
    int bursts = 0, lost = 0;
    for (std::size_t k = 0; k < f.size(); ++k) {
      if (f[k].kind != Kind::drop_burst) continue;
      ++lost;
      bursts += k == 0 || f[k - 1].kind != Kind::drop_burst;
    }
    CHECK(static_cast<double>(lost) / bursts == doctest::Approx(1 / r).epsilon(0.05));

    // Partial loss in each state: pi_bad * 50 % + pi_good * 1 %, pi_bad = p / (p + r) = 0.25.
    const auto g = fates(parse_link_spec("ge=0.1/0.3/1/50"), 2);
    CHECK(fraction(g, Kind::drop_burst) == doctest::Approx(0.25 * 0.5 + 0.75 * 0.01).epsilon(0.05));
  }

  SUBCASE("uniform jitter: delay +- jitter") {
    const auto d = delays_ms(fates(parse_link_spec("delay=40,jitter=20"), 4));
    CHECK(mean(d) == doctest::Approx(40).epsilon(0.005));
    CHECK(stddev(d) == doctest::Approx(20 / std::sqrt(3.0)).epsilon(0.01));
    CHECK(*std::min_element(d.begin(), d.end()) >= 20);
    CHECK(*std::min_element(d.begin(), d.end()) < 20.1);
    CHECK(*std::max_element(d.begin(), d.end()) <= 60);
    CHECK(*std::max_element(d.begin(), d.end()) > 59.9);
  }

  SUBCASE("normal jitter: sigma = jitter") {
    const auto d = delays_ms(fates(parse_link_spec("delay=100,jitter=20,jitter-dist=normal"), 5));
    CHECK(mean(d) == doctest::Approx(100).epsilon(0.003));
    CHECK(stddev(d) == doctest::Approx(20).epsilon(0.01));
    const auto within = std::count_if(d.begin(), d.end(), [](double x) { return std::abs(x - 100) < 20; });
    CHECK(static_cast<double>(within) / static_cast<double>(d.size()) == doctest::Approx(0.6827).epsilon(0.01));
  }

  SUBCASE("pareto jitter only adds delay, mean jitter, long tail") {
    const auto d = delays_ms(fates(parse_link_spec("delay=40,jitter=20,jitter-dist=pareto"), 6));
    CHECK(*std::min_element(d.begin(), d.end()) >= 40);
    CHECK(mean(d) == doctest::Approx(60).epsilon(0.02));
    // Shape 3, scale 2j: P(extra > 5j) = (1 + 5/2)^-3.
    const auto tail = std::count_if(d.begin(), d.end(), [](double x) { return x > 40 + 5 * 20; });
    CHECK(static_cast<double>(tail) / static_cast<double>(d.size()) ==
          doctest::Approx(std::pow(3.5, -3)).epsilon(0.1));
  }

  SUBCASE("jitter never sends a packet before it arrived") {
    const auto d = delays_ms(fates(parse_link_spec("delay=5,jitter=20,jitter-dist=normal"), 7, 10'000));
    CHECK(*std::min_element(d.begin(), d.end()) == 0);
  }

  SUBCASE("reorder holds a packet back so the next overtakes it") {
    const Micros period = 5'000;
    const auto f = fates(parse_link_spec("delay=40,reorder=2,reorder-extra=10"), 8, kSample, period);
    int reordered = 0, overtaken = 0;
    for (std::size_t k = 0; k + 1 < f.size(); ++k) {
      const double d = static_cast<double>(f[k].send_at_us - static_cast<Micros>(k) * period) / 1000.0;
      CHECK(d == (f[k].reordered ? 50 : 40));
      reordered += f[k].reordered;
      overtaken += f[k + 1].send_at_us < f[k].send_at_us;
    }
    CHECK(static_cast<double>(reordered) / kSample == doctest::Approx(0.02).epsilon(0.1));
    CHECK(overtaken > reordered * 95 / 100);  // all but those followed by another held packet
    CHECK(overtaken <= reordered);
  }

  SUBCASE("duplicates leave 1 ms after the original") {
    const auto f = fates(parse_link_spec("delay=10,dup=1"), 9);
    int dups = 0;
    for (const auto& x : f) {
      if (!x.duplicate) continue;
      ++dups;
      CHECK(x.duplicate_at_us == x.send_at_us + 1000);
    }
    CHECK(static_cast<double>(dups) / kSample == doctest::Approx(0.01).epsilon(0.15));
  }

  SUBCASE("outages drop exactly the packets that arrive inside a window") {
    const Micros period = 10'000;
    const auto f = fates(parse_link_spec("outage=3+0.25;1+0.5,delay=20"), 10, 500, period);
    for (std::size_t k = 0; k < f.size(); ++k) {
      CAPTURE(k);
      const Micros t = static_cast<Micros>(k) * period;
      const bool inside = (t >= 1'000'000 && t < 1'500'000) || (t >= 3'000'000 && t < 3'250'000);
      CHECK(f[k].kind == (inside ? Kind::drop_outage : Kind::deliver));
    }
    CHECK(fraction(f, Kind::drop_outage) * 500 == doctest::Approx(75));
  }

  SUBCASE("rate cap: the queue fills, tail-drops, and delivers the link rate") {
    // 1000-byte packets every 40 ms (200 kbit/s) into 100 kbit/s: each takes 80 ms to send.
    const Micros period = 40'000;
    const int n = 10'000;
    const auto f = fates(parse_link_spec("rate=100,queue=200"), 11, n, period, 1000);
    // Backlog in ms when packets 0..4 arrive: 0, 40, 80, 120, 160; 160 + 80 > 200 drops packet 4.
    for (int k = 0; k < 4; ++k) CHECK(f[static_cast<std::size_t>(k)].kind == Kind::deliver);
    CHECK(f[0].send_at_us == 80'000);
    CHECK(f[3].send_at_us == 320'000);
    CHECK(f[4].kind == Kind::drop_queue);
    CHECK(fraction(f, Kind::drop_queue) == doctest::Approx(0.5).epsilon(0.01));
    const auto d = delays_ms(f, period);
    CHECK(*std::max_element(d.begin(), d.end()) <= 200);
    Micros last = 0;
    for (const auto& x : f)
      if (x.kind == Kind::deliver) last = std::max(last, x.send_at_us);
    const double kbps = static_cast<double>(d.size()) * 1000 * 8 / (static_cast<double>(last) / 1e6) / 1000;
    CHECK(kbps == doctest::Approx(100).epsilon(0.01));

    // Under the cap nothing queues: every packet just takes its 80 ms to send.
    const auto light = delays_ms(fates(parse_link_spec("rate=100,queue=200"), 11, 1000, 160'000, 1000), 160'000);
    CHECK(light.size() == 1000);
    CHECK(std::all_of(light.begin(), light.end(), [](double x) { return x == 80; }));
  }
}
