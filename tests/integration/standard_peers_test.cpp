// pttcam against RTP peers nobody here wrote, with the SDPs those peers produce or pttcam writes:
// ffmpeg's `-f rtp` and GStreamer's rtpopuspay at their default payload types send speech to
// camera-sim, which must play it sample for sample (no inserted gaps, no loss, no cutoff); and
// ffmpeg decodes ptt-client's stream from the SDP ptt-client wrote, and nothing else.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <numeric>
#include <sstream>

#include "process.hpp"
#include "pttcam/audio/sndfile.hpp"
#include "pttcam/dsp/align.hpp"
#include "pttcam/net/asio.hpp"
#include "pttcam/rtp/packet.hpp"
#include "pttcam/rtp/rtcp.hpp"
#include "pttcam/sdp/description.hpp"
#include "talk_check.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;

namespace {

constexpr long kWindow = 9600;  // 200 ms

double rms(std::span<const float> x) {
  double e = 0;
  for (float v : x) e += static_cast<double>(v) * v;
  return x.empty() ? 0 : std::sqrt(e / static_cast<double>(x.size()));
}

struct WindowMatch {
  int windows = 0;      // speech windows of the input compared
  int matched = 0;      // ... found in the output at >= 0.85, at the first window's lag +-1 ms
  double worst = 1;     // lowest correlation
  long lag_spread = 0;  // largest |lag - first lag| (samples): inserted or dropped audio moves it
};

// Every 200 ms window of the input with speech in it (RMS at least a quarter of the median
// window's) is looked for in the output near where the whole recording lines up. A receiver that
// inserts silence or drops audio moves the lag from one window to the next.
// `slack`: samples the lag may move anyway (silence the speaker device itself inserted when the io
// thread was late on a loaded machine: its underruns, counted apart).
WindowMatch match_windows(const std::vector<float>& input, const std::vector<float>& output, long slack) {
  WindowMatch m;
  const long n = static_cast<long>(input.size()) / kWindow;
  std::vector<double> levels;
  for (long w = 0; w < n; ++w) levels.push_back(rms(std::span(input).subspan(w * kWindow, kWindow)));
  auto sorted = levels;
  std::nth_element(sorted.begin(), sorted.begin() + n / 2, sorted.end());
  const double floor = sorted[n / 2] / 4;
  // Where the input starts in the output: its loudest second, looked for everywhere.
  long best = 0;
  for (long w = 0; w + 5 <= n; ++w)
    if (rms(std::span(input).subspan(w * kWindow, 5 * kWindow)) > rms(std::span(input).subspan(best * kWindow, 5 * kWindow)))
      best = w;
  const auto whole = pttcam::dsp::align(std::span(input).subspan(best * kWindow, 5 * kWindow), output, 0,
                                        static_cast<long>(output.size()));
  const long offset = whole.lag - best * kWindow;  // input[i] plays at output[i + offset]
  MESSAGE("input lines up with the output at " << offset << " samples, correlation " << whole.correlation);
  for (long w = 0; w < n; ++w) {
    if (levels[w] < floor) continue;
    const long at = w * kWindow + offset;
    if (at < 0 || at + kWindow > static_cast<long>(output.size())) continue;
    ++m.windows;
    const auto a = pttcam::dsp::align(std::span(input).subspan(w * kWindow, kWindow), output, at - 4800, at + 4800);
    m.worst = std::min(m.worst, a.correlation);
    m.lag_spread = std::max(m.lag_spread, std::abs(a.lag - at));
    if (a.correlation >= 0.85 && std::abs(a.lag - at) <= 48 + slack) ++m.matched;
  }
  return m;
}

// A UDP port held open while a tool sends to it (so that nothing answers with ICMP errors).
struct Sink {
  boost::asio::io_context io;
  boost::asio::ip::udp::socket socket{io, boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)};
  std::string port() const { return std::to_string(socket.local_endpoint().port()); }
};

unsigned short free_udp_port() {
  Sink s;
  return s.socket.local_endpoint().port();
}

