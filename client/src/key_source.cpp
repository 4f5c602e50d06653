#include "pttcam/client/key_source.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace pttcam::client {

ScriptedKey::ScriptedKey(boost::asio::io_context& io, Client& client, std::vector<ptt::TalkWindow> windows,
                         std::function<void()> done)
    : client_(client), windows_(std::move(windows)), done_(std::move(done)), timer_(io) {}

void ScriptedKey::start() {
  origin_ = std::chrono::steady_clock::now();
  step(0, true);
}

void ScriptedKey::step(std::size_t index, bool press) {
  if (index >= windows_.size()) {
    done_();
    return;
  }
  const auto& w = windows_[index];
  const double at = press ? w.start : w.end();
  timer_.expires_at(origin_ + std::chrono::microseconds(static_cast<std::int64_t>(at * 1e6)));
  timer_.async_wait([this, index, press](const boost::system::error_code& ec) {
    if (ec) return;
    client_.set_talking(press);
    step(press ? index : index + 1, !press);
  });
}

StdinKey::StdinKey(boost::asio::io_context& io, Client& client, std::function<void()> done)
    : client_(client), done_(std::move(done)), in_(io) {}

StdinKey::~StdinKey() { stop(); }

void StdinKey::start() {
  struct stat st {};
  if (fstat(STDIN_FILENO, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
    throw std::runtime_error("--keys stdin: standard input must be a pipe or FIFO (lines 'down' and 'up')");
  in_.assign(dup(STDIN_FILENO));
  read();
}

void StdinKey::stop() {
  boost::system::error_code ec;
  if (in_.is_open()) in_.close(ec);
}

void StdinKey::read() {
  in_.async_read_some(boost::asio::buffer(buf_), [this](const boost::system::error_code& ec, std::size_t n) {
    if (ec == boost::asio::error::operation_aborted) return;
    if (ec) {  // end of input (the writer closed the pipe) or a read error: the same for the key
      apply(reader_.finish());
      stop();
      done_();
      return;
    }
    apply(reader_.feed(std::string_view(buf_.data(), n)));
    read();
  });
}

void StdinKey::apply(const KeyCommandReader::Result& r) {
  for (const KeyCommand c : r.commands) client_.set_talking(c == KeyCommand::down);
  constexpr std::uint64_t kReported = 5;
  const std::uint64_t before = reader_.rejected() - r.rejected.size();
  for (std::size_t k = 0; k < r.rejected.size() && before + k < kReported; ++k) {
    std::string shown = r.rejected[k];
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    std::fprintf(stderr, "ptt-client: --keys stdin: ignored line '%s' (expected 'down' or 'up')%s\n", shown.c_str(),
                 before + k + 1 == kReported ? "; further ones are only counted" : "");
  }
}

TerminalKey::TerminalKey(boost::asio::io_context& io, Client& client, bool toggle, AutoRepeatRelease::Config release,
                         std::function<void()> quit)
    : client_(client),
      toggle_(toggle),
      quit_(std::move(quit)),
      in_(io),
      release_timer_(io),
      tap_timer_(io),
      refresh_timer_(io),
      legacy_(release) {}

TerminalKey::~TerminalKey() { stop(); }

void TerminalKey::start() {
  if (!isatty(STDIN_FILENO))
    throw std::runtime_error("no talk key: standard input is not a terminal (use --talk-script for scripted talk)");
  tcgetattr(STDIN_FILENO, &saved_);
  termios raw = saved_;
  raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO | ISIG));
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  raw_ = true;
  // Ask for the kitty keyboard protocol's flags; a terminal that knows it answers CSI ? flags u.
  // Then push flags 1|2|8: disambiguate, report press/repeat/release, report all keys as codes
  // (the space bar's release is only reported with 8).
  std::fputs("\x1b[?u\x1b[>11u", stdout);
  std::fflush(stdout);
  in_.assign(dup(STDIN_FILENO));
  std::printf("%s, r for a new live view, q to quit.\r\n",
              toggle_ ? "Press SPACE to start talking and again to stop (toggle mode)" : "Hold SPACE to talk");
  client_.on_notice = [this](const std::string& line) { notice(line); };
  show();
  read();
  refresh();
}

