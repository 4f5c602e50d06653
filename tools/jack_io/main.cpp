// pttcam-jack-io: a JACK client that plays a WAV file into one or more ports and records one or
// more ports, sample-locked to the JACK server's clock. It waits for the named ports to appear (the
// programs under test register them when they open their streams), connects, runs for --seconds or
// until SIGTERM, then writes the recordings and the monotonic time of their first sample. Several
// --to ports all get the same samples; each --from port is recorded to the --record path at the same
// position in the list, all from the same first cycle. A port that goes away and comes back (a
// program that closes its capture stream between key presses, ptt-client --cold-mic) is connected
// again within about a millisecond of its return; the samples in between go nowhere.
#include <CLI/CLI.hpp>

#include "pttcam/cli/parse.hpp"
#include <jack/jack.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <algorithm>
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

// Sized before activation, never resized while the process thread runs.
constexpr std::size_t kMaxPorts = 16;

struct Engine {
  std::vector<float> play;
  std::size_t play_pos = 0;
  std::vector<std::vector<float>> record;  // one per input port
  std::atomic<std::size_t> recorded{0};    // samples recorded on every input port
  std::atomic<bool> started{false};
  std::int64_t first_cycle_us = 0;  // CLOCK_MONOTONIC when the first cycle ran
  // The latest cycle: its monotonic time and how many samples came before it. Written by the
  // process thread, read once after deactivation (which joins it).
  std::int64_t last_cycle_us = 0;
  std::uint64_t last_cycle_samples = 0;
  std::uint64_t cycled = 0;
  // Cycles this client was not run for (the server's frame time moved on by more than a period
  // between two of its cycles): holes in the recording, from an overloaded machine. Counted here
  // rather than with an xrun callback: with one registered, jack_client_close was seen to hang.
  std::uint64_t skipped_cycles = 0;
  jack_nframes_t last_frame_time = 0;
  std::vector<jack_port_t*> outs;
  std::vector<jack_port_t*> ins;
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
  const jack_nframes_t frame_time = jack_last_frame_time(e->client);  // shared memory read
  if (e->cycled > 0 && n > 0 && frame_time - e->last_frame_time > n)
    e->skipped_cycles += (frame_time - e->last_frame_time) / n - 1;
  e->last_frame_time = frame_time;
  e->cycled += n;
  const std::size_t from = e->play_pos;
  for (auto* port : e->outs) {
    auto* buf = static_cast<float*>(jack_port_get_buffer(port, n));
    for (jack_nframes_t i = 0; i < n; ++i) buf[i] = from + i < e->play.size() ? e->play[from + i] : 0.0f;
  }
  e->play_pos = from + n;
  if (!e->ins.empty()) {
    const std::size_t at = e->recorded.load(std::memory_order_relaxed);
    const std::size_t take = std::min<std::size_t>(n, e->record[0].size() - at);
    for (std::size_t k = 0; k < e->ins.size(); ++k) {
      const auto* buf = static_cast<const float*>(jack_port_get_buffer(e->ins[k], n));
      std::copy(buf, buf + take, e->record[k].begin() + static_cast<std::ptrdiff_t>(at));
    }
    e->recorded.store(at + take, std::memory_order_release);
  }
  return 0;
}