// A capture of what reaches `port` on loopback, while it lives (dumpcap, started and stopped by PID).
struct Capture {
  fs::path pcap;
  Process dumpcap;
  // Captures UDP to `port` (or, with `both_ways`, from and to it, plus SIP on 5060: see announce_sdp).
  Capture(const fs::path& dir, const std::string& port, bool both_ways = false)
      : pcap(dir / "capture.pcapng"),
        dumpcap({"/usr/bin/dumpcap", "-i", "lo", "-f",
                 both_ways ? "udp port " + port + " or udp port 5060" : "udp dst port " + port, "-w",
                 (dir / "capture.pcapng").string()},
                dir / "dumpcap.log") {
    // "Capturing on" comes before dumpcap opens the interface; "File:" after the interface is open,
    // its filter set and the file's header written: only then is every packet captured.
    REQUIRE_MESSAGE(wait_for_lines(dir / "dumpcap.log", "File:", 1, dumpcap, 20s), dumpcap.output());
  }
  // dumpcap writes what the kernel hands it in batches (libpcap's buffer timeout): stopped at once,
  // it can miss the newest packets. It has them all once the file stopped growing for a while.
  void stop() {
    std::uintmax_t size = 0;
    for (int still = 0; still < 30; std::this_thread::sleep_for(50ms)) {
      std::error_code ec;
      const auto now = fs::file_size(pcap, ec);
      still = now == size ? still + 1 : 0;
      size = now;
    }
    dumpcap.signal(SIGINT);
    REQUIRE(dumpcap.wait(10s) == 0);
  }
};

// Wireshark learns a dynamic payload type's clock rate (and so computes jitter) only from the
// signalling in a capture, as a softphone's capture has it: the receiver's SDP in a SIP INVITE,
// sent to the SIP port on loopback (nobody listens) before the stream starts.
void announce_sdp(const fs::path& sdp_file) {
  std::string sdp;
  std::istringstream lines(read_text(sdp_file));
  for (std::string l; std::getline(lines, l);) sdp += (l.empty() || l.back() != '\r' ? l : l.substr(0, l.size() - 1)) + "\r\n";
  const std::string invite = "INVITE sip:camera@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bKpttcam\r\n"
                             "From: <sip:client@127.0.0.1>;tag=1\r\nTo: <sip:camera@127.0.0.1>\r\nCall-ID: 1@127.0.0.1\r\n"
                             "CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: " +
                             std::to_string(sdp.size()) + "\r\n\r\n" + sdp;
  boost::asio::io_context io;
  boost::asio::ip::udp::socket socket(io, boost::asio::ip::udp::v4());
  socket.send_to(boost::asio::buffer(invite), {boost::asio::ip::make_address("127.0.0.1"), 5060});
}

struct TsharkStream {
  long packets = -1;
  long lost = -1;
  double mean_jitter_ms = -1;
  double max_jitter_ms = -1;
};

// tshark's RTP stream statistics for the one stream in `pcap` (RTP decoded on `port`): the line
// "... 0x<SSRC> <payload> <packets> <lost> (<pct>%) <delta min mean max> <jitter min mean max>".
TsharkStream tshark_stream(const fs::path& pcap, const std::string& port) {
  Process tshark({"/usr/bin/tshark", "-n", "-r", pcap.string(), "-d", "udp.port==" + port + ",rtp", "-q", "-z",
                  "rtp,streams"},
                 pcap.parent_path() / "tshark.log");
  REQUIRE(tshark.wait(60s) == 0);
  std::string line;
  std::istringstream in(tshark.output());
  for (std::string l; std::getline(in, l);)
    if (l.find(" 0x") != std::string::npos) line = l;
  INFO("tshark: " << tshark.output());
  REQUIRE(!line.empty());
  std::istringstream fields(line.substr(line.find(" 0x")));
  std::string ssrc, type, percent;
  double min_delta = 0, mean_delta = 0, max_delta = 0, min_jitter = 0;
  TsharkStream t;
  fields >> ssrc >> type >> t.packets >> t.lost >> percent >> min_delta >> mean_delta >> max_delta >> min_jitter >>
      t.mean_jitter_ms >> t.max_jitter_ms;
  return t;
}

// The interarrival jitter field (timestamp units) of every RTCP report block in `pcap`.
std::vector<long> tshark_report_jitters(const fs::path& pcap) {
  Process tshark({"/usr/bin/tshark", "-n", "-r", pcap.string(), "-Y", "rtcp.ssrc.jitter", "-T", "fields", "-e",
                  "rtcp.ssrc.jitter"},
                 pcap.parent_path() / "tshark-rtcp.log");
  REQUIRE(tshark.wait(60s) == 0);
  std::vector<long> jitters;
  std::istringstream in(tshark.output());
  for (std::string l; std::getline(in, l);)
    if (!l.empty() && std::isdigit(static_cast<unsigned char>(l[0]))) jitters.push_back(std::stol(l));
  return jitters;
}

