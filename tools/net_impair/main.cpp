// net-impair: a UDP proxy between clients and one target that delays, drops, reorders and
// duplicates datagrams by a seeded model (impairment.hpp), so QA can reproduce bad networks
// without root. Everything runs on one io_context thread: the receive loops decide each packet's
// fate on arrival and a single timer, always armed for the earliest pending packet, sends it.
// --copy-to sends every up packet the target gets, at the same moment, to more receivers as well,
// so receivers tuned differently (ptt-bench's GStreamer ladder) see exactly the same link.
#include <CLI/CLI.hpp>

#include "pttcam/cli/parse.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "impairment.hpp"
#include "pttcam/measure/event_log.hpp"
#include "pttcam/net/address.hpp"
#include "pttcam/net/asio.hpp"
#include "pttcam/net/byte_order.hpp"

namespace {

using namespace pttcam;
using impair::Direction;
using impair::Fate;
using impair::Micros;
using net::Udp;

constexpr std::size_t kMaxDatagram = 65'536;
constexpr std::size_t kMaxClients = 64;  // each costs a socket; a stray scanner must not exhaust fds
constexpr std::size_t kFateKinds = 5;

const char* to_string(Direction d) { return d == Direction::up ? "up" : "down"; }

// RTP version 2 (first byte 0x80..0xBF) with a full fixed header: bytes 2-3 are the sequence number.
std::optional<std::uint16_t> rtp_sequence(std::span<const std::byte> d) {
  if (d.size() < 12 || net::u8(d, 0) < 0x80 || net::u8(d, 0) > 0xBF) return std::nullopt;
  // RTCP on the same port (RFC 5761: second byte 192-223) has no sequence number.
  if (net::u8(d, 1) >= 192 && net::u8(d, 1) <= 223) return std::nullopt;
  return static_cast<std::uint16_t>(net::read_be(d, 2, 2));
}

struct DirectionStats {
  std::uint64_t packets_in = 0, bytes_in = 0, delivered = 0, bytes_delivered = 0;
  std::array<std::uint64_t, kFateKinds> by_kind{};
  std::uint64_t duplicated = 0, reordered = 0;
  std::uint64_t sent = 0, send_errors = 0, unsent_at_exit = 0;  // copies, duplicates included

  std::uint64_t dropped(Fate::Kind k) const { return by_kind[static_cast<std::size_t>(k)]; }
  std::uint64_t dropped_total() const { return packets_in - delivered; }
};

class Proxy {
 public:
  Proxy(boost::asio::io_context& io, const Udp::endpoint& listen, const Udp::endpoint& target,
        std::vector<Udp::endpoint> copies, impair::LinkSpec up, impair::LinkSpec down, std::uint64_t seed,
        const std::string& log_path)
      : io_(io),
        seed_(seed),
        target_(target),
        copies_(std::move(copies)),
        copy_socket_(io),
        listen_(io),
        timer_(io),
        up_(std::move(up), impair::direction_seed(seed, Direction::up)),
        down_(std::move(down), impair::direction_seed(seed, Direction::down)) {
    boost::system::error_code ec;
    listen_.open(listen.protocol(), ec);
    if (!ec) listen_.bind(listen, ec);
    if (!ec) listen_.non_blocking(true, ec);
    if (ec) throw std::runtime_error("cannot listen on " + net::to_string(listen) + ": " + ec.message());
    if (!copies_.empty()) copy_socket_.open(target.protocol(), ec);
    if (ec) throw std::runtime_error("cannot open a socket for --copy-to: " + ec.message());
    if (!log_path.empty()) {
      log_.open(log_path, std::ios::trunc);
      if (!log_) throw std::runtime_error("--log " + log_path + ": cannot write");
    }
  }

  Udp::endpoint local_endpoint() const { return listen_.local_endpoint(); }

  void start() {
    start_us_ = timing::monotonic_us();
    receive_from_clients();
  }

  // Signal handler: closing the sockets and the timer ends every loop, so io.run() returns.
  void stop() {
    stopped_ = true;
    boost::system::error_code ignored;
    listen_.close(ignored);
    for (auto& [peer, c] : clients_) c->upstream.close(ignored);
    timer_.cancel();
    for (const auto& p : pending_) ++stats(p.dir).unsent_at_exit;
    pending_.clear();
  }

