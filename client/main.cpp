// ptt-client: hold-to-talk microphone -> Opus -> RTP/UDP to a camera.
#include <CLI/CLI.hpp>

#include "pttcam/cli/parse.hpp"
#include "pttcam/measure/resource_usage.hpp"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include "pttcam/audio/portaudio.hpp"
#include "pttcam/app/receiver_options.hpp"
#include "pttcam/app/sdp_files.hpp"
#include "pttcam/client/client.hpp"
#include "pttcam/client/key_source.hpp"
#include "pttcam/client/pairing_commands.hpp"
#include "pttcam/secure/keyring.hpp"
#include "pttcam/client/rtsp_camera.hpp"
#include "pttcam/rtsp/url.hpp"
#include "pttcam/audio/sndfile.hpp"

namespace {

using namespace pttcam;

void print_summary(const nlohmann::json& s) {
  const auto u = [&](const nlohmann::json& j, const char* k) { return j.value(k, 0ULL); };
  std::printf("ptt-client: %llu burst(s), %.2f s talked, %llu frames / %llu bytes sent; %llu encode and %llu "
              "send errors, %llu capture overrun samples, %llu failed talk attempts\n",
              u(s, "bursts"), s["talk_seconds"].get<double>(), u(s, "frames_sent"), u(s, "bytes_sent"),
              u(s, "encode_errors"), u(s, "send_errors"), u(s, "capture_overrun_samples"), u(s, "talk_failed"));
  const auto& a = s["camera_audio"];
  if (u(a, "bursts") > 0)
    std::printf("ptt-client: heard the camera's microphone: %llu burst(s), %llu frames played, %llu concealed\n",
                u(a, "bursts"), u(a, "frames_normal"), u(a, "frames_concealed"));
}

// One Opus setting checked at parse time by the codec's own rule (the others left at their defaults),
// so the error names the option that carries it.
template <class T>
CLI::Validator opus_rule(T codec::OpusSettings::*field) {
  return cli::parsed_by("", [field](const std::string& text) {
    codec::OpusSettings s;
    if (!CLI::detail::lexical_cast(text, s.*field)) return;  // not a number: CLI11 says so
    if (const auto why = s.validate(); !why.empty()) throw std::invalid_argument(why);
  });
}

net::Udp::endpoint camera_endpoint(const std::string& text) {
  const auto ep = net::parse_endpoint(text);
  if (ep.port() == 0) throw std::invalid_argument("port 0 is not a camera's port (use 1-65535)");
  if (ep.address().is_unspecified()) throw std::invalid_argument(ep.address().to_string() + " is not a camera's address");
  return ep;
}

bool is_rtsp_url(const std::string& text) { return text.size() >= 7 && rtsp::iequals(text.substr(0, 7), "rtsp://"); }

void check_camera(const std::string& text) {
  if (!is_rtsp_url(text)) return (void)camera_endpoint(text);
  if (const auto u = rtsp::parse_url(text); !u.url) throw std::invalid_argument(u.error);
}

// Runs the io loop until `step` says it is done; its error becomes the program's one-line error.
void run_until(boost::asio::io_context& io, const std::function<void(client::RtspCamera::Done)>& step) {
  std::optional<std::string> result;
  step([&](const std::string& error) { result = error; });
  while (!result && io.run_one()) {
  }
  if (!result) throw std::runtime_error("the exchange with the camera stopped");
  if (!result->empty()) throw std::runtime_error(*result);
}

// The camera's audio as its SDP names it: Opus on its payload type, or G.711/L16 decoded at its
// clock rate and resampled to the speaker (as camera-sim configures its backchannel's receiver).
void play_camera_audio(media::Receiver::Options& playout, const sdp::RtpFormat& format) {
  if (client::codec_of(format) == client::TalkCodec::opus) {
    playout.payload_type = format.payload_type;
    return;
  }
  const auto encoding = codec::pcm_encoding_from_name(format.encoding);
  playout.pcm_payloads.push_back({format.payload_type, {*encoding, static_cast<int>(format.clock_rate)}});
}

// What the camera's DESCRIBE answer decides: the codec and payload type of the talk audio and of
// the camera's audio, where media go until SETUP says more, and whether talking is possible at all.
void configure_for_rtsp(client::ClientConfig& config, const client::RtspCamera& camera) {
  const auto& offer = camera.offer();
  config.rtsp = true;
  config.no_session = true;
  config.camera = camera.camera_address();
  config.opus.redundancy = 0;  // cameras take plain RTP of the codec their SDP names
  if (offer.backchannel) {
    config.opus.payload_type = offer.backchannel->format.payload_type;
    if (client::codec_of(offer.backchannel->format) != client::TalkCodec::opus) {
      const auto encoding = codec::pcm_encoding_from_name(offer.backchannel->format.encoding);
      config.pcm = codec::PcmFormat{*encoding, static_cast<int>(offer.backchannel->format.clock_rate)};
      // A frame of G.711/L16 must fit one datagram, and a frame under 10 ms may vanish in the resampler.
      if (config.opus.frame_ms < 10 || config.opus.frame_ms * config.pcm->clock_rate / 1000 *
                                               static_cast<double>(config.pcm->bytes_per_sample()) > 1400)
        throw std::runtime_error("--frame-ms " + std::to_string(config.opus.frame_ms) + " does not suit " +
                                 offer.backchannel->format.encoding + "/" +
                                 std::to_string(offer.backchannel->format.clock_rate) + ": use 10, 20 or 40");
    }
  }
  if (offer.audio) play_camera_audio(config.receiver.playout, offer.audio->format);
  config.talk_unavailable = offer.backchannel ? "" : offer.why_no_talk;
}

// SETUP and PLAY, then the client's talk RTP and RTCP go where the camera said (or interleaved).
void start_rtsp(boost::asio::io_context& io, client::Client& client, client::RtspCamera& camera, bool tcp) {
  run_until(io, [&](client::RtspCamera::Done done) { camera.play(client.local_endpoint().port(), std::move(done)); });
  using C = client::RtspCamera;
  if (tcp) {
    // RTCP about our talk on the backchannel's channel, or, listening only, about the camera's audio on its.
    const auto rtcp_channel = static_cast<std::uint8_t>((camera.offer().backchannel ? C::kBackchannelChannel : C::kAudioChannel) + 1);
    client.set_media_path([&camera](std::span<const std::byte> d) { camera.send_interleaved(C::kBackchannelChannel, d); },
                          [&camera, rtcp_channel](std::span<const std::byte> d) { camera.send_interleaved(rtcp_channel, d); });
    camera.on_interleaved = [&client](std::uint8_t channel, std::span<const std::byte> d) {
      if (channel == C::kAudioChannel) client.on_camera_media(d);
    };
  } else if (camera.backchannel_rtp()) {
    client.set_media_path(*camera.backchannel_rtp(), *camera.backchannel_rtcp());
  } else if (camera.audio_rtcp()) {
    // Listening only: the receiver reports about the camera's audio go to its RTCP port.
    client.set_media_path(camera.camera_address(), *camera.audio_rtcp());
  }
}

std::string describe_rtsp(const client::RtspCamera& camera, bool tcp) {
  const auto& offer = camera.offer();
  std::string s = std::string("RTSP over ") + (tcp ? "TCP" : "UDP") + ", backchannel ";
  if (offer.backchannel)
    s += offer.backchannel->format.encoding + "/" + std::to_string(offer.backchannel->format.clock_rate) + " PT " +
         std::to_string(offer.backchannel->format.payload_type);
  else
    s += "none";
  s += ", camera audio " + (offer.audio ? offer.audio->format.encoding : std::string("none"));
  return s;
}

struct PairingArgs {
  bool pair = false;
  bool unpair = false;
  std::string code;
  std::string config_dir;
};

void add_pairing_options(CLI::App& app, PairingArgs& a) {
  app.add_flag("--pair", a.pair, "Pair with the camera at --camera HOST:PORT using --pairing-code, keep its key, exit");
  app.add_flag("--unpair", a.unpair, "Forget the pairing with --camera-id ID (or every one made at --camera HOST:PORT), exit");
  app.add_option("--pairing-code", a.code, "--pair: the code on the camera's label (camera-sim prints it at start)");
  app.add_option("--config-dir", a.config_dir,
                 "Where pairings are kept (default: $XDG_CONFIG_HOME/pttcam, else ~/.config/pttcam)");
}

// --pair / --unpair: alone, they do their one thing and exit.
int run_pairing(const CLI::App& app, const PairingArgs& a, const std::string& camera, client::ClientConfig& config) {
  if (a.pair && a.unpair) throw cli::UsageError("--pair and --unpair cannot be combined");
  if (is_rtsp_url(camera)) throw cli::UsageError("--pair and --unpair are for pttcam's own protocol, not rtsp://");
  for (const char* o : {"--talk-script", "--sdp", "--sdp-out", "--no-session", "--renew", "--toggle"})
    if (app.get_option(o)->count() > 0) throw cli::UsageError(std::string("--pair and --unpair cannot be combined with ") + o);
  const std::filesystem::path dir = a.config_dir.empty() ? secure::ClientKeyring::default_dir() : std::filesystem::path(a.config_dir);
  config.config_dir = dir;
  if (a.pair) {
    if (camera.empty() || a.code.empty()) throw cli::UsageError("--pair needs --camera HOST:PORT and --pairing-code CODE");
    if (!config.camera_id.empty()) throw cli::UsageError("--pair learns the camera id: --camera-id does not apply");
    return client::pair_camera(camera_endpoint(camera), a.code, dir);
  }
  if (!a.code.empty()) throw cli::UsageError("--pairing-code goes with --pair");
  if (config.camera_id.empty() == camera.empty())
    throw cli::UsageError("--unpair needs either --camera-id ID or --camera HOST:PORT");
  if (!config.camera_id.empty() && !secure::valid_id(config.camera_id))
    throw cli::UsageError("--camera-id: '" + config.camera_id + "' is not a camera id (32 hex characters, as --pair printed)");
  return client::unpair_camera(config.camera_id.empty() ? std::nullopt : std::optional(config.camera_id),
                               camera.empty() ? std::nullopt : std::optional(camera_endpoint(camera)), dir);
}

int run(int argc, char** argv) {
  CLI::App app{"ptt-client: push-to-talk to a camera (Opus over RTP/UDP, RFC 7587)"};
  std::string camera;
  std::string input = "default";
  std::string script;
  std::string keys = "terminal";
  std::string events_path;
  std::string summary_path;
  bool toggle = false;
  bool list = false;
  client::ClientConfig config;
  auto& opus = config.opus;
  app.add_option("--camera", camera,
                 "Camera address HOST:PORT (pttcam's own protocol), or rtsp://[USER:PASSWORD@]HOST[:PORT]/PATH for an "
                 "RTSP camera with the ONVIF audio backchannel")
      ->check(cli::parsed_by("HOST:PORT|URL", check_camera));
  std::string codec_name;
  app.add_option("--codec", codec_name, "RTSP: the backchannel codec to use (default: the best offered, opus > l16 > pcmu/pcma)")
      ->check(cli::parsed_by("CODEC", [](const std::string& t) {
        if (!client::talk_codec_named(t)) throw std::invalid_argument("one of opus, l16, pcmu, pcma");
      }));
  std::string rtsp_transport = "udp";
  app.add_option("--rtsp-transport", rtsp_transport, "RTSP: RTP over udp, or tcp (interleaved on the RTSP connection)")
      ->check(CLI::IsMember({"udp", "tcp"}))
      ->capture_default_str();
  std::string speaker = "default";
  app.add_option("--input", input, "Microphone: default | device:NAME|INDEX | wav:PATH | tone:HZ | deny")
      ->check(cli::parsed_by("SPEC", [](const std::string& t) { (void)audio::parse_capture_spec(t); }))
      ->capture_default_str();
  app.add_option("--speaker", speaker, "Plays the camera's microphone: default | device:NAME|INDEX | wav:PATH | null")
      ->check(cli::parsed_by("SPEC", [](const std::string& t) { (void)audio::parse_playback_spec(t); }))
      ->capture_default_str();
  app.add_option("--camera-id", config.camera_id, "Serial of the camera to open (default: whichever answers)");
  app.add_flag("--renew", config.renew, "Start a new live view whenever one ends (soak tests)");
  app.add_option("--keepalive-timeout", config.keepalive_timeout_s, "Seconds of camera silence before giving up")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  std::string packets_path;
  app::add_receiver_options(app, config.receiver, packets_path);
  app::add_payload_type_options(app, config.opus);
  std::string port_file;
  app.add_option("--local-port", config.local_port,
                 "UDP port to send from and receive the camera's audio on (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--port-file", port_file, "Write the bound local port here once bound");
  std::string sdp_in;
  std::string sdp_out;
  app.add_option("--sdp", sdp_in,
                 "Read the receiver's SDP: payload types, RED or not, and the address and port to send to "
                 "unless --camera is given");
  app.add_option("--sdp-out", sdp_out,
                 "Write the SDP of the stream this client sends here at start (for ffmpeg, GStreamer, tshark)");
  app.add_flag("--no-session", config.no_session,
               "Plain RTP without the live-view protocol (to talk to standard RTP receivers)");
  app.add_flag("--insecure", config.insecure,
               "Open mode: no pairing, plain control messages and RTP (interop with standard RTP tools, tests)");
  app.add_option("--talk-script", script, "Scripted key presses START+DURATION,... (seconds); exits at the end")
      ->check(cli::parsed_by("TEXT", [](const std::string& t) { (void)ptt::parse_talk_script(t); }));
  app.add_option("--keys", keys,
                 "Where the talk key comes from: terminal (hold SPACE) | stdin (lines 'down' / 'up' on a pipe, "
                 "end of input quits; for programs that press the key)")
      ->check(CLI::IsMember({"terminal", "stdin"}))
      ->capture_default_str();
  app.add_flag("--toggle", toggle, "A key press starts talking, the next stops");
  std::optional<double> release_ms;
  app.add_option("--release-ms", release_ms,
                 "Terminals without release events: the key counts as released this long after a press that did not "
                 "repeat (default: learnt from the keyboard's auto-repeat delay, 700 ms until then)")
      ->check(CLI::Range(100.0, 5000.0));
  app.add_flag("--cold-mic", config.cold_mic,
               "Open the microphone at each key-down and close it at key-up (talk-start pays for the open)");
  app.add_flag("--list-devices", list, "List audio devices and exit");
  app.add_option("--frame-ms", opus.frame_ms, "Opus frame size: 2.5, 5, 10, 20, 40 or 60")
      ->check(opus_rule(&codec::OpusSettings::frame_ms))
      ->capture_default_str();
  app.add_option("--bitrate", opus.bitrate, "Opus bitrate in bit/s")
      ->check(opus_rule(&codec::OpusSettings::bitrate))
      ->capture_default_str();
  app.add_option("--complexity", opus.complexity, "Opus complexity 0-10")
      ->check(opus_rule(&codec::OpusSettings::complexity))
      ->capture_default_str();
  auto* fec = app.add_flag("--fec,!--no-fec", opus.fec, "Opus in-band FEC")->capture_default_str();
  app.add_option("--loss-perc", opus.packet_loss_perc, "Expected packet loss % (tunes FEC)")
      ->check(opus_rule(&codec::OpusSettings::packet_loss_perc))
      ->capture_default_str();
  app.add_flag("--dtx", opus.dtx, "Opus discontinuous transmission");
  app.add_flag("--low-delay", opus.low_delay, "Restricted low-delay application (CELT only, no FEC; not with --fec)");
  auto* redundancy = app.add_option("--redundancy", opus.redundancy,
                                    "Earlier frames repeated in each packet, RFC 2198 (0-2; default 2, 0 with --no-session)")
                         ->check(opus_rule(&codec::OpusSettings::redundancy));
  app.add_option("--events", events_path, "Write a JSON Lines event log here");
  app.add_option("--summary", summary_path, "Write a JSON summary here at exit");
  PairingArgs pairing;
  add_pairing_options(app, pairing);
  if (const auto code = cli::parse(app, argc, argv, "ptt-client")) return *code;
  if (pairing.pair || pairing.unpair) return run_pairing(app, pairing, camera, config);
  if (!pairing.code.empty()) throw cli::UsageError("--pairing-code goes with --pair");
  config.config_dir = pairing.config_dir;

  // What one option cannot say alone (each value was checked as it was parsed).
  if (camera.empty() && sdp_in.empty() && !list)
    throw cli::UsageError("--camera: required (the camera's HOST:PORT), or --sdp with the receiver's SDP");
  if (!script.empty() && toggle) throw cli::UsageError("--talk-script and --toggle cannot be combined");
  if (keys == "stdin" && (!script.empty() || toggle))
    throw cli::UsageError("--keys stdin cannot be combined with --talk-script or --toggle");
  const bool rtsp_mode = is_rtsp_url(camera);
  if (rtsp_mode && (!sdp_in.empty() || !sdp_out.empty() || config.no_session || config.renew || !config.camera_id.empty()))
    throw cli::UsageError("--camera rtsp://...: --sdp, --sdp-out, --no-session, --renew and --camera-id do not apply");
  if (!rtsp_mode && (!codec_name.empty() || app.get_option("--rtsp-transport")->count() > 0))
    throw cli::UsageError("--codec and --rtsp-transport need --camera rtsp://...");
  if (opus.low_delay && fec->count() > 0 && opus.fec)
    throw cli::UsageError("--low-delay and --fec cannot be combined: the low-delay mode has no FEC");
  app::check_receiver_options(config.receiver);

  audio::PortAudioLibrary::set_client_name("ptt-client");
  if (list) {
    std::fputs(audio::format_device_list(audio::list_devices()).c_str(), stdout);
    return 0;
  }
  if (!camera.empty() && !rtsp_mode) config.camera = camera_endpoint(camera);
  if (!sdp_in.empty()) {
    const auto d = app::read_sdp_file("--sdp", sdp_in);
    const codec::OpusSettings given = opus;
    const bool red = app::apply_payload_types(d, opus);
    // Options given on the command line win over the file.
    if (app.get_option("--payload-type")->count() > 0) opus.payload_type = given.payload_type;
    if (app.get_option("--red-payload-type")->count() > 0) opus.red_payload_type = given.red_payload_type;
    if (!red && redundancy->count() == 0) opus.redundancy = 0;  // a receiver without RED gets plain Opus
    if (camera.empty()) config.camera = camera_endpoint(net::to_string(app::endpoint_of(d)));
  }
  config.input = audio::parse_capture_spec(input);
  config.speaker = audio::parse_playback_spec(speaker);
  config.events_path = events_path;
  config.receiver.metrics.packets_csv = packets_path;
  // A standard RTP receiver expects plain Opus unless told otherwise; a camera speaks both.
  if (config.no_session && redundancy->count() == 0) opus.redundancy = 0;
  if (const auto why = opus.validate(); !why.empty()) throw cli::UsageError(why);
  app::apply_payload_types(opus, config.receiver);
  const auto windows = script.empty() ? std::vector<ptt::TalkWindow>{} : ptt::parse_talk_script(script);
  // Runtime checks before anything starts: results that cannot be written would waste the run.
  cli::require_writable({{"--summary", summary_path}, {"--events", events_path}, {"--packets", packets_path},
                         {"--port-file", port_file}, {"--sdp-out", sdp_out}});
  if (config.speaker.kind == audio::EndpointSpec::Kind::wav) cli::require_writable("--speaker", config.speaker.arg);
  // A wrong WAV is one line naming the option now, not a failure when the microphone opens (which reads it again).
  if (config.input.kind == audio::EndpointSpec::Kind::wav)
    cli::runtime_checked("--input", [&] { return audio::read_mono_48k(config.input.arg); });

  boost::asio::io_context io;
  // RTSP: what the camera offers decides the codec before the client is built; its events until
  // then wait for the client's event log.
  std::optional<client::RtspCamera> rtsp_camera;
  client::Client* built = nullptr;
  std::vector<std::tuple<std::int64_t, std::string, nlohmann::json>> early_events;
  if (rtsp_mode) {
    client::RtspCamera::Options o;
    o.url = *rtsp::parse_url(camera).url;
    if (!codec_name.empty()) o.codec = client::talk_codec_named(codec_name);
    o.transport = rtsp_transport == "tcp" ? client::RtspCamera::Transport::tcp : client::RtspCamera::Transport::udp;
    o.can_send = {client::TalkCodec::opus, client::TalkCodec::l16, client::TalkCodec::pcmu, client::TalkCodec::pcma};
    o.can_play = o.can_send;
    rtsp_camera.emplace(io, o, [&](const std::string& name, nlohmann::json fields) {
      if (built) return built->events().write(name, std::move(fields));
      early_events.emplace_back(timing::monotonic_us(), name, std::move(fields));
    });
    run_until(io, [&](client::RtspCamera::Done done) { rtsp_camera->describe(std::move(done)); });
    configure_for_rtsp(config, *rtsp_camera);
    if (const auto why = config.opus.validate(); !why.empty()) throw std::runtime_error("the camera's backchannel: " + why);
    if (!rtsp_camera->offer().why_no_audio.empty())
      std::printf("ptt-client: %s\n", rtsp_camera->offer().why_no_audio.c_str());
    if (!config.talk_unavailable.empty())
      std::printf("ptt-client: %s; %s\n", config.talk_unavailable.c_str(),
                  rtsp_camera->offer().audio ? "playing its audio only" : "and no audio this client plays");
  }
  client::Client client(io, config);
  built = &client;
  for (auto& [t, name, fields] : early_events) client.events().write_at(t, name, std::move(fields));
  std::optional<std::string> camera_lost;
  if (rtsp_camera) start_rtsp(io, client, *rtsp_camera, rtsp_transport == "tcp");
  std::optional<client::ScriptedKey> scripted;
  std::optional<client::TerminalKey> terminal;
  std::optional<client::StdinKey> piped;
  bool finishing = false;
  const auto finish = [&] {
    if (finishing) return;
    finishing = true;
    client.stop();
    if (terminal) terminal->stop();
    if (piped) piped->stop();
    if (!rtsp_camera) return io.stop();
    rtsp_camera->teardown([&] { io.stop(); });
  };
  if (rtsp_camera)
    rtsp_camera->on_lost = [&](const std::string& why) {
      camera_lost = why;
      finish();
    };
  boost::asio::steady_timer linger(io);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) finish();
  });

  // Before the first packet: a tool started on this file hears the whole stream.
  if (!sdp_out.empty())
    app::write_sdp_file("--sdp-out", sdp_out,
                        app::stream_description(opus, config.camera, sdp::Direction::sendonly));
  client.start();
  const std::string camera_text =
      rtsp_camera ? rtsp_camera->offer().aggregate_url + " (" + describe_rtsp(*rtsp_camera, rtsp_transport == "tcp") + ")"
                  : net::to_string(config.camera);
  std::printf("ptt-client: camera %s, microphone %s, %s\n", camera_text.c_str(),
              client.sender().capture() ? client.sender().capture()->describe().c_str() : "denied",
              client.codec_text().c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "ptt-client: bound %s\n", net::to_string(client.local_endpoint()).c_str());
  if (config.insecure && !config.no_session && !config.rtsp)
    std::fprintf(stderr, "ptt-client: WARNING: --insecure: the live view is neither authenticated nor encrypted; "
                         "anyone on the path can listen and inject (docs/security.md)\n");
  if (!port_file.empty()) net::write_port_file(port_file, client.local_endpoint().port());
  client.on_notice = [](const std::string& line) {
    std::printf("ptt-client: %s\n", line.c_str());
    std::fflush(stdout);
  };
  client.on_failure = [&](const std::string&) { finish(); };
  // After the last release, linger a moment before ending the live view: on a jittery link the
  // SESSION_END would otherwise overtake the burst's last packets and the camera would drop them.
  const auto linger_then_finish = [&] {
    linger.expires_after(std::chrono::milliseconds(300));
    linger.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) finish();
    });
  };
  if (!windows.empty()) {
    scripted.emplace(io, client, windows, linger_then_finish);
    scripted->start();
  } else if (keys == "stdin") {
    piped.emplace(io, client, linger_then_finish);
    piped->start();
  } else {
    client::AutoRepeatRelease::Config release;
    if (release_ms) {
      release.first_repeat_us = static_cast<std::int64_t>(*release_ms * 1000);
      release.learn = false;
    }
    terminal.emplace(io, client, toggle, release, finish);
    terminal->start();
  }
  io.run();

  auto summary = client.summary();
  measure::add_resource_usage(summary);  // at exit: the whole run's CPU time and peak memory
  if (piped) summary["key_commands"] = {{"accepted", piped->reader().accepted()}, {"rejected", piped->reader().rejected()}};
  print_summary(summary);
  if (summary.contains("camera_audio")) {
    std::fputs(app::far_end_line(summary["camera_audio"], "ptt-client: ").c_str(), stdout);
    std::fputs(app::drop_reasons(summary["camera_audio"], "ptt-client: ").c_str(), stderr);
  }
  if (rtsp_camera) summary["rtsp"] = rtsp_camera->summary();
  if (!summary_path.empty()) cli::write_file("--summary", summary_path, summary.dump(2) + '\n');
  if (camera_lost) throw std::runtime_error(*camera_lost);
  // The camera never answered: the run was for nothing, and scripts must notice.
  if (client.failure()) throw std::runtime_error(*client.failure());
  // A refused microphone is an error the user must fix: make scripts notice it.
  const bool mic_refused = !client.sender().has_microphone() && summary.value("talk_failed", 0) > 0;
  // Likewise a camera without a backchannel that the user tried to talk to.
  const bool no_backchannel = !config.talk_unavailable.empty() && summary.value("talk_failed", 0) > 0;
  return mic_refused || no_backchannel ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  return pttcam::cli::run_main("ptt-client", [&] { return run(argc, argv); });
}