// camera-sim with --no-session and the sender's SDP; returns its port.
struct Camera {
  fs::path dir;
  Process process;
  std::string port;
  Camera(const fs::path& d, const fs::path& sdp, std::vector<std::string> extra = {})
      : dir(d),
        process(
            [&] {
              std::vector<std::string> argv{PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file",
                                            (d / "port").string(), "--sdp", sdp.string(), "--no-session", "--output",
                                            "wav:" + (d / "speaker.wav").string(), "--events",
                                            (d / "camera.jsonl").string(), "--summary", (d / "camera.json").string(),
                                            "--sdp-out", (d / "camera.sdp").string()};
              argv.insert(argv.end(), extra.begin(), extra.end());
              return argv;
            }(),
            d / "camera.log") {
    REQUIRE_MESSAGE(wait_for_file(d / "port", process, 10s), process.output());
    port = std::to_string(std::stoi(read_text(d / "port")));
  }
  // After the sender finished: the burst has played out once the camera says the sender stopped.
  nlohmann::json finish() {
    CHECK_MESSAGE(wait_for_lines(dir / "camera.jsonl", "\"sender_stopped\"", 1, process, 10s), process.output());
    process.signal(SIGTERM);
    REQUIRE(process.wait(10s) == 0);
    return nlohmann::json::parse(read_text(dir / "camera.json"));
  }
};

void check_clean_stream(const nlohmann::json& s, const fs::path& dir) {
  nlohmann::json brief = s;
  brief.erase("per_burst");
  brief.erase("session");
  brief.erase("microphone");
  INFO(brief.dump());
  CHECK(s["wrong_payload_type"] == 0);
  CHECK(s["malformed"] == 0);
  CHECK(s["rtp_lost"] == 0);
  CHECK(s["lost"] == 0);
  CHECK(s["late"] == 0);
  CHECK(s["frames_concealed"] == 0);
  CHECK(s["cutoff_count"] == 0);
  CHECK(s["bursts"] == 1);
  CHECK(s["bursts_unterminated"] == 0);
  CHECK(s["bursts_sender_stopped"] == 1);
  const auto input = pttcam::audio::read_mono_48k(PTTCAM_SPEECH_WAV);
  const auto output = pttcam::audio::read_mono_48k(dir / "speaker.wav");
  const long underrun = s["speaker_underrun_samples"].get<long>();
  const auto m = match_windows(input, output, underrun);
  MESSAGE("speech windows matched: " << m.matched << " of " << m.windows << ", worst correlation " << m.worst
                                     << ", lag spread " << m.lag_spread << " samples (speaker underruns: " << underrun
                                     << " samples)");
  CHECK(m.windows >= 30);
  // On a loaded machine the speaker device (a clocked WAV writer) may itself play a period of
  // silence when the io thread is late; a window it fell into is spoilt, one per period at most.
  // The stream's own handling spoils none (before issue 12, ffmpeg's stream matched 0 of 35).
  const long spoilt = (underrun + 127) / 128;
  CHECK(m.matched >= m.windows - spoilt);
  CHECK(m.lag_spread <= 48 + underrun);
}

}  // namespace

TEST_CASE("camera-sim plays ffmpeg's RTP/Opus stream, configured by ffmpeg's own SDP") {
  const auto dir = scratch_dir("std_ffmpeg_to_camera");
  // ffmpeg writes the SDP of what it sends as it starts: a short run towards a port held open.
  {
    Sink sink;
    Process probe({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-i", PTTCAM_SPEECH_WAV, "-t", "0.1",
                   "-c:a", "libopus", "-f", "rtp", "-sdp_file", (dir / "ffmpeg.sdp").string(),
                   "rtp://127.0.0.1:" + sink.port()},
                  dir / "probe.log");
    REQUIRE_MESSAGE(probe.wait(30s) == 0, probe.output());
  }
  const auto described = pttcam::sdp::parse_sdp(read_text(dir / "ffmpeg.sdp"));
  REQUIRE(described);
  CHECK(described.description->opus.payload_type == 97);  // ffmpeg's default: not pttcam's 111
  // ffmpeg -re paces by reading its input in chunks: its packets leave +-20 ms around their time
  // (RFC 3550 jitter ~20 ms on loopback). A fixed delay above that keeps the adaptive buffer from
  // growing mid-stream, which it does by inserting a concealed frame (frames_stretched): the
  // check here is that nothing else inserts or drops audio.
  Camera camera(dir, dir / "ffmpeg.sdp", {"--playout-delay-ms", "80"});
  Process ffmpeg({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", PTTCAM_SPEECH_WAV, "-c:a",
                  "libopus", "-f", "rtp", "rtp://127.0.0.1:" + camera.port},
                 dir / "ffmpeg.log");
  REQUIRE_MESSAGE(ffmpeg.wait(60s) == 0, ffmpeg.output());
  const auto s = camera.finish();
  CHECK(s["payload_type"] == 97);
  check_clean_stream(s, dir);
}

