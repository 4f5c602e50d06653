// Bad input gets one clear line and a non-zero exit, never a hang.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>

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

}  // namespace

TEST_CASE("ptt-client rejects bad input with one clear line") {
  struct Case {
    const char* name;
    std::vector<std::string> args;
    const char* message;
  };
  const std::vector<Case> cases{
      {"missing_wav", {"--input", "wav:/nonexistent/speech.wav"}, "cannot read audio file '/nonexistent/speech.wav'"},
      {"unknown_device", {"--input", "device:no-such-mic"}, "no capture device matches 'no-such-mic'"},
      {"bad_input_kind", {"--input", "radio:1"}, "bad --input 'radio:1'"},
      {"bad_script", {"--input", "tone:440", "--talk-script", "1+2,2+1"}, "starts before the previous press ends"},
      {"bad_frame", {"--input", "tone:440", "--frame-ms", "7", "--talk-script", "0+1"}, "frame size 7 ms"},
      {"bad_camera", {"--camera", "nowhere"}, "bad address 'nowhere'"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    std::vector<std::string> args{PTTCAM_CLIENT_BIN, "--speaker", "null"};
    if (std::string(c.name) != "bad_camera") args.insert(args.end(), {"--camera", "127.0.0.1:9"});
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto out = run(args, c.name);
    CHECK(out.code != 0);
    CHECK_MESSAGE(out.output.find(c.message) != std::string::npos, out.output);
    // One line: the error and nothing else (no ALSA noise, no stack of messages).
    CHECK_MESSAGE(std::count(out.output.begin(), out.output.end(), '\n') == 1, out.output);
  }
}

TEST_CASE("ptt-client with a refused microphone: each talk attempt fails with the fix, exit non-zero") {
  const auto out = run({PTTCAM_CLIENT_BIN, "--camera", "127.0.0.1:9", "--input", "deny", "--speaker", "null",
                        "--talk-script", "0.1+0.2,0.4+0.1"},
                       "denied");
  CHECK(out.code == 1);
  const std::string message = "microphone access is denied for ptt-client: allow it in your system settings";
  std::size_t count = 0;
  for (auto at = out.output.find(message); at != std::string::npos; at = out.output.find(message, at + 1)) ++count;
  CHECK_MESSAGE(count == 2, out.output);
}

TEST_CASE("camera-sim rejects bad input with one clear line") {
  const std::vector<std::pair<std::vector<std::string>, const char*>> cases{
      {{"--output", "device:no-such-speaker"}, "no playback device matches 'no-such-speaker'"},
      {{"--output", "wav:/nonexistent/dir/out.wav"}, "cannot write WAV file"},
      {{"--listen", "1.2.3:5"}, "bad address '1.2.3:5'"},
      {{"--listen", "127.0.0.1:70000"}, "port must be a number"},
      {{"--model", "indoor-gen9"}, "unknown camera model 'indoor-gen9'"},
      {{"--mic", "device:no-such-mic"}, "no capture device matches 'no-such-mic'"},
      {{"--reboot-at", "5,3"}, "bad --reboot-at '5,3'"},
  };
  int i = 0;
  for (const auto& [args, message] : cases) {
    std::vector<std::string> full{PTTCAM_CAMERA_BIN};
    full.insert(full.end(), args.begin(), args.end());
    // Everything else valid, so the error is the one under test.
    for (const char* opt : {"--output", "--mic"})
      if (std::find(args.begin(), args.end(), opt) == args.end()) full.insert(full.end(), {opt, opt == std::string("--mic") ? "none" : "null"});
    const auto out = run(full, "camera" + std::to_string(i++));
    CHECK(out.code != 0);
    CHECK_MESSAGE(out.output.find(message) != std::string::npos, out.output);
    CHECK_MESSAGE(std::count(out.output.begin(), out.output.end(), '\n') == 1, out.output);
  }
}
