// The exit-code table (README, "Exit codes") walked with the real programs: 0 ok, 1 a runtime
// failure, 2 a usage error. Bad input gets one clear line naming the option, never a hang.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include "process.hpp"

using namespace pttcam::test;
using namespace std::chrono_literals;

namespace {

struct Outcome {
  int code;
  std::string output;
};

Outcome run(std::vector<std::string> args, const std::string& name) {
  const auto dir = scratch_dir("cli_" + name);
  // No JACK server name that exists: PortAudio sees no sound card and no JACK.
  Process p(std::move(args), dir / "out.log", {"JACK_DEFAULT_SERVER=pttcam-none-" + name, "JACK_NO_START_SERVER=1"});
  const auto code = p.wait(20s);
  REQUIRE_MESSAGE(code.has_value(), "hung: " << p.output());
  return {*code, p.output()};
}

std::size_t lines(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

// One row of the table: the program's arguments (after the ones every row of that program shares),
// the exit code, and what the one line must say (it names the option).
struct Row {
  const char* name;
  std::vector<std::string> args;
  int code;
  std::string message;
};

using Defaults = std::vector<std::pair<std::string, std::string>>;

// Runs each row; `program` is what the line starts with ("ptt-client: ..."). Each of `defaults` the
// row does not give itself is added, so that everything else is valid and the error is the row's.
void walk(const char* bin, const char* program, const Defaults& defaults, const std::vector<Row>& rows) {
  for (const auto& r : rows) {
    CAPTURE(r.name);
    std::vector<std::string> args{bin};
    args.insert(args.end(), r.args.begin(), r.args.end());
    for (const auto& [option, value] : defaults)
      if (std::find(r.args.begin(), r.args.end(), option) == r.args.end()) args.insert(args.end(), {option, value});
    const auto out = run(args, std::string(program) + "_" + r.name);
    CHECK_MESSAGE(out.code == r.code, out.output);
    CHECK_MESSAGE(out.output.find(r.message) != std::string::npos, out.output);
    // One line: the error and nothing else (no ALSA or libsndfile noise, no stack of messages).
    CHECK_MESSAGE(lines(out.output) == 1, out.output);
    CHECK_MESSAGE(out.output.rfind(std::string(program) + ": ", 0) == 0, out.output);
  }
}

void check_help(const char* bin, const std::string& name) {
  const auto out = run({bin, "--help"}, name + "_help");
  CHECK(out.code == 0);
  CHECK_MESSAGE(out.output.find("Exit codes: 0 ok; 1 runtime failure") != std::string::npos, out.output);
  CHECK_MESSAGE(out.output.find("2 usage error") != std::string::npos, out.output);
}

}  // namespace

TEST_CASE("ptt-client: exit 2 for usage errors, 1 for runtime failures, one line naming the option") {
  const auto dir = scratch_dir("cli_client_files");
  const auto mp3 = (dir / "speech.mp3").string();
  {
    // An ID3 tag and no valid frame: libsndfile hands such a file to mpg123, which prints its own lines.
    std::ofstream f(mp3, std::ios::binary);
    f << "ID3" << '\x03' << std::string(6, '\0') << std::string(64, '\0');
  }
  const std::vector<Row> rows{
      {"camera_missing", {}, 2, "ptt-client: --camera: required"},
      {"camera_bad", {"--camera", "nowhere"}, 2, "--camera: bad address 'nowhere'"},
      {"camera_port0", {"--camera", "127.0.0.1:0"}, 2, "--camera: port 0 is not a camera's port"},
      {"bitrate_not_number", {"--camera", "127.0.0.1:9", "--bitrate", "lots"}, 2, "--bitrate"},
      {"frame", {"--camera", "127.0.0.1:9", "--frame-ms", "7"}, 2, "--frame-ms: frame size 7 ms"},
      {"complexity", {"--camera", "127.0.0.1:9", "--complexity", "11"}, 2, "--complexity: complexity 11"},
      {"speaker_kind", {"--camera", "127.0.0.1:9", "--speaker", "foo"}, 2, "--speaker: bad audio output 'foo'"},
      {"input_kind", {"--camera", "127.0.0.1:9", "--input", "radio:1"}, 2, "--input: bad audio input 'radio:1'"},
      {"script", {"--camera", "127.0.0.1:9", "--talk-script", "1+2,2+1"}, 2,
       "--talk-script: bad script item 2 '2+1': starts before the previous press ends"},
      {"script_toggle", {"--camera", "127.0.0.1:9", "--talk-script", "0+1", "--toggle"}, 2,
       "--talk-script and --toggle cannot be combined"},
      {"jitter_range", {"--camera", "127.0.0.1:9", "--jitter-min-ms", "50", "--jitter-max-ms", "10"}, 2,
       "--jitter-min-ms 50 is above --jitter-max-ms 10"},
      {"low_delay_fec", {"--camera", "127.0.0.1:9", "--low-delay", "--fec"}, 2,
       "--low-delay and --fec cannot be combined"},
      {"unknown_option", {"--camera", "127.0.0.1:9", "--volume", "11"}, 2, "--volume"},
      {"summary_dir", {"--camera", "127.0.0.1:9", "--summary", "/nonexistent/x.json"}, 1,
       "--summary /nonexistent/x.json: directory /nonexistent does not exist"},
      {"speaker_dir", {"--camera", "127.0.0.1:9", "--speaker", "wav:/nonexistent/out.wav"}, 1,
       "--speaker /nonexistent/out.wav: directory /nonexistent does not exist"},
      {"wav_missing", {"--camera", "127.0.0.1:9", "--input", "wav:/nonexistent/speech.wav"}, 1,
       "--input: cannot read audio file '/nonexistent/speech.wav'"},
      {"wav_is_mp3", {"--camera", "127.0.0.1:9", "--input", "wav:" + mp3}, 1,
       "--input: cannot read audio file '" + mp3 + "': not a WAV file"},
      {"unknown_device", {"--camera", "127.0.0.1:9", "--input", "device:no-such-mic", "--talk-script", "0+1"}, 1,
       "no capture device matches 'no-such-mic'"},
      {"pair_no_code", {"--pair", "--camera", "127.0.0.1:9"}, 2, "--pair needs --camera HOST:PORT and --pairing-code CODE"},
      {"pair_and_unpair", {"--pair", "--unpair", "--camera", "127.0.0.1:9"}, 2, "--pair and --unpair cannot be combined"},
      {"unpair_whom", {"--unpair"}, 2, "--unpair needs either --camera-id ID or --camera HOST:PORT"},
      {"unpair_bad_id", {"--unpair", "--camera-id", "CAM-1"}, 2, "--camera-id: 'CAM-1' is not a camera id"},
      {"code_alone", {"--camera", "127.0.0.1:9", "--pairing-code", "12345678"}, 2, "--pairing-code goes with --pair"},
      {"pair_refused", {"--pair", "--camera", "127.0.0.1:9", "--pairing-code", "12345678", "--config-dir", (dir / "cfg").string()},
       1, "ptt-client: pairing failed: cannot connect to the camera's pairing port"},
      {"unpair_none", {"--unpair", "--camera-id", std::string(32, '0'), "--config-dir", (dir / "cfg").string()}, 1,
       "ptt-client: no pairing with camera 00000000000000000000000000000000 in " + (dir / "cfg" / "cameras").string()},
  };
  walk(PTTCAM_CLIENT_BIN, "ptt-client", {{"--speaker", "null"}}, rows);
  check_help(PTTCAM_CLIENT_BIN, "client");
}

TEST_CASE("ptt-client with a refused microphone: each talk attempt fails with the fix, exit 1") {
  const auto out = run({PTTCAM_CLIENT_BIN, "--camera", "127.0.0.1:9", "--input", "deny", "--speaker", "null",
                        "--talk-script", "0.1+0.2,0.4+0.1"},
                       "denied");
  CHECK(out.code == 1);
  const std::string message = "microphone access is denied for ptt-client: allow it in your system settings";
  std::size_t count = 0;
  for (auto at = out.output.find(message); at != std::string::npos; at = out.output.find(message, at + 1)) ++count;
  CHECK_MESSAGE(count == 2, out.output);
}

TEST_CASE("ptt-client to an address where no camera answers: one line naming it, exit 1, no hang") {
  const auto out = run({PTTCAM_CLIENT_BIN, "--camera", "127.0.0.1:9", "--input", "tone:300", "--speaker", "null",
                        "--keepalive-timeout", "1", "--talk-script", "0.2+5"},
                       "no_answer");
  CHECK(out.code == 1);
  CHECK_MESSAGE(out.output.find("ptt-client: no answer from the camera at 127.0.0.1:9 within 1.0 s") != std::string::npos,
                out.output);
  CHECK_MESSAGE(out.output.find("live view ended") == std::string::npos, out.output);  // it never started
}

TEST_CASE("camera-sim: exit 2 for usage errors, 1 for runtime failures, one line naming the option") {
  const std::vector<Row> rows{
      {"listen_bad", {"--listen", "1.2.3:5"}, 2, "--listen: bad address '1.2.3:5'"},
      {"listen_port", {"--listen", "127.0.0.1:70000"}, 2, "--listen: bad address '127.0.0.1:70000': port must be"},
      {"model", {"--model", "indoor-gen9"}, 2, "--model: unknown camera model 'indoor-gen9'"},
      {"mic_deny", {"--mic", "deny"}, 2, "--mic: deny is a client fault"},
      {"output_kind", {"--output", "foo"}, 2, "--output: bad audio output 'foo'"},
      {"reboot_at", {"--reboot-at", "5,3"}, 2, "--reboot-at: '5,3' is not increasing seconds"},
      {"redundancy", {"--redundancy", "3"}, 2, "--redundancy"},
      {"jitter_range", {"--jitter-min-ms", "50", "--jitter-max-ms", "10"}, 2,
       "--jitter-min-ms 50 is above --jitter-max-ms 10"},
      {"summary_dir", {"--summary", "/nonexistent/x.json"}, 1,
       "--summary /nonexistent/x.json: directory /nonexistent does not exist"},
      {"output_dir", {"--output", "wav:/nonexistent/dir/out.wav"}, 1,
       "--output /nonexistent/dir/out.wav: directory /nonexistent/dir does not exist"},
      {"mic_wav_missing", {"--mic", "wav:/nonexistent/mic.wav"}, 1, "--mic: cannot read audio file '/nonexistent/mic.wav'"},
      {"output_device", {"--output", "device:no-such-speaker"}, 1, "no playback device matches 'no-such-speaker'"},
      {"mic_device", {"--mic", "device:no-such-mic"}, 1, "no capture device matches 'no-such-mic'"},
      {"codecs_unknown", {"--rtsp", "127.0.0.1:0", "--backchannel-codecs", "pcmu,aac"}, 2,
       "--backchannel-codecs: unknown backchannel codec 'aac' (pcmu, pcma, l16, opus)"},
      {"codecs_twice", {"--rtsp", "127.0.0.1:0", "--backchannel-codecs", "pcmu,pcmu"}, 2,
       "--backchannel-codecs: backchannel codec 'pcmu' given twice"},
      {"codecs_no_rtsp", {"--backchannel-codecs", "pcmu"}, 2, "--backchannel-codecs and --quirk need --rtsp HOST:PORT"},
      {"quirk_unknown", {"--rtsp", "127.0.0.1:0", "--quirk", "loud"}, 2, "--quirk: unknown quirk 'loud'"},
      {"pairing_code_short", {"--pairing-code", "1234"}, 2, "--pairing-code: a pairing code has 6 to 64 characters"},
      {"state_dir_file", {"--state-dir", "/dev/null/state"}, 1,
       "--state-dir: /dev/null/state: cannot create the directory"},
  };
  walk(PTTCAM_CAMERA_BIN, "camera-sim", {{"--listen", "127.0.0.1:0"}, {"--output", "null"}, {"--mic", "none"}}, rows);
  check_help(PTTCAM_CAMERA_BIN, "camera");
}

TEST_CASE("net-impair: exit 2 for usage errors, 1 for runtime failures, one line naming the option") {
  const std::vector<Row> rows{
      {"to_missing", {"--listen", "127.0.0.1:0"}, 2, "--to is required"},
      {"to_port0", {"--listen", "127.0.0.1:0", "--to", "127.0.0.1:0"}, 2, "--to: needs a port from 1 to 65535"},
      {"to_any", {"--listen", "127.0.0.1:0", "--to", "0.0.0.0:5"}, 2, "--to: needs a concrete address"},
      {"seed", {"--listen", "127.0.0.1:0", "--to", "127.0.0.1:9", "--seed", "x"}, 2, "--seed: must be a whole number"},
      {"up", {"--listen", "127.0.0.1:0", "--to", "127.0.0.1:9", "--up", "loss=lots"}, 2, "--up: "},
      {"both", {"--listen", "127.0.0.1:0", "--to", "127.0.0.1:9", "--both", "loss=1", "--up", "loss=2"}, 2,
       "--both sets both directions"},
      {"summary_dir", {"--listen", "127.0.0.1:0", "--to", "127.0.0.1:9", "--summary", "/nonexistent/x.json"}, 1,
       "--summary /nonexistent/x.json: directory /nonexistent does not exist"},
      {"listen_busy", {"--listen", "8.8.8.8:9", "--to", "127.0.0.1:9"}, 1, "cannot listen on 8.8.8.8:9"},
  };
  walk(PTTCAM_IMPAIR_BIN, "net-impair", {}, rows);
  check_help(PTTCAM_IMPAIR_BIN, "impair");
}

TEST_CASE("pttcam-jack-io: exit 2 for usage errors, 1 for runtime failures, one line naming the option") {
  const std::vector<Row> rows{
      {"play_alone", {"--play", PTTCAM_SPEECH_WAV}, 2, "--play and --to go together"},
      {"record_from", {"--record", "x.wav"}, 2, "--record: give one for each --from"},
      {"seconds", {"--seconds", "0"}, 2, "--seconds"},
      {"key_script", {"--key-script", "1+2,2+1", "--keys-to", "fifo"}, 2, "--key-script: bad script item 2"},
      {"keys_alone", {"--keys-to", "fifo"}, 2, "--key-script and --keys-to go together"},
      {"info_dir", {"--info", "/nonexistent/x.json"}, 1,
       "--info /nonexistent/x.json: directory /nonexistent does not exist"},
      {"play_missing", {"--play", "/nonexistent/x.wav", "--to", "x"}, 1, "--play: cannot read audio file '/nonexistent/x.wav'"},
  };
  walk(PTTCAM_JACK_IO_BIN, "pttcam-jack-io", {}, rows);
  check_help(PTTCAM_JACK_IO_BIN, "jack_io");
}

TEST_CASE("scripts: --help prints the usage and exits 0; a usage error exits 2") {
  const std::string tools = PTTCAM_SOURCE_DIR "/tools/";
  for (const char* script : {"demo", "test", "setup", "with-jack", "run-scenario", "bench-impairment"}) {
    CAPTURE(script);
    const auto out = run({tools + script, "--help"}, std::string("script_") + script);
    CHECK_MESSAGE(out.code == 0, out.output);
    CHECK_MESSAGE(out.output.rfind("usage: tools/" + std::string(script), 0) == 0, out.output);
  }
  const auto seed = run({tools + "run-scenario", "good-wifi", "--seed"}, "script_seed");
  CHECK_MESSAGE(seed.code == 2, seed.output);
  CHECK_MESSAGE(seed.output.rfind("run-scenario: --seed needs a value\n", 0) == 0, seed.output);
  const auto bare = run({tools + "with-jack"}, "script_with_jack_bare");
  CHECK_MESSAGE(bare.code == 2, bare.output);
  const auto unknown = run({tools + "demo", "--fast"}, "script_demo_unknown");
  CHECK_MESSAGE(unknown.code == 2, unknown.output);
}