TEST_CASE("camera-sim plays GStreamer's rtpopuspay stream, configured by the SDP GStreamer derives") {
  const auto dir = scratch_dir("std_gst_to_camera");
  {
    Process sdp({"/usr/bin/python3", PTTCAM_SOURCE_DIR "/tests/data/sdp/make_gst_sdp.py", (dir / "gst.sdp").string()},
                dir / "sdp.log");
    REQUIRE_MESSAGE(sdp.wait(30s) == 0, sdp.output());
  }
  const auto described = pttcam::sdp::parse_sdp(read_text(dir / "gst.sdp"));
  REQUIRE(described);
  CHECK(described.description->opus.payload_type == 96);  // rtpopuspay's default
  Camera camera(dir, dir / "gst.sdp");
  Process gst({"/usr/bin/gst-launch-1.0", "-q", "filesrc", "location=" PTTCAM_SPEECH_WAV, "!", "wavparse", "!",
               "audioconvert", "!", "audioresample", "!", "opusenc", "!", "rtpopuspay", "!", "udpsink",
               "host=127.0.0.1", "port=" + camera.port, "sync=true"},
              dir / "gst.log");
  REQUIRE_MESSAGE(gst.wait(60s) == 0, gst.output());
  const auto s = camera.finish();
  CHECK(s["payload_type"] == 96);
  check_clean_stream(s, dir);
}