// The latency the server declares for its first physical port of one kind: capture (a system
// capture port, microphone to port) or playback (port to loudspeaker), in samples; 0 if none.
// Programs report latency at the sound card, which these include and a recording of their ports
// does not.
std::uint32_t physical_latency(jack_client_t* c, bool capture) {
  const char** ports = jack_get_ports(c, nullptr, JACK_DEFAULT_AUDIO_TYPE,
                                      JackPortIsPhysical | (capture ? JackPortIsOutput : JackPortIsInput));
  if (!ports) return 0;
  jack_latency_range_t range{};
  if (jack_port_t* port = jack_port_by_name(c, ports[0]))
    jack_port_get_latency_range(port, capture ? JackCaptureLatency : JackPlaybackLatency, &range);
  jack_free(ports);
  return range.max;
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
  std::string play_path, info_path, ready_path;
  std::vector<std::string> to, record_paths, from;
  double seconds = 10;
  double wait_ports = 10;
  app.add_option("--play", play_path, "48 kHz WAV to play");
  app.add_option("--to", to, "Input port to play into (regex), e.g. 'ptt-client:in_0'; repeat for more");
  app.add_option("--record", record_paths, "WAV file to record to; repeat, one per --from");
  app.add_option("--from", from, "Output port to record (regex), e.g. 'camera-sim:out_0'; repeat for more");
  app.add_option("--seconds", seconds, "How long to run")->check(CLI::Range(0.1, 3600.0))->capture_default_str();
  app.add_option("--wait-ports", wait_ports, "How long to wait for the ports to appear (s)")->capture_default_str();
  app.add_option("--info", info_path, "Write {play_t0_us, record_t0_us} (CLOCK_MONOTONIC) here");
  app.add_option("--ready-file", ready_path, "Create this file once connected");
  if (const auto code = cli::parse(app, argc, argv, "pttcam-jack-io")) return *code;
  if (play_path.empty() != to.empty()) throw std::invalid_argument("--play and --to go together");
  if (record_paths.size() != from.size()) throw std::invalid_argument("give one --record for each --from");
  if (to.size() > kMaxPorts || from.size() > kMaxPorts) throw std::invalid_argument("at most 16 --to and 16 --from");

  Engine e;
  if (!play_path.empty()) e.play = audio::read_mono_48k(play_path);
  e.record.assign(from.size(), std::vector<float>(static_cast<std::size_t>(seconds * 48000)));

  jack_status_t status{};
  std::unique_ptr<jack_client_t, ClientCloser> client(jack_client_open("pttcam-jack-io", JackNoStartServer, &status));
  if (!client) throw std::runtime_error("cannot connect to a JACK server (is jackd running? JACK_DEFAULT_SERVER?)");
  if (jack_get_sample_rate(client.get()) != 48000) throw std::runtime_error("the JACK server must run at 48000 Hz");
  e.client = client.get();
  // Ports "out", "out_1", ... and "in", "in_1", ...: one of each keeps the names it always had.
  const auto register_port = [&](const std::string& prefix, std::size_t k, unsigned long flags) {
    const std::string name = k == 0 ? prefix : prefix + "_" + std::to_string(k);
    auto* port = jack_port_register(client.get(), name.c_str(), JACK_DEFAULT_AUDIO_TYPE, flags, 0);
    if (!port) throw std::runtime_error("cannot register JACK port " + name);
    return port;
  };
  for (std::size_t k = 0; k < to.size(); ++k) e.outs.push_back(register_port("out", k, JackPortIsOutput));
  for (std::size_t k = 0; k < from.size(); ++k) e.ins.push_back(register_port("in", k, JackPortIsInput));
  // Find every port before activating, so the first processed cycle is the first sample everywhere.
  const auto wait = std::chrono::milliseconds(static_cast<long>(wait_ports * 1000));
  std::vector<std::string> targets, sources;
  for (const auto& pattern : to) targets.push_back(wait_for_port(client.get(), pattern, JackPortIsInput, wait));
  for (const auto& pattern : from) sources.push_back(wait_for_port(client.get(), pattern, JackPortIsOutput, wait));
  jack_set_process_callback(client.get(), process, &e);
  if (jack_activate(client.get()) != 0) throw std::runtime_error("cannot activate the JACK client");
  // A port played into may already have gone again (a cold microphone closes at once): the loop
  // below connects it when it is back.
  for (std::size_t k = 0; k < targets.size(); ++k)
    if (jack_connect(client.get(), jack_port_name(e.outs[k]), targets[k].c_str()) != 0)
      std::fprintf(stderr, "pttcam-jack-io: %s went away before it was connected; waiting for it\n", targets[k].c_str());
  for (std::size_t k = 0; k < sources.size(); ++k)
    if (jack_connect(client.get(), sources[k].c_str(), jack_port_name(e.ins[k])) != 0)
      throw std::runtime_error("cannot connect to " + sources[k]);
  if (!ready_path.empty()) std::ofstream(ready_path) << "ready\n";

  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  std::uint64_t reconnects = 0;
  while (!g_stop && std::chrono::steady_clock::now() < end &&
         (e.ins.empty() || e.recorded.load(std::memory_order_acquire) < e.record[0].size())) {
    for (std::size_t k = 0; k < to.size(); ++k) {
      if (jack_port_connected(e.outs[k]) > 0) continue;
      if (const char** ports = jack_get_ports(client.get(), to[k].c_str(), JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput)) {
        if (jack_connect(client.get(), jack_port_name(e.outs[k]), ports[0]) == 0) ++reconnects;
        jack_free(ports);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  jack_deactivate(client.get());

  // Sample 0 on both ports passed through the graph in the first cycle, whose wall time (the
  // CLOCK_MONOTONIC of pttcam's event logs) was read in the callback. jack_frames_to_time() is
  // not used: with the dummy driver its estimate was seen to be tens of milliseconds off.
  // The dummy driver is paced by sleeps, not a sound card: measure its rate on the monotonic clock
  // so times from the event logs land on the right samples.
  const double span_s = static_cast<double>(e.last_cycle_us - e.first_cycle_us) / 1e6;
  const double rate = span_s > 0.5 ? static_cast<double>(e.last_cycle_samples) / span_s : 48000.0;
  for (std::size_t k = 0; k < record_paths.size(); ++k)
    audio::write_wav(record_paths[k], std::span<const float>(e.record[k].data(), e.recorded.load()));
  if (!info_path.empty())
    std::ofstream(info_path) << nlohmann::json{{"play_t0_us", e.first_cycle_us},
                                               {"record_t0_us", e.first_cycle_us},
                                               {"recorded_samples", e.recorded.load()},
                                               {"samples_per_second", rate},
                                               {"reconnects", reconnects},
                                               {"xruns", e.skipped_cycles},
                                               {"system_capture_latency_samples", physical_latency(client.get(), true)},
                                               {"system_playback_latency_samples", physical_latency(client.get(), false)}}
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