void TerminalKey::stop() {
  boost::system::error_code ec;
  release_timer_.cancel();
  tap_timer_.cancel();
  refresh_timer_.cancel();
  if (in_.is_open()) in_.close(ec);
  if (raw_) {
    std::fputs("\x1b[<u\r\n", stdout);
    std::fflush(stdout);
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    raw_ = false;
  }
}

void TerminalKey::read() {
  in_.async_read_some(boost::asio::buffer(buf_), [this](const boost::system::error_code& ec, std::size_t n) {
    if (ec) {
      if (ec != boost::asio::error::operation_aborted) quit_();  // terminal closed
      return;
    }
    for (const KeyEvent e : decoder_.feed(std::string_view(buf_.data(), n))) on_event(e);
    read();
  });
}

void TerminalKey::on_event(KeyEvent e) {
  switch (e) {
    case KeyEvent::kitty_supported:
      kitty_ = true;
      say_release_mode();
      return;
    case KeyEvent::quit: quit_(); return;
    case KeyEvent::renew: client_.renew(); return;
    case KeyEvent::space_repeat: return;
    case KeyEvent::space_release:
      if (!toggle_) client_.set_talking(false);
      break;
    case KeyEvent::space_press:
      say_release_mode();
      if (toggle_) {
        // Legacy terminals repeat a held key; in toggle mode a repeat is not a tap.
        const auto tap = kitty_ ? AutoRepeatRelease::Tap::tap : legacy_.on_tap(timing::monotonic_us());
        if (tap == AutoRepeatRelease::Tap::tap) client_.set_talking(!client_.key_held());
        if (tap == AutoRepeatRelease::Tap::pending) arm_tap_timer();
        if (!kitty_) arm_release_timer();
      } else if (kitty_) {
        client_.set_talking(true);
      } else {
        legacy_.on_space(timing::monotonic_us());
        client_.set_talking(true);
        arm_release_timer();
      }
      break;
  }
  show();
}

void TerminalKey::arm_release_timer() {
  release_timer_.expires_after(std::chrono::microseconds(legacy_.deadline_us() - timing::monotonic_us()));
  release_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    if (legacy_.poll(timing::monotonic_us())) {
      if (!toggle_) client_.set_talking(false);
      show();
    } else if (legacy_.held()) {
      arm_release_timer();
    }
  });
}

// Says once how key release is detected, so a user whose words are cut knows why and what to set.
void TerminalKey::say_release_mode() {
  if (mode_said_) return;
  mode_said_ = true;
  char line[200];
  if (kitty_)
    std::snprintf(line, sizeof line, "key release: reported by the terminal (kitty keyboard protocol)");
  else
    std::snprintf(line, sizeof line,
                  "key release: guessed from auto-repeat (released %lld ms after a press without repeat, learnt from "
                  "your keyboard's delay; --release-ms to set it)",
                  static_cast<long long>(legacy_.first_repeat_us() / 1000));
  notice(line);
}

// A space that may have been a second tap: confirmed when no repeat follows it.
void TerminalKey::arm_tap_timer() {
  tap_timer_.expires_after(std::chrono::microseconds(legacy_.tap_due_us() - timing::monotonic_us()));
  tap_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !legacy_.poll_tap(timing::monotonic_us())) return;
    client_.set_talking(!client_.key_held());
    show();
  });
}

void TerminalKey::show() {
  const std::string status = client_.status_line(timing::monotonic_us());
  if (client_.sending())
    std::printf("\r\x1b[2K\x1b[1;37;41m  ● TALKING  \x1b[0m  %s  %s SPACE to stop", status.c_str(),
                toggle_ ? "press" : "release");
  else if (client_.key_held())
    std::printf("\r\x1b[2K\x1b[1;30;43m  ✕ NOT SENT \x1b[0m  %s", status.c_str());
  else
    std::printf("\r\x1b[2K\x1b[1;30;47m  ○ idle     \x1b[0m  %s  %s SPACE to talk, r new live view, q quit",
                status.c_str(), toggle_ ? "press" : "hold");
  std::fflush(stdout);
}

void TerminalKey::notice(const std::string& line) {
  std::printf("\r\x1b[2K%s\r\n", line.c_str());
  show();
}

void TerminalKey::refresh() {
  refresh_timer_.expires_after(std::chrono::milliseconds(250));
  refresh_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    show();
    refresh();
  });
}

}  // namespace pttcam::client