// ptt-client --no-session talks for 4 s to a port nobody else uses and writes its SDP; `receiver`
// (given the SDP and a raw F32 output path) decodes the stream from that file alone.
void decode_client_stream(const std::string& name,
                          const std::function<std::vector<std::string>(const fs::path&, const fs::path&)>& receiver) {
  const auto dir = scratch_dir(name);
  const auto port = std::to_string(free_udp_port());
  // The first press comes 2 s after start: the receiver reads the SDP and binds the port meanwhile.
  Process client({PTTCAM_CLIENT_BIN, "--insecure", "--camera", "127.0.0.1:" + port, "--no-session", "--input",
                  std::string("wav:") + PTTCAM_SPEECH_WAV, "--talk-script", "2+4", "--speaker", "null", "--sdp-out",
                  (dir / "client.sdp").string(), "--summary", (dir / "client.json").string()},
                 dir / "client.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "client.sdp", client, 10s), client.output());
  Process tool(receiver(dir / "client.sdp", dir / "decoded.f32"), dir / "receiver.log");
  REQUIRE_MESSAGE(client.wait(30s) == 0, client.output());
  // The client's RTCP BYE ends the stream for ffmpeg and sdpdemux, which may then exit on their
  // own; otherwise, once the output stops growing the tool has everything.
  std::uintmax_t size = 0;
  for (int still = 0; still < 20 && tool.running(); std::this_thread::sleep_for(50ms)) {
    std::error_code ec;
    const auto now = fs::file_size(dir / "decoded.f32", ec);
    still = now == size && now > 0 ? still + 1 : 0;
    size = now;
  }
  tool.signal(SIGINT);
  tool.wait(10s);
  const auto decoded = read_f32(dir / "decoded.f32");
  INFO("receiver: " << tool.output());
  REQUIRE(decoded.size() > 3 * 48000);
  const auto input = pttcam::audio::read_mono_48k(PTTCAM_SPEECH_WAV);
  // The 4 s the key was held are 4 s of the input, from where the client's microphone was at the press.
  const std::span<const float> piece(decoded.data() + 48000, 2 * 48000);
  const auto a = pttcam::dsp::align(piece, input, 0, static_cast<long>(input.size()) - 2 * 48000);
  MESSAGE(name << ": decoded speech vs input: correlation " << a.correlation << " at input sample " << a.lag);
  CHECK(a.correlation > 0.85);
}

TEST_CASE("ffmpeg decodes ptt-client's stream from the SDP ptt-client writes, and nothing else") {
  decode_client_stream("std_client_to_ffmpeg", [](const fs::path& sdp, const fs::path& out) {
    return std::vector<std::string>{"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-protocol_whitelist",
                                    "file,udp,rtp", "-i", sdp.string(), "-f", "f32le", "-ac", "1", "-ar", "48000",
                                    out.string()};
  });
}

TEST_CASE("GStreamer's sdpdemux decodes ptt-client's stream from the SDP ptt-client writes, and nothing else") {
  decode_client_stream("std_client_to_gst", [](const fs::path& sdp, const fs::path& out) {
    return std::vector<std::string>{"/usr/bin/gst-launch-1.0", "-q", "filesrc", "location=" + sdp.string(), "!",
                                    "sdpdemux", "!", "rtpopusdepay", "!", "opusdec", "!", "audioconvert", "!",
                                    "audioresample", "!", "audio/x-raw,format=F32LE,rate=48000,channels=1", "!",
                                    "filesink", "location=" + out.string()};
  });
}

TEST_CASE("tshark sees a clean ptt-client stream as Lost 0, every packet once, and the camera's jitter") {
  const auto dir = scratch_dir("std_tshark_client");
  Process camera({PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(), "--no-session",
                  "--output", "null", "--summary", (dir / "camera.json").string(), "--sdp-out",
                  (dir / "camera.sdp").string()},
                 dir / "camera.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "port", camera, 10s), camera.output());
  const auto port = std::to_string(std::stoi(read_text(dir / "port")));
  Capture capture(dir, port, true);
  announce_sdp(dir / "camera.sdp");
  // Three bursts: each ends with its end packet and two repeats (numbers of their own).
  Process client({PTTCAM_CLIENT_BIN, "--insecure", "--camera", "127.0.0.1:" + port, "--no-session", "--input", "tone:440",
                  "--talk-script", "0.2+1,1.5+1,2.8+1", "--speaker", "null", "--summary", (dir / "client.json").string()},
                 dir / "client.log");
  REQUIRE_MESSAGE(client.wait(30s) == 0, client.output());
  camera.signal(SIGTERM);  // its last receiver report goes out as it stops
  REQUIRE(camera.wait(10s) == 0);
  capture.stop();
  const auto t = tshark_stream(capture.pcap, port);
  const auto sent = nlohmann::json::parse(read_text(dir / "client.json"));
  const auto heard = nlohmann::json::parse(read_text(dir / "camera.json"));
  const auto packets = sent["frames_sent"].get<long>() + sent["end_repeats"].get<long>();
  CHECK(sent["end_repeats"] == 6);
  MESSAGE("tshark: " << t.packets << " packets, lost " << t.lost << ", jitter mean " << t.mean_jitter_ms << " max "
                     << t.max_jitter_ms << " ms; camera: jitter " << heard["interarrival_jitter_ms"] << " mean "
                     << heard["interarrival_jitter_mean_ms"] << " max " << heard["interarrival_jitter_max_ms"]
                     << " ms; client sent " << packets);
  CHECK(t.packets == packets);
  CHECK(t.lost == 0);
  CHECK(heard["rtp_lost"] == 0);
  CHECK(heard["end_repeats"] == 6);
  CHECK(heard["end_repeats_used"] == 0);
  CHECK(heard["bursts"] == 3);
  CHECK(heard["cutoff_count"] == 0);
  // The jitter: the camera's last receiver report, as tshark decodes it from the capture, is the
  // summary's figure; tshark's own mean and maximum over the stream agree with the camera's within
  // 5 % (or one timestamp unit, the reports' resolution, for a very regular stream).
  const auto reports = tshark_report_jitters(capture.pcap);
  REQUIRE(!reports.empty());
  CHECK(reports.back() == std::lround(heard["interarrival_jitter_ms"].get<double>() * 48));
  const auto agrees = [](double tshark_ms, double camera_ms) {
    return std::abs(tshark_ms - camera_ms) <= std::max(0.05 * tshark_ms, 1.0 / 48);
  };
  CHECK(t.max_jitter_ms > 0);
  CHECK(agrees(t.mean_jitter_ms, heard["interarrival_jitter_mean_ms"].get<double>()));
  CHECK(agrees(t.max_jitter_ms, heard["interarrival_jitter_max_ms"].get<double>()));
}

TEST_CASE("a GStreamer sender that wraps its sequence and timestamp, then restarts with the same SSRC") {
  const auto dir = scratch_dir("std_gst_restart");
  Process camera({PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(), "--no-session",
                  "--payload-type", "96", "--output", "null", "--events", (dir / "camera.jsonl").string(), "--summary",
                  (dir / "camera.json").string()},
                 dir / "camera.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "port", camera, 10s), camera.output());
  const auto port = std::to_string(std::stoi(read_text(dir / "port")));
  // 2 s of tone in 100 buffers, from sequence and timestamp bases that wrap 0xFFFF -> 0 after 36
  // packets and 2^32 -> 0 after 1.4 s; then the same SSRC again from new, distant bases (RFC 3550
  // A.1: a jump beyond MAX_DROPOUT, confirmed by the packet after it).
  const auto send = [&](const char* name, const char* seq, const char* ts) {
    Process gst({"/usr/bin/gst-launch-1.0", "-q", "audiotestsrc", "wave=sine", "freq=440", "num-buffers=100",
                 "samplesperbuffer=960", "!", "audio/x-raw,rate=48000,channels=1", "!", "opusenc", "!", "rtpopuspay",
                 "ssrc=305419896", std::string("seqnum-offset=") + seq, std::string("timestamp-offset=") + ts, "!",
                 "udpsink", "host=127.0.0.1", "port=" + port, "sync=true"},
                dir / (std::string(name) + ".log"));
    REQUIRE_MESSAGE(gst.wait(30s) == 0, gst.output());
  };
  send("first", "65500", "4294900000");
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "\"event\":\"burst_summary\"", 1, camera, 10s));
  send("restart", "20000", "1000");
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "\"event\":\"burst_summary\"", 2, camera, 10s));
  camera.signal(SIGTERM);
  REQUIRE(camera.wait(10s) == 0);
  auto s = nlohmann::json::parse(read_text(dir / "camera.json"));
  s.erase("per_burst");
  INFO(s.dump());
  // opusenc flushes one more packet at the end of each run: 101 a run.
  CHECK(s["packets"] == 202);
  CHECK(s["frames_normal"] == 202);
  CHECK(s["sender_restarts"] == 1);
  CHECK(s["sequence_jumps"] == 1);  // the restart's first packet, held until the second confirmed it
  CHECK(s["stream_changes"] == 1);
  CHECK(s["rtp_lost"] == 0);
  CHECK(s["late"] == 0);
  CHECK(s["lost"] == 0);
  CHECK(s["frames_concealed"] == 0);
  CHECK(s["bursts"] == 2);
  CHECK(s["bursts_sender_stopped"] == 2);
  CHECK(s["cutoff_count"] == 0);
}