  nlohmann::ordered_json summary() const {
    nlohmann::ordered_json out;
    out["seed"] = seed_;
    out["clients"] = clients_.size();
    out["rejected_packets"] = rejected_packets_;
    for (const auto dir : {Direction::up, Direction::down}) {
      const auto& s = stats_[static_cast<std::size_t>(dir)];
      out[to_string(dir)] = {
          {"spec", impair::describe(link(dir).spec())},
          {"packets_in", s.packets_in},
          {"bytes_in", s.bytes_in},
          {"delivered", s.delivered},
          {"bytes_delivered", s.bytes_delivered},
          {"dropped",
           {{"total", s.dropped_total()},
            {"loss", s.dropped(Fate::Kind::drop_loss)},
            {"burst", s.dropped(Fate::Kind::drop_burst)},
            {"outage", s.dropped(Fate::Kind::drop_outage)},
            {"queue", s.dropped(Fate::Kind::drop_queue)}}},
          {"duplicated", s.duplicated},
          {"reordered", s.reordered},
          {"sent", s.sent},
          {"send_errors", s.send_errors},
          {"unsent_at_exit", s.unsent_at_exit},
      };
    }
    return out;
  }

 private:
  struct Client {
    explicit Client(boost::asio::io_context& io, Udp::endpoint from) : peer(from), upstream(io) {}
    Udp::endpoint peer;
    Udp::socket upstream;  // connected to the target: the target sees one peer per client
    std::array<std::byte, kMaxDatagram> buffer;
  };
  struct Pending {
    Micros at_us;  // CLOCK_MONOTONIC
    std::uint64_t order;  // ties leave in arrival order
    Direction dir;
    Client* client;
    std::vector<std::byte> bytes;
  };
  // Makes pending_ a min-heap on (at_us, order).
  static bool later(const Pending& a, const Pending& b) {
    return a.at_us != b.at_us ? a.at_us > b.at_us : a.order > b.order;
  }

  DirectionStats& stats(Direction d) { return stats_[static_cast<std::size_t>(d)]; }
  impair::Link& link(Direction d) { return d == Direction::up ? up_ : down_; }
  const impair::Link& link(Direction d) const { return d == Direction::up ? up_ : down_; }

  void receive_from_clients() {
    listen_.async_receive_from(boost::asio::buffer(listen_buffer_), sender_,
                               [this](const boost::system::error_code& ec, std::size_t n) {
                                 if (stopped_) return;
                                 if (!ec) {
                                   if (Client* c = client_for(sender_))
                                     on_packet(Direction::up, *c, std::span(listen_buffer_.data(), n));
                                   else
                                     ++rejected_packets_;
                                 }
                                 receive_from_clients();
                               });
  }

  void receive_from_target(Client& c) {
    c.upstream.async_receive(boost::asio::buffer(c.buffer), [this, &c](const boost::system::error_code& ec,
                                                                         std::size_t n) {
      if (stopped_) return;
      // ECONNREFUSED here only means the target was not listening when an earlier packet arrived.
      if (!ec) on_packet(Direction::down, c, std::span(c.buffer.data(), n));
      receive_from_target(c);
    });
  }

  Client* client_for(const Udp::endpoint& peer) {
    if (const auto it = clients_.find(peer); it != clients_.end()) return it->second.get();
    if (clients_.size() >= kMaxClients) return nullptr;
    auto c = std::make_unique<Client>(io_, peer);
    boost::system::error_code ec;
    c->upstream.open(target_.protocol(), ec);
    if (!ec) c->upstream.connect(target_, ec);  // binds an ephemeral port
    if (!ec) c->upstream.non_blocking(true, ec);
    if (ec) return nullptr;
    std::printf("net-impair: client %s via local port %u\n", net::to_string(peer).c_str(),
                c->upstream.local_endpoint(ec).port());
    std::fflush(stdout);
    Client* raw = c.get();
    clients_.emplace(peer, std::move(c));
    receive_from_target(*raw);
    return raw;
  }

  void on_packet(Direction dir, Client& c, std::span<const std::byte> bytes) {
    const Micros now_us = timing::monotonic_us();
    const Fate fate = link(dir).decide(bytes.size(), now_us - start_us_);
    auto& s = stats(dir);
    ++s.packets_in;
    s.bytes_in += bytes.size();
    ++s.by_kind[static_cast<std::size_t>(fate.kind)];
    if (fate.kind == Fate::Kind::deliver) {
      ++s.delivered;
      s.bytes_delivered += bytes.size();
      s.reordered += fate.reordered;
      schedule(start_us_ + fate.send_at_us, dir, c, bytes);
      if (fate.duplicate) {
        ++s.duplicated;
        schedule(start_us_ + fate.duplicate_at_us, dir, c, bytes);
      }
    }
    write_log(dir, s.packets_in, now_us, bytes, fate);
  }

