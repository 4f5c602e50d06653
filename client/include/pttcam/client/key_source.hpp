#pragma once
// Who holds the talk key: a script (QA, tests, demo), another program through a pipe (the
// latency benchmark) or a person at a terminal.
#include <functional>
#include <memory>
#include <vector>

#include <termios.h>

#include "pttcam/client/client.hpp"
#include "pttcam/client/key_commands.hpp"
#include "pttcam/client/key_decoder.hpp"
#include "pttcam/ptt/talk_script.hpp"

namespace pttcam::client {

// Presses and releases the key on schedule (seconds from Client::start), then calls `done`.
class ScriptedKey {
 public:
  ScriptedKey(boost::asio::io_context& io, Client& client, std::vector<ptt::TalkWindow> windows,
              std::function<void()> done);
  void start();

 private:
  void step(std::size_t index, bool press);
  Client& client_;
  std::vector<ptt::TalkWindow> windows_;
  std::function<void()> done_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point origin_;
};

// Presses and releases the key as lines "down" / "up" arrive on standard input, which must be a
// pipe or FIFO (KeyCommandReader); the end of the input calls `done`. A line that is neither is
// counted and reported on stderr (the first few), and changes nothing. Runs on the io thread.
class StdinKey {
 public:
  StdinKey(boost::asio::io_context& io, Client& client, std::function<void()> done);
  ~StdinKey();
  void start();  // throws if standard input is not a pipe
  void stop();
  const KeyCommandReader& reader() const noexcept { return reader_; }

 private:
  void read();
  void apply(const KeyCommandReader::Result& r);
  Client& client_;
  std::function<void()> done_;
  boost::asio::posix::stream_descriptor in_;
  KeyCommandReader reader_;
  std::array<char, 256> buf_{};
};

// Hold SPACE to talk (or press to toggle with `toggle`), q to quit. Uses the kitty keyboard
// protocol's release events where the terminal answers its query, else auto-repeat timing
// (`release`: its wait for the first repeat, learnt from the terminal unless set by --release-ms).
class TerminalKey {
 public:
  TerminalKey(boost::asio::io_context& io, Client& client, bool toggle, AutoRepeatRelease::Config release,
              std::function<void()> quit);
  ~TerminalKey();  // restores the terminal
  void start();
  void stop();

 private:
  void read();
  void on_event(KeyEvent e);
  void arm_release_timer();
  void arm_tap_timer();
  void show();
  void notice(const std::string& line);
  void say_release_mode();
  void refresh();  // redraws the status line (countdown) four times a second

  Client& client_;
  bool toggle_;
  std::function<void()> quit_;
  boost::asio::posix::stream_descriptor in_;
  boost::asio::steady_timer release_timer_;
  boost::asio::steady_timer tap_timer_;
  boost::asio::steady_timer refresh_timer_;
  KeyDecoder decoder_;
  AutoRepeatRelease legacy_;
  bool kitty_ = false;
  bool mode_said_ = false;
  bool raw_ = false;
  termios saved_{};
  std::array<char, 256> buf_{};
};

}  // namespace pttcam::client