TEST_CASE("a GStreamer stream through net-impair loss=5: camera-sim counts exactly the proxy's drops as loss") {
  const auto dir = scratch_dir("std_gst_loss");
  Process camera({PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file", (dir / "camera.port").string(),
                  "--no-session", "--payload-type", "96", "--output", "null", "--events", (dir / "camera.jsonl").string(),
                  "--summary", (dir / "camera.json").string()},
                 dir / "camera.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "camera.port", camera, 10s), camera.output());
  Process proxy({PTTCAM_IMPAIR_BIN, "--listen", "127.0.0.1:0", "--port-file", (dir / "proxy.port").string(), "--to",
                 "127.0.0.1:" + std::to_string(std::stoi(read_text(dir / "camera.port"))), "--seed", "7", "--up",
                 "loss=5", "--log", (dir / "proxy.jsonl").string()},
                dir / "proxy.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "proxy.port", proxy, 10s), proxy.output());
  const auto camera_port = std::to_string(std::stoi(read_text(dir / "camera.port")));
  Capture capture(dir, camera_port);  // what the proxy delivered
  Process gst({"/usr/bin/gst-launch-1.0", "-q", "audiotestsrc", "wave=sine", "freq=440", "num-buffers=200",
               "samplesperbuffer=960", "!", "audio/x-raw,rate=48000,channels=1", "!", "opusenc", "!", "rtpopuspay", "!",
               "udpsink", "host=127.0.0.1", "port=" + std::to_string(std::stoi(read_text(dir / "proxy.port"))),
               "sync=true"},
              dir / "gst.log");
  REQUIRE_MESSAGE(gst.wait(30s) == 0, gst.output());
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "\"event\":\"burst_summary\"", 1, camera, 10s));
  proxy.signal(SIGTERM);
  camera.signal(SIGTERM);
  REQUIRE(proxy.wait(10s) == 0);
  REQUIRE(camera.wait(10s) == 0);
  capture.stop();
  const auto t = tshark_stream(capture.pcap, camera_port);
  // Drops followed by a delivered packet: the ones any receiver can know were sent (RFC 3550 A.3).
  long drops = 0;
  long trailing = 0;
  for (const auto& p : read_events(dir / "proxy.jsonl")) {
    if (p["dir"] != "up" || !p.contains("rtp_seq")) continue;
    if (p["fate"] == "deliver") {
      drops += trailing;
      trailing = 0;
    } else {
      ++trailing;
    }
  }
  auto s = nlohmann::json::parse(read_text(dir / "camera.json"));
  s.erase("per_burst");
  INFO(s.dump());
  MESSAGE("proxy dropped " << drops << " (+" << trailing << " at the end); camera: rtp_lost " << s["rtp_lost"]
                           << ", frames lost " << s["lost"] << "; tshark: " << t.packets << " packets, lost "
                           << t.lost);
  CHECK(drops >= 3);
  CHECK(t.lost == drops);
  CHECK(t.packets == s["packets"].get<long>());
  CHECK(s["rtp_lost"] == drops);
  CHECK(s["lost"] == drops);
  CHECK(s["late"] == 0);
  CHECK(s["bursts"] == 1);
  CHECK(s["bursts_sender_stopped"] == 1);
  CHECK(s["bursts_unterminated"] == 0);
}