  void schedule(Micros at_us, Direction dir, Client& c, std::span<const std::byte> bytes) {
    pending_.push_back({at_us, next_order_++, dir, &c, {bytes.begin(), bytes.end()}});
    std::push_heap(pending_.begin(), pending_.end(), later);
    if (pending_.front().order == next_order_ - 1) arm();  // the new packet is now the earliest
  }

  // Re-arming cancels the previous wait; its handler then sees operation_aborted and does nothing.
  void arm() {
    if (pending_.empty() || stopped_) return;
    timer_.expires_at(boost::asio::steady_timer::time_point(std::chrono::microseconds(pending_.front().at_us)));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec == boost::asio::error::operation_aborted || stopped_) return;
      send_due();
      arm();
    });
  }

  void send_due() {
    const Micros now_us = timing::monotonic_us();
    while (!pending_.empty() && pending_.front().at_us <= now_us) {
      std::pop_heap(pending_.begin(), pending_.end(), later);
      const Pending p = std::move(pending_.back());
      pending_.pop_back();
      boost::system::error_code ec;
      if (p.dir == Direction::up) {
        p.client->upstream.send(boost::asio::buffer(p.bytes), 0, ec);
        boost::system::error_code copy_ec;  // a copy receiver not listening is not the link's fault
        for (const auto& to : copies_) copy_socket_.send_to(boost::asio::buffer(p.bytes), to, 0, copy_ec);
      } else
        listen_.send_to(boost::asio::buffer(p.bytes), p.client->peer, 0, ec);
      ++(ec ? stats(p.dir).send_errors : stats(p.dir).sent);
    }
  }

  void write_log(Direction dir, std::uint64_t n, Micros t_in_us, std::span<const std::byte> bytes, const Fate& f) {
    if (!log_.is_open()) return;
    const bool delivered = f.kind == Fate::Kind::deliver;
    nlohmann::ordered_json line{{"dir", to_string(dir)},
                                {"n", n},
                                {"t_in_us", t_in_us},
                                {"bytes", bytes.size()},
                                {"fate", impair::to_string(f.kind)}};
    line["t_out_us"] = delivered ? nlohmann::ordered_json(start_us_ + f.send_at_us) : nullptr;
    line["dup"] = f.duplicate;
    if (f.duplicate) line["t_dup_us"] = start_us_ + f.duplicate_at_us;
    line["reordered"] = f.reordered;
    if (const auto seq = rtp_sequence(bytes)) line["rtp_seq"] = *seq;
    log_ << line.dump() << '\n';
    log_.flush();  // a killed proxy still leaves every line it decided
  }

  boost::asio::io_context& io_;
  std::uint64_t seed_;
  Udp::endpoint target_;
  std::vector<Udp::endpoint> copies_;
  Udp::socket copy_socket_;  // unconnected: sends the copies
  Udp::socket listen_;
  boost::asio::steady_timer timer_;
  impair::Link up_;
  impair::Link down_;
  std::ofstream log_;
  std::array<std::byte, kMaxDatagram> listen_buffer_;
  Udp::endpoint sender_;
  std::map<Udp::endpoint, std::unique_ptr<Client>> clients_;
  std::vector<Pending> pending_;  // heap ordered by later()
  std::uint64_t next_order_ = 0;
  std::array<DirectionStats, 2> stats_{};
  std::uint64_t rejected_packets_ = 0;
  Micros start_us_ = 0;
  bool stopped_ = false;
};

void print_summary(const nlohmann::ordered_json& s) {
  for (const char* dir : {"up", "down"}) {
    const auto& d = s[dir];
    const auto& x = d["dropped"];
    const auto u = [](const nlohmann::ordered_json& j, const char* k) { return j[k].get<unsigned long long>(); };
    std::printf("net-impair: %s: %llu in, %llu delivered, %llu dropped (%llu loss, %llu burst, %llu outage, %llu "
                "queue), %llu duplicated, %llu reordered, %llu send errors\n",
                dir, u(d, "packets_in"), u(d, "delivered"), u(x, "total"), u(x, "loss"), u(x, "burst"),
                u(x, "outage"), u(x, "queue"), u(d, "duplicated"), u(d, "reordered"), u(d, "send_errors"));
  }
}

