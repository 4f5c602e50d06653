// pttcam-jack-io: a JACK client that plays a WAV file into one or more ports and records one or
// more ports, sample-locked to the JACK server's clock. It waits for the named ports to appear (the
// programs under test register them when they open their streams), connects, runs for --seconds or
// until SIGTERM, then writes the recordings and the monotonic time of their first sample. Several
// --to ports all get the same samples; each --from port is recorded to the --record path at the same
// position in the list, all from the same first cycle. A port that goes away and comes back (a
// program that closes its capture stream between key presses, ptt-client --cold-mic) is connected
// again within about a millisecond of its return; the samples in between go nowhere.
//
// --key-script START+DURATION,... --keys-to PATH: pttcam-jack-io also holds the talk key, so a
// press happens at a known sample of the recording. PATH is a FIFO (or pipe) whose other end is
// `ptt-client --keys stdin`; it is opened before the ports are waited for (the client is started
// with the FIFO as its standard input, and its shell's open blocks until this one). A thread of its
// own (not the JACK process thread, which must not make system calls) sleeps until the audio clock
// (the samples the process thread has started, plus the time into the current cycle, at most a
// period) reaches each press and release (START and START+DURATION seconds of 48000 samples from
// the first sample played and recorded), writes "down\n" or "up\n", and reads the clock again:
// that sample is where the key went down, on the recording's own timeline. --info lists each
// write (target, reached, late by) and the wake-up jitter; pttcam-bench analyze takes talk-start
// and the expected markers from them. After the last release the FIFO is closed (the client then
// quits) and the run goes on to --seconds. With a key script, a --to port that has not appeared
// within 2 s is not waited for (a cold microphone registers its port at the first press, which this
// program makes): it is connected when it comes. --info also has, per cycle, how far the sample count
// lagged the monotonic clock (clock_lag_us), to tell a paused dummy driver from a slow program.
#include <CLI/CLI.hpp>

#include "pttcam/cli/parse.hpp"
#include <fcntl.h>
#include <jack/jack.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/audio/sndfile.hpp"
#include "pttcam/measure/event_log.hpp"
#include "pttcam/ptt/talk_script.hpp"

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
  jack_nframes_t first_frame = 0;   // the server's frame time of sample 0 (read after `started`)
  jack_nframes_t period = 128;      // samples a cycle (set before activation)
  // The audio clock for the key thread, in one word so it never reads half of an update: the
  // samples before the cycle in progress (high 32 bits: 24 h at 48 kHz) and the CLOCK_MONOTONIC
  // microseconds from the first cycle to its start (low 32 bits: 71 min; --seconds is at most 1 h).
  std::atomic<std::uint64_t> cycle_clock{0};
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
  // Per cycle, how far the sample count lags the monotonic clock at its start (µs: time since the
  // first cycle minus samples before it at 48 kHz). The dummy driver paces itself with sleeps and,
  // on a busy machine, pauses: samples stop counting while the monotonic clock goes on, so a
  // latency counted in samples (the truth here) and one counted in microseconds (the programs'
  // own figures) differ by the lag's growth in between. Sized before activation; the process
  // thread fills it, it is read after deactivation.
  std::vector<std::int32_t> lag_us;
  std::size_t lag_cycles = 0;
  std::vector<jack_port_t*> outs;
  std::vector<jack_port_t*> ins;
  jack_client_t* client = nullptr;
};