TEST_CASE("GStreamer with DTX (rtpopuspay dtx=true sends nothing in pauses): pauses are neither loss nor cutoffs") {
  const auto dir = scratch_dir("std_gst_dtx");
  Process camera({PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(), "--no-session",
                  "--payload-type", "96", "--output", "null", "--events", (dir / "camera.jsonl").string(), "--summary",
                  (dir / "camera.json").string()},
                 dir / "camera.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "port", camera, 10s), camera.output());
  const auto port = std::to_string(std::stoi(read_text(dir / "port")));
  Process gst({"/usr/bin/gst-launch-1.0", "-q", "filesrc", "location=" PTTCAM_SPEECH_WAV, "!", "wavparse", "!",
               "audioconvert", "!", "audioresample", "!", "opusenc", "dtx=true", "!", "rtpopuspay", "dtx=true", "!",
               "udpsink", "host=127.0.0.1", "port=" + port, "sync=true"},
              dir / "gst.log");
  REQUIRE_MESSAGE(gst.wait(60s) == 0, gst.output());
  // Every burst that started has ended (the last one 100 ms after the stream stopped).
  const auto count = [&](const std::string& needle) {
    std::ifstream in(dir / "camera.jsonl");
    long n = 0;
    for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline &&
         (count("\"event\":\"burst_play_start\"") == 0 ||
          count("\"event\":\"burst_play_end\"") < count("\"event\":\"burst_play_start\"")))
    std::this_thread::sleep_for(20ms);
  camera.signal(SIGTERM);
  REQUIRE(camera.wait(10s) == 0);
  auto s = nlohmann::json::parse(read_text(dir / "camera.json"));
  s.erase("per_burst");
  INFO(s.dump());
  MESSAGE("DTX stream: " << s["packets"] << " packets in " << s["bursts"] << " bursts");
  CHECK(s["packets"].get<int>() < 492);  // the pauses sent nothing: the speech has 492 frames
  CHECK(s["bursts"].get<int>() >= 2);
  CHECK(s["bursts_sender_stopped"] == s["bursts"]);
  CHECK(s["frames_normal"] == s["packets"]);
  CHECK(s["rtp_lost"] == 0);
  CHECK(s["lost"] == 0);
  CHECK(s["late"] == 0);
  CHECK(s["frames_concealed"] == 0);
  CHECK(s["cutoff_count"] == 0);
}

TEST_CASE("two GStreamer senders at once: camera-sim plays the first, counts the other, reports it once a second") {
  const auto dir = scratch_dir("std_two_senders");
  Process camera({PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(), "--no-session",
                  "--payload-type", "96", "--output", "null", "--events", (dir / "camera.jsonl").string(), "--summary",
                  (dir / "camera.json").string()},
                 dir / "camera.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "port", camera, 10s), camera.output());
  const auto port = std::to_string(std::stoi(read_text(dir / "port")));
  const auto sender = [&](const char* name, const char* ssrc, const char* buffers) {
    return std::make_unique<Process>(
        std::vector<std::string>{"/usr/bin/gst-launch-1.0", "-q", "audiotestsrc", "wave=sine", "freq=440",
                                 std::string("num-buffers=") + buffers, "samplesperbuffer=960", "!",
                                 "audio/x-raw,rate=48000,channels=1", "!", "opusenc", "!", "rtpopuspay",
                                 std::string("ssrc=") + ssrc, "!", "udpsink", "host=127.0.0.1", "port=" + port,
                                 "sync=true"},
        dir / (std::string(name) + ".log"));
  };
  auto first = sender("first", "1111", "200");  // 4 s
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "stream_playing", 1, camera, 10s));
  auto second = sender("second", "2222", "100");  // 2 s, all while the first plays
  REQUIRE_MESSAGE(second->wait(30s) == 0, second->output());
  REQUIRE_MESSAGE(first->wait(30s) == 0, first->output());
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "\"event\":\"burst_summary\"", 1, camera, 10s));
  camera.signal(SIGTERM);
  REQUIRE(camera.wait(10s) == 0);
  auto s = nlohmann::json::parse(read_text(dir / "camera.json"));
  s.erase("per_burst");
  INFO(s.dump());
  const auto events = read_events(dir / "camera.jsonl");
  long playing = 0, reports = 0, reported = 0;
  for (const auto& e : events) {
    if (e["event"] == "stream_playing") {
      ++playing;
      CHECK(e["ssrc"] == 1111);
      CHECK(e["reason"] == "first");
    }
    if (e["event"] == "other_sender_ignored") {
      ++reports;
      reported += e["packets"].get<long>();
      CHECK(e["ssrc"] == 2222);
      CHECK(e["playing_ssrc"] == 1111);
    }
  }
  MESSAGE("other sender: " << s["other_sender_packets"] << " packets, reported in " << reports << " events");
  CHECK(playing == 1);
  CHECK(s["other_sender_packets"] == 101);  // opusenc's 100 buffers and its flush
  CHECK(reports >= 2);
  CHECK(reports <= 4);  // once a second over ~2 s, not per packet
  CHECK(reported <= 101);
  CHECK(s["frames_normal"] == 201);
  CHECK(s["stream_changes"] == 0);
  CHECK(s["lost"] == 0);
  CHECK(s["bursts"] == 1);
}