// --to and --copy-to: somewhere packets can be sent.
Udp::endpoint concrete_endpoint(const std::string& text) {
  const auto ep = net::parse_endpoint(text);
  if (ep.port() == 0) throw std::invalid_argument("needs a port from 1 to 65535, not " + text);
  if (ep.address().is_unspecified())
    throw std::invalid_argument("needs a concrete address, not " + ep.address().to_string());
  return ep;
}

CLI::Validator link_rule() {
  return cli::parsed_by("SPEC", [](const std::string& t) { (void)impair::parse_link_spec(t); });
}

int run(int argc, char** argv) {
  CLI::App app{"net-impair: a seeded UDP proxy that delays, drops, reorders and duplicates datagrams"};
  std::string listen, to, port_file, up_text, down_text, both_text, log_path, summary_path;
  std::string seed_text = "1";
  app.add_option("--listen", listen, "Address clients send to, HOST:PORT (port 0 picks one)")
      ->required()
      ->check(cli::parsed_by("HOST:PORT", [](const std::string& t) { (void)net::parse_endpoint(t); }));
  const auto concrete = cli::parsed_by("HOST:PORT", [](const std::string& t) { (void)concrete_endpoint(t); });
  app.add_option("--to", to, "Target to forward to, HOST:PORT")->required()->check(concrete);
  std::vector<std::string> copy_to;
  app.add_option("--copy-to", copy_to, "Also send every delivered up packet here, HOST:PORT (repeat for more)")
      ->check(concrete);
  app.add_option("--port-file", port_file, "Write the bound port here once listening");
  app.add_option("--seed", seed_text, "Seed of the impairment model (same seed, same fates)")
      ->check(cli::parsed_by("N", [](const std::string& t) { (void)impair::parse_seed(t); }))
      ->capture_default_str();
  app.add_option("--up", up_text, "Impairment of client -> target packets (docs/scenarios.md), e.g. loss=5,delay=40")
      ->check(link_rule());
  app.add_option("--down", down_text, "Impairment of target -> client packets")->check(link_rule());
  app.add_option("--both", both_text, "Same impairment in both directions (instead of --up/--down)")->check(link_rule());
  app.add_option("--log", log_path, "Write one JSON line per packet here");
  app.add_option("--summary", summary_path, "Write a JSON summary here at exit");
  if (const auto code = cli::parse(app, argc, argv, "net-impair")) return *code;
  if (!both_text.empty() && (!up_text.empty() || !down_text.empty()))
    throw cli::UsageError("--both sets both directions: use it alone, or --up and --down");
  if (!both_text.empty()) up_text = down_text = both_text;
  const std::uint64_t seed = impair::parse_seed(seed_text);
  const auto listen_ep = net::parse_endpoint(listen);
  const auto target_ep = concrete_endpoint(to);
  std::vector<Udp::endpoint> copies;
  for (const auto& c : copy_to) copies.push_back(concrete_endpoint(c));
  const auto up = impair::parse_link_spec(up_text);
  const auto down = impair::parse_link_spec(down_text);
  // Runtime checks before anything starts: results that cannot be written would waste the run.
  cli::require_writable("--summary", summary_path);
  cli::require_writable("--log", log_path);
  cli::require_writable("--port-file", port_file);

  boost::asio::io_context io;
  Proxy proxy(io, listen_ep, target_ep, std::move(copies), up, down, seed, log_path);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    proxy.stop();
    io.stop();
  });
  proxy.start();
  std::printf("net-impair: listening on %s, forwarding to %s; up: %s; down: %s\n",
              net::to_string(proxy.local_endpoint()).c_str(), net::to_string(target_ep).c_str(),
              impair::describe(up).c_str(), impair::describe(down).c_str());
  std::fflush(stdout);
  if (!port_file.empty()) net::write_port_file(port_file, proxy.local_endpoint().port());
  io.run();

  const auto summary = proxy.summary();
  print_summary(summary);
  if (!summary_path.empty()) cli::write_file("--summary", summary_path, summary.dump(2) + '\n');
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return pttcam::cli::run_main("net-impair", [&] { return run(argc, argv); });
}