int process(jack_nframes_t n, void* arg) noexcept {  // RT-safe: wait-free, no alloc
  auto* e = static_cast<Engine*>(arg);
  if (!e->started.load(std::memory_order_relaxed)) {
    e->first_cycle_us = timing::monotonic_us();  // vDSO clock read: no syscall
    e->first_frame = jack_last_frame_time(e->client);
    e->started.store(true, std::memory_order_release);
  }
  const std::int64_t now_us = timing::monotonic_us();
  if (e->lag_cycles < e->lag_us.size())
    e->lag_us[e->lag_cycles++] =
        static_cast<std::int32_t>(now_us - e->first_cycle_us - static_cast<std::int64_t>(e->cycled * 1'000'000 / 48000));
  e->last_cycle_us = now_us;
  e->cycle_clock.store((e->cycled << 32) | static_cast<std::uint32_t>(e->last_cycle_us - e->first_cycle_us),
                       std::memory_order_release);
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
std::optional<std::string> find_port(jack_client_t* c, const std::string& pattern, unsigned long flags,
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
  return std::nullopt;
}

std::string wait_for_port(jack_client_t* c, const std::string& pattern, unsigned long flags,
                          std::chrono::milliseconds timeout) {
  if (auto name = find_port(c, pattern, flags, timeout)) return *name;
  throw std::runtime_error("no JACK port matches '" + pattern + "' (is the program running on this JACK server?)");
}

struct FdCloser {
  void operator()(int* fd) const noexcept {
    if (*fd >= 0) close(*fd);
    delete fd;
  }
};
using Fd = std::unique_ptr<int, FdCloser>;

// Opens the FIFO the key commands go to; its reader (the client's standard input) may not have
// opened it yet: retried until `timeout`. Non-blocking, so a client that stopped reading cannot
// stall the key thread (a write that would block counts as failed).
Fd open_key_pipe(const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const int fd = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) return Fd(new int(fd));
    if (errno != ENXIO || std::chrono::steady_clock::now() > deadline || g_stop)
      throw std::runtime_error("cannot open --keys-to " + path + ": " +
                               (errno == ENXIO ? std::string("nobody reads it") : std::strerror(errno)));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

struct KeyWrite {
  bool down = false;
  std::int64_t target = 0;        // sample the script asked for
  std::int64_t reached = -1;      // the audio clock right after the write (cycles, see below)
  std::int64_t frame_time = -1;   // jack_frame_time() - first frame then (the server's estimate)
  std::int64_t t_us = 0;          // CLOCK_MONOTONIC of the write
  bool written = false;
};

// The key thread: for each press and release, sleeps until the audio clock reaches it, writes the
// command and notes where it landed. The audio clock is the process thread's: the samples before
// the cycle in progress plus the time since that cycle started, at most one period (a late cycle
// holds the clock, as it holds the audio). jack_frame_time() is not it: it extrapolates from the
// last cycle by the wall clock, and with the dummy driver on a busy machine it was seen 28 ms ahead
// of the cycles actually processed (it is recorded next to it, as frame_time). Sleeps shorten near
// the target; how late the wake-up was is what --info reports as late_samples.
void press_keys(Engine& e, int fd, std::vector<KeyWrite>& keys, const std::atomic<bool>& done) {
  const auto stopped = [&] { return g_stop.load() || done.load(); };
  while (!e.started.load(std::memory_order_acquire)) {
    if (stopped()) return;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const auto clock = [&] {
    const std::uint64_t c = e.cycle_clock.load(std::memory_order_acquire);
    const auto since_us = timing::monotonic_us() - e.first_cycle_us - static_cast<std::int64_t>(c & 0xffffffffu);
    const std::int64_t into = std::clamp<std::int64_t>(since_us * 48000 / 1'000'000, 0, e.period);
    return static_cast<std::int64_t>(c >> 32) + into;
  };
  for (auto& k : keys) {
    for (std::int64_t now = clock(); now < k.target && !stopped(); now = clock()) {
      const std::int64_t us = (k.target - now) * 1'000'000 / 48000;
      std::this_thread::sleep_for(std::chrono::microseconds(std::clamp<std::int64_t>(us - 300, 50, 2000)));
    }
    if (stopped()) return;
    const char* line = k.down ? "down\n" : "up\n";
    const auto len = static_cast<ssize_t>(std::strlen(line));
    k.written = write(fd, line, static_cast<std::size_t>(len)) == len;
    k.reached = clock();
    k.t_us = timing::monotonic_us();
    k.frame_time = static_cast<std::int32_t>(jack_frame_time(e.client) - e.first_frame);
    if (!k.written) std::fprintf(stderr, "pttcam-jack-io: --keys-to: write failed: %s\n", std::strerror(errno));
  }
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
  app.add_option("--wait-ports", wait_ports, "How long to wait for the ports to appear (s)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("--info", info_path, "Write {play_t0_us, record_t0_us} (CLOCK_MONOTONIC) here");
  app.add_option("--ready-file", ready_path, "Create this file once connected");
  std::string key_script, keys_to;
  app.add_option("--key-script", key_script,
                 "Press the talk key START+DURATION,... (seconds from the first sample), via --keys-to")
      ->check(cli::parsed_by("TEXT", [](const std::string& t) { (void)ptt::parse_talk_script(t); }));
  app.add_option("--keys-to", keys_to, "FIFO to write 'down' / 'up' lines to (ptt-client --keys stdin reads it)");
  if (const auto code = cli::parse(app, argc, argv, "pttcam-jack-io")) return *code;
  if (play_path.empty() != to.empty()) throw cli::UsageError("--play and --to go together");
  if (record_paths.size() != from.size()) throw cli::UsageError("--record: give one for each --from");
  if (to.size() > kMaxPorts || from.size() > kMaxPorts) throw cli::UsageError("--to, --from: at most 16 of each");
  if (key_script.empty() != keys_to.empty()) throw cli::UsageError("--key-script and --keys-to go together");
  std::vector<KeyWrite> keys;
  for (const auto& w : key_script.empty() ? std::vector<ptt::TalkWindow>{} : ptt::parse_talk_script(key_script)) {
    keys.push_back({true, std::llround(w.start * 48000)});
    keys.push_back({false, std::llround(w.end() * 48000)});
  }

  // Runtime checks before anything starts: results that cannot be written would waste the run.
  for (const auto& path : record_paths) cli::require_writable("--record", path);
  cli::require_writable("--info", info_path);
  cli::require_writable("--ready-file", ready_path);

  Engine e;
  if (!play_path.empty()) e.play = cli::runtime_checked("--play", [&] { return audio::read_mono_48k(play_path); });
  e.record.assign(from.size(), std::vector<float>(static_cast<std::size_t>(seconds * 48000)));

  jack_status_t status{};
  std::unique_ptr<jack_client_t, ClientCloser> client(jack_client_open("pttcam-jack-io", JackNoStartServer, &status));
  if (!client) throw std::runtime_error("cannot connect to a JACK server (is jackd running? JACK_DEFAULT_SERVER?)");
  if (jack_get_sample_rate(client.get()) != 48000) throw std::runtime_error("the JACK server must run at 48000 Hz");
  e.client = client.get();
  const auto wait = std::chrono::milliseconds(static_cast<long>(wait_ports * 1000));
  // Before waiting for ports: the client opens its ports only after its shell has opened the FIFO.
  Fd key_pipe = keys_to.empty() ? Fd(new int(-1)) : open_key_pipe(keys_to, wait);
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
  std::vector<std::string> targets, sources;
  // With a key script, a port played into that does not come within kKeyedPortWait is not an
  // error: a program that opens its microphone only while the key is down (ptt-client --cold-mic)
  // may register it only at the first press, which only this program makes. The loop below
  // connects it when it comes.
  constexpr std::chrono::milliseconds kKeyedPortWait{2000};
  for (const auto& pattern : to) {
    if (keys.empty())
      targets.push_back(wait_for_port(client.get(), pattern, JackPortIsInput, wait));
    else if (auto name = find_port(client.get(), pattern, JackPortIsInput, std::min(wait, kKeyedPortWait)))
      targets.push_back(*name);
    else
      break;  // the loop connects this one and the rest
  }
  for (const auto& pattern : from) sources.push_back(wait_for_port(client.get(), pattern, JackPortIsOutput, wait));
  e.period = jack_get_buffer_size(client.get());
  e.lag_us.assign(static_cast<std::size_t>(seconds * 48000 / e.period) + 64, 0);
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

  std::thread key_thread;
  std::atomic<bool> keys_done{false};
  if (!keys.empty())
    key_thread = std::thread([&] {
      press_keys(e, *key_pipe, keys, keys_done);
      key_pipe.reset();  // end of input: the client quits
    });
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
  if (key_thread.joinable()) {
    keys_done = true;  // presses past the end of the run are not made (keys_not_written)
    key_thread.join();
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
  nlohmann::json key_info = nlohmann::json::array();
  std::int64_t late_max = 0;
  double late_sum = 0;
  std::size_t written = 0;
  for (const auto& k : keys) {
    if (!k.written) continue;
    ++written;
    late_max = std::max(late_max, k.reached - k.target);
    late_sum += static_cast<double>(k.reached - k.target);
    key_info.push_back({{"key", k.down ? "down" : "up"}, {"target_sample", k.target}, {"sample", k.reached},
                        {"late_samples", k.reached - k.target}, {"frame_time_sample", k.frame_time},
                        {"t_us", k.t_us}});
  }
  nlohmann::json info{{"play_t0_us", e.first_cycle_us},
                      {"record_t0_us", e.first_cycle_us},
                      {"recorded_samples", e.recorded.load()},
                      {"samples_per_second", rate},
                      {"reconnects", reconnects},
                      {"xruns", e.skipped_cycles},
                      {"system_capture_latency_samples", physical_latency(client.get(), true)},
                      {"system_playback_latency_samples", physical_latency(client.get(), false)}};
  info["cycle_samples"] = e.period;
  info["clock_lag_us"] = std::vector<std::int32_t>(e.lag_us.begin(), e.lag_us.begin() + static_cast<std::ptrdiff_t>(e.lag_cycles));
  if (!keys.empty()) {
    info["keys"] = key_info;
    info["keys_not_written"] = keys.size() - written;
    info["key_late_samples"] = {{"max", late_max}, {"mean", written ? late_sum / static_cast<double>(written) : 0.0}};
  }
  if (!info_path.empty()) cli::write_file("--info", info_path, info.dump() + '\n');
  std::printf("pttcam-jack-io: played %zu, recorded %zu samples\n", std::min(e.play_pos, e.play.size()),
              e.recorded.load());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGPIPE, SIG_IGN);  // a client gone from --keys-to: the write fails and says so
  return pttcam::cli::run_main("pttcam-jack-io", [&] { return run(argc, argv); });
}
