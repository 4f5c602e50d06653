// pttcam-jack-io: a JACK client that plays a WAV file into one port and records another port,
// sample-locked to the JACK server's clock. It waits for the named ports to appear (the programs
// under test register them when they open their streams), connects, runs for --seconds or until
// SIGTERM, then writes the recording and the monotonic time of its first sample.
#include <CLI/CLI.hpp>

#include "pttcam/cli/parse.hpp"
#include <jack/jack.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/audio/sndfile.hpp"
#include "pttcam/events/event_log.hpp"

namespace {

using namespace pttcam;
std::atomic<bool> g_stop{false};

struct ClientCloser {
  void operator()(jack_client_t* c) const noexcept { jack_client_close(c); }
};

struct Engine {
  std::vector<float> play;
  std::size_t play_pos = 0;
  std::vector<float> record;
  std::atomic<std::size_t> recorded{0};
  std::atomic<bool> started{false};
  std::int64_t first_cycle_us = 0;  // CLOCK_MONOTONIC when the first cycle ran
  // The latest cycle: its monotonic time and how many samples came before it. Written by the
  // process thread, read once after deactivation (which joins it).
  std::int64_t last_cycle_us = 0;
  std::uint64_t last_cycle_samples = 0;
  std::uint64_t cycled = 0;
  jack_port_t* out = nullptr;
  jack_port_t* in = nullptr;
  jack_client_t* client = nullptr;
};

int process(jack_nframes_t n, void* arg) noexcept {  // RT-safe: wait-free, no alloc
  auto* e = static_cast<Engine*>(arg);
  if (!e->started.load(std::memory_order_relaxed)) {
    e->first_cycle_us = events::monotonic_us();  // vDSO clock read: no syscall
    e->started.store(true, std::memory_order_release);
  }
  e->last_cycle_us = events::monotonic_us();
  e->last_cycle_samples = e->cycled;
  e->cycled += n;
  if (e->out) {
    auto* buf = static_cast<float*>(jack_port_get_buffer(e->out, n));
    for (jack_nframes_t i = 0; i < n; ++i) buf[i] = e->play_pos < e->play.size() ? e->play[e->play_pos++] : 0.0f;
  }
  if (e->in) {
    const auto* buf = static_cast<const float*>(jack_port_get_buffer(e->in, n));
    std::size_t at = e->recorded.load(std::memory_order_relaxed);
    for (jack_nframes_t i = 0; i < n && at < e->record.size(); ++i) e->record[at++] = buf[i];
    e->recorded.store(at, std::memory_order_release);
  }
  return 0;
}

// Waits up to `timeout` for a port matching `pattern` with `flags`, returns its full name.
std::string wait_for_port(jack_client_t* c, const std::string& pattern, unsigned long flags,
                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline && !g_stop) {
    if (const char** ports = jack_get_ports(c, pattern.c_str(), JACK_DEFAULT_AUDIO_TYPE, flags)) {
      std::string name = ports[0];
      jack_free(ports);
      return name;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("no JACK port matches '" + pattern + "' (is the program running on this JACK server?)");
}

int run(int argc, char** argv) {
  CLI::App app{"pttcam-jack-io: play a WAV into a JACK port and record another, on one clock"};
  std::string play_path, to, record_path, from, info_path, ready_path;
  double seconds = 10;
  double wait_ports = 10;
  app.add_option("--play", play_path, "48 kHz WAV to play");
  app.add_option("--to", to, "Input port to play into (regex), e.g. 'ptt-client:in_0'");
  app.add_option("--record", record_path, "WAV file to record to");
  app.add_option("--from", from, "Output port to record (regex), e.g. 'camera-sim:out_0'");
  app.add_option("--seconds", seconds, "How long to run")->check(CLI::Range(0.1, 3600.0))->capture_default_str();
  app.add_option("--wait-ports", wait_ports, "How long to wait for the ports to appear (s)")->capture_default_str();
  app.add_option("--info", info_path, "Write {play_t0_us, record_t0_us} (CLOCK_MONOTONIC) here");
  app.add_option("--ready-file", ready_path, "Create this file once connected");
  if (const auto code = cli::parse(app, argc, argv, "pttcam-jack-io")) return *code;
  if (play_path.empty() != to.empty()) throw std::invalid_argument("--play and --to go together");
  if (record_path.empty() != from.empty()) throw std::invalid_argument("--record and --from go together");

  Engine e;
  if (!play_path.empty()) e.play = audio::read_mono_48k(play_path);
  e.record.resize(static_cast<std::size_t>(seconds * 48000));

  jack_status_t status{};
  std::unique_ptr<jack_client_t, ClientCloser> client(jack_client_open("pttcam-jack-io", JackNoStartServer, &status));
  if (!client) throw std::runtime_error("cannot connect to a JACK server (is jackd running? JACK_DEFAULT_SERVER?)");
  if (jack_get_sample_rate(client.get()) != 48000) throw std::runtime_error("the JACK server must run at 48000 Hz");
  e.client = client.get();
  if (!to.empty()) e.out = jack_port_register(client.get(), "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
  if (!from.empty()) e.in = jack_port_register(client.get(), "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
  // Connect before activating, so the first processed cycle is the first sample on both sides.
  const auto wait = std::chrono::milliseconds(static_cast<long>(wait_ports * 1000));
  const std::string target_in = to.empty() ? "" : wait_for_port(client.get(), to, JackPortIsInput, wait);
  const std::string source_out = from.empty() ? "" : wait_for_port(client.get(), from, JackPortIsOutput, wait);
  jack_set_process_callback(client.get(), process, &e);
  if (jack_activate(client.get()) != 0) throw std::runtime_error("cannot activate the JACK client");
  if (e.out && jack_connect(client.get(), jack_port_name(e.out), target_in.c_str()) != 0)
    throw std::runtime_error("cannot connect to " + target_in);
  if (e.in && jack_connect(client.get(), source_out.c_str(), jack_port_name(e.in)) != 0)
    throw std::runtime_error("cannot connect to " + source_out);
  if (!ready_path.empty()) std::ofstream(ready_path) << "ready\n";

  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  while (!g_stop && std::chrono::steady_clock::now() < end &&
         e.recorded.load(std::memory_order_acquire) < e.record.size())
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  jack_deactivate(client.get());

  // Sample 0 on both ports passed through the graph in the first cycle, whose wall time (the
  // CLOCK_MONOTONIC of pttcam's event logs) was read in the callback. jack_frames_to_time() is
  // not used: with the dummy driver its estimate was seen to be tens of milliseconds off.
  // The dummy driver is paced by sleeps, not a sound card: measure its rate on the monotonic clock
  // so times from the event logs land on the right samples.
  const double span_s = static_cast<double>(e.last_cycle_us - e.first_cycle_us) / 1e6;
  const double rate = span_s > 0.5 ? static_cast<double>(e.last_cycle_samples) / span_s : 48000.0;
  if (!record_path.empty())
    audio::write_wav(record_path, std::span<const float>(e.record.data(), e.recorded.load()));
  if (!info_path.empty())
    std::ofstream(info_path) << nlohmann::json{{"play_t0_us", e.first_cycle_us},
                                               {"record_t0_us", e.first_cycle_us},
                                               {"recorded_samples", e.recorded.load()},
                                               {"samples_per_second", rate}}
                                    .dump()
                             << '\n';
  std::printf("pttcam-jack-io: played %zu, recorded %zu samples\n", std::min(e.play_pos, e.play.size()),
              e.recorded.load());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });
  try {
    return run(argc, argv);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "pttcam-jack-io: %s\n", ex.what());
    return 1;
  }
}