TEST_CASE("camera-sim says why it dropped a stream, and takes RTCP on the media port for what it is") {
  const auto dir = scratch_dir("std_drop_reasons");
  Process camera({PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(), "--no-session",
                  "--output", "null", "--events", (dir / "camera.jsonl").string(), "--summary",
                  (dir / "camera.json").string()},
                 dir / "camera.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "port", camera, 10s), camera.output());
  Sink sink;
  const boost::asio::ip::udp::endpoint to(boost::asio::ip::make_address("127.0.0.1"),
                                          static_cast<unsigned short>(std::stoi(read_text(dir / "port"))));
  // Three Opus packets as ffmpeg numbers them (payload type 97), then a receiver report.
  pttcam::rtp::RtpWriter writer;
  pttcam::rtp::RtpHeader h;
  h.payload_type = 97;
  h.ssrc = 77;
  const std::array<std::byte, 3> opus{std::byte{0x78}, std::byte{1}, std::byte{2}};
  for (int i = 0; i < 3; ++i) {
    h.sequence = static_cast<std::uint16_t>(100 + i);
    h.timestamp = static_cast<std::uint32_t>(960 * i);
    const auto d = writer.write(h, {}, opus);
    sink.socket.send_to(boost::asio::buffer(d.data(), d.size()), to);
  }
  pttcam::rtp::ReportBlock block;
  block.ssrc = 1234;
  block.cumulative_lost = 2;
  const std::array<pttcam::rtp::ReportBlock, 1> blocks{block};
  pttcam::rtp::RtcpReportSpec rr;
  rr.ssrc = 77;
  rr.blocks = blocks;
  rr.cname = "tester@pttcam";
  std::array<std::byte, pttcam::rtp::kRtcpMaxCompound> rtcp{};
  const auto size = pttcam::rtp::write_rtcp(rr, rtcp);
  REQUIRE(size > 0);
  sink.socket.send_to(boost::asio::buffer(rtcp.data(), size), to);
  REQUIRE(wait_for_lines(dir / "camera.jsonl", "rtcp_received", 1, camera, 10s));
  camera.signal(SIGTERM);
  REQUIRE(camera.wait(10s) == 0);
  const auto s = nlohmann::json::parse(read_text(dir / "camera.json"));
  CHECK(s["wrong_payload_type"] == 3);
  CHECK(s["last_wrong_payload_type"] == 97);
  CHECK(s["malformed"] == 0);
  CHECK(s["rtcp_received"] == 1);
  CHECK(s["far_end_report"]["cumulative_lost"] == 2);
  CHECK(camera.output().find("camera-sim: 3 dropped: wrong payload type 97, expected 111 (Opus) or 63 (RED)") !=
        std::string::npos);
}

TEST_CASE("ptt-client --sdp takes the address, port and payload type from a receiver's SDP (GStreamer's)") {
  const auto dir = scratch_dir("std_client_reads_sdp");
  Process camera({PTTCAM_CAMERA_BIN, "--insecure", "--listen", "127.0.0.1:0", "--port-file", (dir / "port").string(), "--no-session",
                  "--payload-type", "96", "--output", "null", "--summary", (dir / "camera.json").string()},
                 dir / "camera.log");
  REQUIRE_MESSAGE(wait_for_file(dir / "port", camera, 10s), camera.output());
  const auto port = std::to_string(std::stoi(read_text(dir / "port")));
  {
    Process sdp({"/usr/bin/python3", PTTCAM_SOURCE_DIR "/tests/data/sdp/make_gst_sdp.py", (dir / "gst.sdp").string(),
                 "--port", port},
                dir / "sdp.log");
    REQUIRE_MESSAGE(sdp.wait(30s) == 0, sdp.output());
  }
  // No --camera, no --payload-type: both from the file; it lists no RED, so no redundancy either.
  Process client({PTTCAM_CLIENT_BIN, "--insecure", "--sdp", (dir / "gst.sdp").string(), "--no-session", "--input", "tone:440",
                  "--talk-script", "0.2+1", "--speaker", "null", "--summary", (dir / "client.json").string()},
                 dir / "client.log");
  REQUIRE_MESSAGE(client.wait(30s) == 0, client.output());
  camera.signal(SIGTERM);
  REQUIRE(camera.wait(10s) == 0);
  const auto sent = nlohmann::json::parse(read_text(dir / "client.json"));
  const auto heard = nlohmann::json::parse(read_text(dir / "camera.json"));
  CHECK(sent["redundant_copies"] == 0);
  CHECK(heard["wrong_payload_type"] == 0);
  CHECK(heard["packets"] == sent["frames_sent"]);
  CHECK(heard["frames_normal"] == sent["frames_sent"]);
  CHECK(heard["rtp_lost"] == 0);
}
