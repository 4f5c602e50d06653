// camera-sim: the camera end of push-to-talk. Receives RTP/Opus and plays it on its speaker.
#include <CLI/CLI.hpp>

#include "pttcam/cli/parse.hpp"
#include "pttcam/measure/resource_usage.hpp"

#include <cstdio>
#include <fstream>
#include <functional>

#include "pttcam/audio/portaudio.hpp"
#include "pttcam/app/receiver_options.hpp"
#include "pttcam/app/sdp_files.hpp"
#include "pttcam/audio/sndfile.hpp"
#include "pttcam/session/camera_model.hpp"
#include "pttcam/camera/camera.hpp"
#include "pttcam/pairing/code.hpp"
#include "pttcam/secure/keyring.hpp"

namespace {

using namespace pttcam;

// A figure, or "-" where there is none (a burst cut before its key-up has no tail).
std::string figure(const nlohmann::json& v, const char* unit) {
  char buf[32];
  if (!v.is_number()) return "-";
  std::snprintf(buf, sizeof buf, "%.1f%s", v.get<double>(), unit);
  return buf;
}

// "loss 120 ms", or for a cut (whose unheard rest is not known here) just its cause.
std::string describe_cutoffs(const nlohmann::json& cutoffs) {
  std::string out;
  for (const auto& c : cutoffs) {
    const double ms = c["duration_ms"].get<double>();
    out += (out.empty() ? "" : ", ") + c["cause"].get<std::string>();
    if (ms > 0) out += " " + std::to_string(static_cast<int>(ms)) + " ms";
  }
  return out.empty() ? "-" : out;
}

void print_summary(const nlohmann::json& s) {
  const auto u = [&](const char* k) { return s.value(k, 0ULL); };
  // Bursts as heard: a burst that came back after an outage is one burst, not two.
  const auto heard = static_cast<unsigned long long>(s["per_burst"].size());
  std::printf("camera-sim: %llu burst(s); %llu packets (%llu malformed, %llu late, %llu duplicate, %llu outside a "
              "session); frames %llu played, %llu FEC-recovered, %llu concealed (%.2f %%); %llu cut; %llu cutoff(s); "
              "%llu speaker underrun samples\n",
              heard, u("packets"), u("malformed"), u("late"), u("duplicate"), u("media_dropped"), u("frames_normal"),
              u("frames_fec"), u("frames_concealed"), s["concealed_pct"].get<double>(), u("bursts_cut"),
              u("cutoff_count"), u("speaker_underrun_samples"));
  if (s.contains("rtsp")) {
    const auto& r = s["rtsp"];
    const auto n = [&](const char* k) { return r.value(k, 0ULL); };
    std::printf("camera-sim: RTSP: %llu connection(s), %llu request(s) (%llu unparseable, %llu refused auth), %llu "
                "session(s) (%llu timed out), %llu talk packets played, %llu dropped, %llu microphone packets sent\n",
                n("connections"), n("requests"), n("bad_requests"), n("auth_failures"), n("sessions"), n("session_timeouts"),
                n("backchannel_packets"), n("backchannel_dropped"), n("microphone_packets"));
  }
  if (s.contains("web")) {
    const auto& w = s["web"];
    const auto n = [&](const char* k) { return w.value(k, 0ULL); };
    std::printf("camera-sim: web: %llu call(s) (%llu refused, %llu failed, %llu capped), %llu press(es) (%llu refused), "
                "%llu talk packets played, %llu dropped, %llu microphone packets sent\n",
                n("calls"), n("calls_refused"), n("calls_failed"), n("calls_capped"), n("presses"), n("refusals"),
                n("talk_packets"), n("talk_dropped"), n("microphone_packets"));
  }
  if (s.contains("pairing")) {
    const auto& p = s["pairing"];
    const auto n = [&](const char* k) { return p.value(k, 0ULL); };
    std::printf("camera-sim: pairing: %llu attempt(s): %llu paired, %llu failed, %llu lockout(s), %llu refused while "
                "locked, %llu busy, %llu abandoned; %llu paired client(s)\n",
                n("connections"), n("succeeded"), n("failed"), n("lockouts"), n("refused_locked"), n("refused_busy"),
                n("abandoned"), n("paired_clients"));
  }
  if (heard == 0) return;
  std::printf("  burst  talk-start  mouth-to-ear p50/p95/p99       tail     FEC  concealed  cutoffs\n");
  for (const auto& b : s["per_burst"]) {
    const auto& m = b["mouth_to_ear_ms"];
    std::printf("  %5llu  %10s  %6.1f/%5.1f/%5.1f ms  %10s  %4llu  %9llu  %s\n", b["burst"].get<unsigned long long>(),
                figure(b["talk_start_ms"], " ms").c_str(), m["p50"].get<double>(), m["p95"].get<double>(),
                m["p99"].get<double>(), figure(b["tail_ms"], " ms").c_str(), b["frames_fec"].get<unsigned long long>(),
                b["frames_concealed"].get<unsigned long long>(), describe_cutoffs(b["cutoffs"]).c_str());
  }
}

// "5" or "5,30.5": seconds from start, increasing.
std::vector<double> parse_times(const std::string& text) {
  std::vector<double> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto comma = text.find(',', pos);
    const std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    std::size_t used = 0;
    double v = -1;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
    }
    if (used != item.size() || item.empty() || v < 0 || (!out.empty() && v <= out.back()))
      throw std::invalid_argument("'" + text + "' is not increasing seconds from start, e.g. 5 or 5,30");
    out.push_back(v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

// --mic: a capture spec, or none; a refused microphone is the client's fault, not a camera's.
audio::EndpointSpec parse_mic(const std::string& text) {
  const auto spec = audio::parse_capture_spec(text);
  if (spec.kind == audio::EndpointSpec::Kind::deny)
    throw std::invalid_argument("deny is a client fault; use --mic none for a camera without a microphone");
  return spec;
}

// --quirk: the RTSP server's misbehaviours, and what they change in the codecs offered and the
// speaker path. Throws cli::UsageError for an unknown name or a contradiction.
void apply_quirks(const std::vector<std::string>& names, bool codecs_given, camera::RtspOptions& rtsp,
                  camera::CameraConfig& config) {
  auto& q = rtsp.quirks;
  for (const auto& n : names) {
    try {
      camera::add_quirks(q, n);
    } catch (const std::invalid_argument& e) {
      throw cli::UsageError(std::string("--quirk: ") + e.what());
    }
  }
  if (q.g711_only) {
    if (codecs_given)
      for (const auto& c : rtsp.backchannel_codecs)
        if (c.kind != camera::BackchannelCodec::Kind::pcmu && c.kind != camera::BackchannelCodec::Kind::pcma)
          throw cli::UsageError("--quirk g711-only offers PCMU and PCMA only: --backchannel-codecs cannot add " +
                                std::string(c.name()));
    if (!codecs_given) rtsp.backchannel_codecs = camera::parse_backchannel_codecs("pcmu,pcma");
  }
  if (q.l16_swapped && !codecs_given) rtsp.backchannel_codecs = camera::parse_backchannel_codecs("l16,pcmu");
  if (q.added_delay_ms > 0) {
    auto& playout = config.receiver.playout;
    playout.fixed_delay_ms = playout.fixed_delay_ms.value_or(playout.min_delay_ms) + q.added_delay_ms;
  }
}

// The label: the pairing code and the camera id, on stderr (a log of stdout is no place for it).
void print_pairing(camera::Camera& cam, const camera::CameraConfig& config) {
  if (!cam.pairing()) return;
  std::fprintf(stderr, "camera-sim: pairing code %s (camera id %s) on TCP port %u\n", cam.pairing_code().c_str(),
               cam.keyring().camera_id().c_str(), cam.pairing()->local_endpoint().port());
  if (config.state_dir.empty())
    std::fprintf(stderr, "camera-sim: no --state-dir: pairings are kept in memory only and forgotten at exit\n");
  else
    std::fprintf(stderr, "camera-sim: %zu paired client(s), keys in %s%s\n", cam.keyring().client_count(),
                 config.state_dir.c_str(), config.factory_reset ? " (factory reset: every pairing forgotten)" : "");
}

int run(int argc, char** argv) {
  CLI::App app{"camera-sim: a simulated security camera that plays push-to-talk audio (RTP/Opus)"};
  std::string listen = "0.0.0.0:5004";
  std::string output = "default";
  std::string port_file;
  std::string events_path;
  std::string summary_path;
  bool list = false;
  camera::CameraConfig config;
  auto* listen_option = app.add_option("--listen", listen, "Address to receive on, HOST:PORT (port 0 picks one)")
      ->check(cli::parsed_by("HOST:PORT", [](const std::string& t) { (void)net::parse_endpoint(t); }))
      ->capture_default_str();
  app.add_option("--port-file", port_file, "Write the bound port here once listening");
  app.add_option("--output", output, "Speaker: default | speaker | device:NAME|INDEX | wav:PATH | null")
      ->check(cli::parsed_by("SPEC", [](const std::string& t) { (void)audio::parse_playback_spec(t); }))
      ->capture_default_str();
  std::string mic = "default";
  std::string reboot_at;
  app.add_option("--mic", mic, "Camera microphone, streamed to the client: default | device:NAME|INDEX | wav:PATH | "
                               "tone:HZ | none (never opened with --no-session)")
      ->check(cli::parsed_by("SPEC", [](const std::string& t) { if (t != "none") (void)parse_mic(t); }))
      ->capture_default_str();
  app.add_option("--model", config.model, "Camera model (docs/cameras.md): mini, indoor-gen2, outdoor, xt2, doorbell, indoor")
      ->check(cli::parsed_by("NAME", [](const std::string& t) {
        if (!session::find_camera_model(t)) throw std::invalid_argument("unknown camera model '" + t + "' (see docs/cameras.md)");
      }))
      ->capture_default_str();
  app.add_option("--serial", config.serial, "Camera id the client names with --camera-id (generated if absent)");
  app.add_option("--session-limit", config.session_limit_s, "Live view cap in seconds")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  app.add_option("--warn-before", config.warn_before_s, "Warn the client this many seconds before the cap")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  app.add_option("--keepalive-timeout", config.keepalive_timeout_s, "Drop a silent client after this many seconds")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  app.add_option("--boot-time", config.boot_time_s, "Seconds a power cycle keeps the camera offline")
      ->check(CLI::Range(0.0, 600.0))
      ->capture_default_str();
  app.add_option("--reboot-at", reboot_at, "Power-cycle at these times, seconds from start (e.g. 5 or 5,30)")
      ->check(cli::parsed_by("TIMES", [](const std::string& t) { (void)parse_times(t); }));
  app.add_flag("--half-duplex", config.half_duplex, "Mute the microphone while the client holds the talk floor");
  app.add_option("--video-kbps", config.video_kbps, "Dummy video load sent to the client during a live view (kbit/s)")
      ->check(CLI::Range(0.0, 100000.0))
      ->capture_default_str();
  app.add_flag("--no-session", config.no_session,
               "Play any RTP/Opus stream without the live-view protocol (standard RTP senders)");
  app.add_flag("--insecure", config.insecure,
               "Open mode: no pairing, plain control messages and RTP that anyone on the network can use "
               "(interop with standard RTP tools, tests)");
  app.add_option("--pairing-code", config.pairing_code,
                 "The code ptt-client --pair must know, as on a camera's label (default: 8 random digits, printed at start)")
      ->check(cli::parsed_by("CODE", [](const std::string& t) {
        if (const auto why = pairing::check_code(t); !why.empty()) throw std::invalid_argument(why);
      }));
  std::string state_dir;
  app.add_option("--state-dir", state_dir,
                 "Keep the camera id and the paired clients' keys here (mode 0700; default: in memory only)");
  app.add_flag("--factory-reset", config.factory_reset,
               "Forget every paired client (and any pairing lockout) before starting");
  auto* redundancy = app.add_option("--redundancy", config.mic_opus.redundancy,
                                    "Microphone stream: earlier frames repeated in each packet, RFC 2198 (0-2; default 2, 0 with --no-session)")
                         ->check(CLI::Range(0, codec::OpusSettings::kMaxRedundancy));
  std::string rtsp_listen;
  std::string rtsp_port_file;
  camera::RtspOptions rtsp;
  app.add_option("--rtsp", rtsp_listen, "Also serve RTSP with the ONVIF backchannel at rtsp://HOST:PORT/live (docs/rtsp.md)")
      ->check(cli::parsed_by("HOST:PORT", [](const std::string& t) { (void)net::parse_endpoint(t); }));
  app.add_option("--rtsp-port-file", rtsp_port_file, "Write the bound RTSP port here once listening");
  app.add_option("--user", rtsp.user, "RTSP: require Digest authentication (MD5 or SHA-256) as this user");
  app.add_option("--password", rtsp.password, "RTSP: the password for --user");
  std::string backchannel_codecs;
  std::vector<std::string> quirks;
  app.add_option("--quirk", quirks,
                 "RTSP: behave like a camera with this known problem (docs/cameras.md): drop-first-second, "
                 "playout-delay, describe-require-timeout, no-backchannel, l16-swapped, g711-only, line-busy");
  app.add_option("--backchannel-codecs", backchannel_codecs,
                 "RTSP: codecs the backchannel offers, in preference order: pcmu, pcma, l16 (16 kHz), opus "
                 "(default: the model's, docs/cameras.md)");
  app.add_option("--rtsp-session-timeout", rtsp.session_timeout_s, "RTSP: seconds a silent session lives (Session: ;timeout=)")
      ->check(CLI::Range(1u, 3600u))
      ->capture_default_str();
  std::string web_listen;
  std::string web_port_file;
  app.add_option("--web", web_listen, "Also serve the app page and WebRTC talk at http://HOST:PORT/ (docs/web.md)")
      ->check(cli::parsed_by("HOST:PORT", [](const std::string& t) { (void)net::parse_endpoint(t); }));
  app.add_option("--web-port-file", web_port_file, "Write the bound web port here once listening");
  std::string web_tls_cert, web_tls_key;
  app.add_option("--web-tls-cert", web_tls_cert,
                 "Serve the page over HTTPS with this certificate chain (PEM; docs/web.md)")
      ->check(CLI::ExistingFile);
  app.add_option("--web-tls-key", web_tls_key, "The private key (PEM) of --web-tls-cert")->check(CLI::ExistingFile);
  double web_idle_timeout_s = camera::WebOptions{}.idle_timeout_s;
  auto* web_idle = app.add_option("--web-idle-timeout", web_idle_timeout_s,
                                  "Close a web connection that sends no request for this many seconds")
                       ->check(CLI::Range(0.1, 3600.0))
                       ->capture_default_str();
  std::string packets_path;
  app::add_receiver_options(app, config.receiver, packets_path);
  app::add_payload_type_options(app, config.mic_opus);
  std::string sdp_in;
  std::string sdp_out;
  app.add_option("--sdp", sdp_in,
                 "Read the stream's SDP (e.g. ffmpeg's -sdp_file): its payload types, and its address and port "
                 "unless --listen is given");
  app.add_option("--sdp-out", sdp_out, "Write the SDP of the stream this camera expects here once listening");
  app.add_option("--events", events_path, "Write a JSON Lines event log here");
  app.add_option("--summary", summary_path, "Write a JSON summary here at exit");
  app.add_flag("--list-devices", list, "List audio devices and exit");
  if (const auto code = cli::parse(app, argc, argv, "camera-sim")) return *code;
  app::check_receiver_options(config.receiver);

  audio::PortAudioLibrary::set_client_name("camera-sim");
  if (list) {
    std::fputs(audio::format_device_list(audio::list_devices()).c_str(), stdout);
    return 0;
  }
  config.listen = net::parse_endpoint(listen);
  if (!sdp_in.empty()) {
    const auto d = app::read_sdp_file("--sdp", sdp_in);
    const codec::OpusSettings given = config.mic_opus;
    app::apply_payload_types(d, config.mic_opus);
    // Options given on the command line win over the file.
    if (app.get_option("--payload-type")->count() > 0) config.mic_opus.payload_type = given.payload_type;
    if (app.get_option("--red-payload-type")->count() > 0) config.mic_opus.red_payload_type = given.red_payload_type;
    if (listen_option->count() == 0) config.listen = app::endpoint_of(d);
  }
  config.output = audio::parse_playback_spec(output);
  // Without the live-view protocol the microphone has nowhere to go: it is not opened at all.
  if (mic == "none" || config.no_session)
    config.mic.reset();
  else
    config.mic = parse_mic(mic);
  config.reboot_at_s = parse_times(reboot_at);
  // Plain Opus for the standard peers of --no-session and RTSP: ffmpeg and GStreamer do not unpack RFC 2198.
  // Browsers decode RED only where their offer asked for it: plain Opus for them too.
  if ((config.no_session || !rtsp_listen.empty() || !web_listen.empty()) && redundancy->count() == 0)
    config.mic_opus.redundancy = 0;
  if (!rtsp_listen.empty()) {
    const auto ep = net::parse_endpoint(rtsp_listen);
    rtsp.listen = boost::asio::ip::tcp::endpoint(ep.address(), ep.port());
    if (!backchannel_codecs.empty()) {
      try {
        rtsp.backchannel_codecs = camera::parse_backchannel_codecs(backchannel_codecs);
      } catch (const std::invalid_argument& e) {
        throw cli::UsageError(std::string("--backchannel-codecs: ") + e.what());
      }
    } else if (const auto* model = session::find_camera_model(config.model); !model->backchannel_codecs.empty()) {
      rtsp.backchannel_codecs = camera::parse_backchannel_codecs(model->backchannel_codecs);  // what such a camera offers
    }
    rtsp.session_limit_s = config.session_limit_s;
    rtsp.warn_before_s = config.warn_before_s;
    apply_quirks(quirks, !backchannel_codecs.empty(), rtsp, config);
    config.rtsp = rtsp;
  } else if (!rtsp_port_file.empty() || !rtsp.user.empty() || !backchannel_codecs.empty() || !quirks.empty()) {
    throw cli::UsageError("--rtsp-port-file, --user, --password, --backchannel-codecs and --quirk need --rtsp HOST:PORT");
  }
  if (!web_listen.empty()) {
    const auto ep = net::parse_endpoint(web_listen);
    config.web = camera::WebOptions{};
    config.web->listen = boost::asio::ip::tcp::endpoint(ep.address(), ep.port());
    config.web->idle_timeout_s = web_idle_timeout_s;
    if (web_tls_cert.empty() != web_tls_key.empty())
      throw cli::UsageError("--web-tls-cert and --web-tls-key go together");
    config.web->tls_cert = web_tls_cert;
    config.web->tls_key = web_tls_key;
  } else if (!web_port_file.empty() || web_idle->count() > 0 || !web_tls_cert.empty() || !web_tls_key.empty()) {
    throw cli::UsageError("--web-port-file, --web-idle-timeout and --web-tls-cert/--web-tls-key need --web HOST:PORT");
  }
  if (rtsp.user.empty() != rtsp.password.empty()) throw cli::UsageError("--user and --password go together");
  if (const auto why = config.mic_opus.validate(); !why.empty()) throw cli::UsageError(why);
  app::apply_payload_types(config.mic_opus, config.receiver);
  config.events_path = events_path;
  config.state_dir = state_dir;
  config.receiver.metrics.packets_csv = packets_path;
  // Runtime checks before anything starts: results that cannot be written would waste the run.
  cli::require_writable({{"--summary", summary_path}, {"--events", events_path}, {"--packets", packets_path},
                         {"--port-file", port_file}, {"--rtsp-port-file", rtsp_port_file}, {"--sdp-out", sdp_out},
                         {"--web-port-file", web_port_file}});
  if (config.output.kind == audio::EndpointSpec::Kind::wav) cli::require_writable("--output", config.output.arg);
  // The keyring opens (or is created) now, so that a directory it cannot use is named as the option.
  if (!state_dir.empty()) cli::runtime_checked("--state-dir", [&] { (void)secure::CameraKeyring::open(state_dir); });
  // A wrong WAV is one line naming the option now, not a failure when the microphone opens (which reads it again).
  if (config.mic && config.mic->kind == audio::EndpointSpec::Kind::wav)
    cli::runtime_checked("--mic", [&] { return audio::read_mono_48k(config.mic->arg); });

  boost::asio::io_context io;
  camera::Camera cam(io, config);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  // A talk burst still playing is heard to its end (at most 2 s more), so its figures are whole; a
  // second signal stops at once.
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (cam.stopping()) {
        cam.stop();
        io.stop();
        return;
      }
      cam.stop_when_quiet(2'000'000, [&] { io.stop(); });
      wait_signal();
    });
  };
  wait_signal();
  // SIGHUP = pull the plug and put it back: sessions vanish, back after --boot-time.
  boost::asio::signal_set hangup(io, SIGHUP);
  std::function<void()> wait_hangup = [&] {
    hangup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      std::printf("camera-sim: power cycle (SIGHUP): offline for %.1f s\n", config.boot_time_s);
      std::fflush(stdout);
      cam.power_cycle();
      wait_hangup();
    });
  };
  wait_hangup();
  cam.start();
  const auto local = cam.local_endpoint();
  std::printf("camera-sim: %s (model %s) listening on %s, speaker %s\n", cam.serial().c_str(), config.model.c_str(),
              net::to_string(local).c_str(), cam.speaker_path().speaker().describe().c_str());
  if (cam.secure())
    std::printf("camera-sim: live views are protected: only a paired client can open one (ptt-client --pair)\n");
  else if (!config.no_session)
    std::fprintf(stderr, "camera-sim: WARNING: --insecure: anyone on the network can open a live view, hear the "
                         "microphone and talk on the speaker (docs/security.md)\n");
  std::fflush(stdout);
  if (const auto* rtsp_server = cam.rtsp()) {
    const auto ep = rtsp_server->local_endpoint();
    std::printf("camera-sim: RTSP at rtsp://%s:%u/live%s\n", ep.address().to_string().c_str(), ep.port(),
                rtsp.user.empty() ? "" : " (digest authentication)");
    std::fflush(stdout);
    if (!rtsp_port_file.empty()) net::write_port_file(rtsp_port_file, ep.port());
  }
  if (const auto* web = cam.web()) {
    const auto ep = web->local_endpoint();
    std::printf("camera-sim: web page at http://%s:%u/ (hold to talk)\n",
                ep.address().is_unspecified() ? "localhost" : ep.address().to_string().c_str(), ep.port());
    std::fflush(stdout);
    if (!web_port_file.empty()) net::write_port_file(web_port_file, ep.port());
  }
  if (!sdp_out.empty()) {
    // What it plays: the Opus payload type, and RED around it (accepted whatever --redundancy says).
    codec::OpusSettings expected = config.mic_opus;
    expected.redundancy = 1;
    app::write_sdp_file("--sdp-out", sdp_out, app::stream_description(expected, local, sdp::Direction::recvonly));
  }
  print_pairing(cam, config);
  if (!port_file.empty()) net::write_port_file(port_file, local.port());
  io.run();

  auto summary = cam.summary();
  measure::add_resource_usage(summary);  // at exit: the whole run's CPU time and peak memory
  print_summary(summary);
  std::fputs(app::far_end_line(summary, "camera-sim: ").c_str(), stdout);
  std::fputs(app::drop_reasons(summary, "camera-sim: ").c_str(), stderr);
  if (!summary_path.empty()) cli::write_file("--summary", summary_path, summary.dump(2) + '\n');
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return pttcam::cli::run_main("camera-sim", [&] { return run(argc, argv); });
}
