#include "pttcam/client/rtsp_camera.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include <cstdlib>
#include <cstring>

#include "pttcam/rtsp/headers.hpp"
#include "pttcam/sdp/media_list.hpp"

namespace pttcam::client {

using boost::asio::ip::tcp;

namespace {

constexpr const char* kUserAgent = "pttcam ptt-client";
constexpr std::string_view kTeardown = "teardown";  // fail()'s reason when the session ended as asked

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

std::string with_slash(std::string s) {
  if (s.empty() || s.back() != '/') s += '/';
  return s;
}

}  // namespace

RtspCamera::RtspCamera(boost::asio::io_context& io, Options options, EventFn on_event)
    : io_(io),
      options_(std::move(options)),
      on_event_(std::move(on_event)),
      socket_(io),
      answer_timer_(io),
      keepalive_timer_(io) {}

RtspCamera::~RtspCamera() {
  closed_ = true;
  boost::system::error_code ec;
  socket_.close(ec);
}

net::Udp::endpoint RtspCamera::camera_address() const { return net::Udp::endpoint(peer_.address(), peer_.port()); }

void RtspCamera::fail(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  answer_timer_.cancel();
  keepalive_timer_.cancel();
  boost::system::error_code ec;
  socket_.close(ec);
  if (why != kTeardown) on_event_("rtsp_failed", {{"reason", why}});
  auto handler = std::move(on_error_);
  on_error_ = nullptr;
  if (handler) handler(why);
}

void RtspCamera::connect(Done done) {
  const auto& url = options_.url;
  boost::system::error_code ec;
  tcp::resolver resolver(io_);
  const auto found = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec) return done("cannot resolve " + url.host + ": " + ec.message());
  on_error_ = done;
  answer_timer_.expires_after(seconds(options_.answer_timeout_s));
  answer_timer_.async_wait([this](const boost::system::error_code& e) {
    if (!e) fail("no connection to " + options_.url.request_url() + " within " + std::to_string(int(options_.answer_timeout_s)) + " s");
  });
  boost::asio::async_connect(socket_, found, [this, done, conn = connection_](const boost::system::error_code& e,
                                                                              const tcp::endpoint& to) {
    if (closed_ || conn != connection_) return;
    answer_timer_.cancel();
    if (e) return fail("cannot connect to " + options_.url.request_url() + ": " + e.message());
    peer_ = to;
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    on_event_("rtsp_connected", {{"camera", net::to_string(camera_address())}});
    read();
    done("");
  });
}

void RtspCamera::describe(Done done) {
  connect([this, done](const std::string& error) {
    if (!error.empty()) return done(error);
    on_error_ = done;
    const auto url = options_.url.request_url();
    request("OPTIONS", url, {}, [this, done, url](const rtsp::Response& options) {
      public_methods_ = std::string(options.header("Public").value_or(""));
      if (options.status != 200 && options.status != 401) return fail(error_for("OPTIONS", options));
      request("DESCRIBE", url, {{"Accept", "application/sdp"}, {"Require", std::string(rtsp::kBackchannelTag)}},
              [this, done](const rtsp::Response& r) { on_described(r, true, done); });
    });
  });
}

// Forgets the connection and everything on it (a camera that hangs on one request may never
// answer another there); the handlers still pending on it return without a word.
void RtspCamera::drop_connection() {
  ++connection_;
  answer_timer_.cancel();
  boost::system::error_code ec;
  socket_.close(ec);
  parser_ = rtsp::StreamParser{kLimits, rtsp::StreamParser::Role::client};
  out_.clear();
  writing_ = false;
  queue_.clear();
  in_flight_.reset();
}

// The DESCRIBE with Require went unanswered (go2rtc issue #830's cameras): once more, on a new
// connection, without it. The camera's media are there; a backchannel is not (ONVIF offers one
// only to a client that requires it).
void RtspCamera::describe_without_require() {
  require_timed_out_ = true;
  on_event_("rtsp_describe_retry", {{"reason", "no answer with Require"}, {"timeout_s", options_.answer_timeout_s}});
  auto done = on_error_;
  drop_connection();
  connect([this, done](const std::string& error) {
    if (!error.empty()) return done(error);
    on_error_ = done;
    request("DESCRIBE", options_.url.request_url(), {{"Accept", "application/sdp"}},
            [this, done](const rtsp::Response& r) { on_described(r, false, done); });
  });
}

void RtspCamera::on_described(const rtsp::Response& r, bool with_require, Done done) {
  if (r.status == 551 && with_require) {
    // ONVIF §5.3: a camera without the backchannel refuses the option; its media are still there.
    refused_551_ = true;
    on_event_("rtsp_backchannel_refused", {{"status", r.status}, {"unsupported", r.header("Unsupported").value_or("")}});
    return request("DESCRIBE", options_.url.request_url(), {{"Accept", "application/sdp"}},
                   [this, done](const rtsp::Response& again) { on_described(again, false, done); });
  }
  if (r.status != 200) return fail(error_for("DESCRIBE", r));
  const auto parsed = sdp::parse_media_list(r.body);
  if (!parsed.list) return fail("the camera's SDP is not readable: " + parsed.error.message());
  std::string base(r.header("Content-Base").value_or(r.header("Content-Location").value_or(options_.url.request_url())));
  offer_ = read_offer(*parsed.list, base, options_.codec, options_.can_send, options_.can_play);
  if (refused_551_ && !offer_.backchannel)
    offer_.why_no_talk = "the camera has no audio backchannel: it answered 551 (Option not supported) to Require: " +
                         std::string(rtsp::kBackchannelTag);
  if (require_timed_out_ && !offer_.backchannel)
    offer_.why_no_talk = "the camera has no usable audio backchannel: it did not answer DESCRIBE with Require: " +
                         std::string(rtsp::kBackchannelTag) + " (answered without it)";
  on_event_("rtsp_described",
            {{"backchannel", offer_.backchannel ? offer_.backchannel->format.encoding : ""},
             {"backchannel_offered", offer_.offered},
             {"camera_audio", offer_.audio ? offer_.audio->format.encoding : ""},
             {"why_no_talk", offer_.why_no_talk},
             {"require_refused", refused_551_},
             {"require_timed_out", require_timed_out_}});
  on_error_ = nullptr;
  done("");
}

std::string RtspCamera::transport_for(std::uint16_t port, std::uint8_t channel) const {
  rtsp::Transport t;
  if (options_.transport == Transport::tcp) {
    t.lower = rtsp::Transport::Lower::tcp;
    t.interleaved = std::pair<std::uint8_t, std::uint8_t>{channel, static_cast<std::uint8_t>(channel + 1)};
  } else {
    t.client_port = rtsp::PortPair{port, static_cast<std::uint16_t>(port + 1)};
  }
  return rtsp::format_transport(t);
}

bool RtspCamera::take_session(const rtsp::Response& r) {
  const auto h = r.header("Session");
  if (!h) return !session_id_.empty();
  const auto s = rtsp::parse_session(*h);
  if (!s) return false;
  session_id_ = s->id;
  if (s->timeout_s && *s->timeout_s > 0) session_timeout_s_ = *s->timeout_s;
  return true;
}

void RtspCamera::play(std::uint16_t client_rtp_port, Done done) {
  if (closed_) return done("the connection to the camera is closed");
  on_error_ = done;
  if (offer_.audio) return setup_audio(client_rtp_port, done);
  setup_backchannel(client_rtp_port, done);
}

void RtspCamera::setup_audio(std::uint16_t port, Done done) {
  request("SETUP", offer_.audio->url, {{"Transport", transport_for(port, kAudioChannel)}},
          [this, port, done](const rtsp::Response& r) {
            if (r.status != 200) return fail(error_for("SETUP of the camera's audio", r));
            if (!take_session(r)) return fail("the camera's SETUP answer has no usable Session header");
            const auto answered = rtsp::parse_transports(r.header("Transport").value_or(""));
            if (!answered.empty() && answered.front().server_port)
              audio_rtcp_ = net::Udp::endpoint(peer_.address(), answered.front().server_port->rtcp);
            on_event_("rtsp_setup", {{"track", "camera_audio"}, {"transport", r.header("Transport").value_or("")}});
            setup_backchannel(port, done);
          });
}

void RtspCamera::setup_backchannel(std::uint16_t port, Done done) {
  if (!offer_.backchannel) return send_play(done);
  rtsp::Headers h{{"Transport", transport_for(port, kBackchannelChannel)},
                  {"Require", std::string(rtsp::kBackchannelTag)}};
  request("SETUP", offer_.backchannel->url, std::move(h), [this, done](const rtsp::Response& r) {
    if (r.status != 200) return fail(error_for("SETUP of the backchannel", r));
    if (!take_session(r)) return fail("the camera's SETUP answer has no usable Session header");
    const auto answered = rtsp::parse_transports(r.header("Transport").value_or(""));
    if (options_.transport == Transport::udp) {
      if (answered.empty() || !answered.front().server_port)
        return fail("the camera's SETUP answer for the backchannel gives no server_port");
      const auto ports = *answered.front().server_port;
      backchannel_rtp_ = net::Udp::endpoint(peer_.address(), ports.rtp);
      backchannel_rtcp_ = net::Udp::endpoint(peer_.address(), ports.rtcp);
    }
    on_event_("rtsp_setup", {{"track", "backchannel"}, {"transport", r.header("Transport").value_or("")}});
    send_play(done);
  });
}

void RtspCamera::send_play(Done done) {
  if (session_id_.empty()) return fail("nothing to play: the camera offers neither a backchannel nor audio this client plays");
  rtsp::Headers h;  // no Range: a live camera cannot seek, and some answer a Range with an error
  if (offer_.backchannel) h.emplace_back("Require", std::string(rtsp::kBackchannelTag));
  request("PLAY", with_slash(offer_.aggregate_url), std::move(h), [this, done](const rtsp::Response& r) {
    if (r.status != 200) return fail(error_for("PLAY", r));
    playing_ = true;
    on_event_("rtsp_playing", {{"session", session_id_}, {"timeout_s", session_timeout_s_}});
    on_error_ = [this](const std::string& why) {
      if (on_lost) on_lost(why);
    };
    keepalive();
    done("");
  });
}

// RFC 2326 §12.37: a session the client does not refresh within its timeout ends; a third of it
// leaves two tries before the camera gives up.
void RtspCamera::keepalive() {
  keepalive_timer_.expires_after(std::chrono::milliseconds(session_timeout_s_ * 1000 / 3));
  keepalive_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || closed_) return;
    ++counters_.keepalives;
    const bool get_parameter = public_methods_.find("GET_PARAMETER") != std::string::npos;
    request(get_parameter ? "GET_PARAMETER" : "OPTIONS", with_slash(offer_.aggregate_url), {},
            [this](const rtsp::Response& r) {
              if (r.status != 200) on_event_("rtsp_keepalive_refused", {{"status", r.status}});
              keepalive();
            });
  });
}

void RtspCamera::teardown(std::function<void()> done) {
  keepalive_timer_.cancel();
  if (closed_ || session_id_.empty()) {
    fail(std::string(kTeardown));
    return done();
  }
  on_error_ = [done](const std::string&) { done(); };
  request("TEARDOWN", with_slash(offer_.aggregate_url), {}, [this](const rtsp::Response& r) {
    on_event_("rtsp_teardown", {{"status", r.status}});
    session_id_.clear();
    fail(std::string(kTeardown));
  });
}

void RtspCamera::request(std::string method, std::string uri, rtsp::Headers headers,
                         std::function<void(const rtsp::Response&)> answered) {
  Pending p;
  p.request.method = std::move(method);
  p.request.uri = std::move(uri);
  p.request.headers = std::move(headers);
  p.answered = std::move(answered);
  queue_.push_back(std::move(p));
  if (!in_flight_) send_next();
}

// One request at a time: cameras answer in order, and an answer is matched by its CSeq.
void RtspCamera::send_next() {
  if (closed_ || in_flight_ || queue_.empty()) return;
  in_flight_ = std::move(queue_.front());
  queue_.pop_front();
  auto req = in_flight_->request;
  req.headers.insert(req.headers.begin(), {{"CSeq", std::to_string(++cseq_)}, {"User-Agent", kUserAgent}});
  // Every request in a session names it: an OPTIONS keepalive refreshes only the session it names.
  if (!session_id_.empty()) req.headers.emplace_back("Session", session_id_);
  if (challenge_ && !options_.url.user.empty()) {
    // Digest's uri is the request's own URL (what GStreamer and ffmpeg send too).
    req.headers.emplace_back("Authorization", rtsp::authorization(*challenge_, options_.url.user, options_.url.password,
                                                                   req.method, req.uri, ++nonce_count_, cnonce_));
  }
  ++counters_.requests;
  const double timeout_s = req.method == "TEARDOWN" ? std::min(1.0, options_.answer_timeout_s) : options_.answer_timeout_s;
  answer_timer_.expires_after(seconds(timeout_s));
  const bool required = req.header("Require").has_value();
  answer_timer_.async_wait([this, method = req.method, timeout_s, required](const boost::system::error_code& ec) {
    if (ec) return;
    if (method == "DESCRIBE" && required && !require_timed_out_ && !playing_) return describe_without_require();
    char seconds_text[16];
    std::snprintf(seconds_text, sizeof seconds_text, "%g", timeout_s);
    // Some cameras hang on the backchannel's Require instead of answering 551 (go2rtc #830).
    fail("the camera did not answer " + method + (required ? " with Require: " + std::string(rtsp::kBackchannelTag) : "") +
         " within " + seconds_text + " s" + (required ? " (a camera without the backchannel should answer 551)" : ""));
  });
  write(rtsp::write_request(req));
}

void RtspCamera::write(std::string bytes) {
  if (closed_) return;
  out_.push_back(std::move(bytes));
  if (!writing_) write_next();
}

void RtspCamera::write_next() {
  if (out_.empty() || closed_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  boost::asio::async_write(socket_, boost::asio::buffer(out_.front()), [this, conn = connection_](const boost::system::error_code& ec,
                                                                                                  std::size_t) {
    if (closed_ || conn != connection_) return;
    out_.pop_front();
    if (ec) return fail("the connection to the camera failed: " + ec.message());
    write_next();
  });
}

void RtspCamera::read() {
  socket_.async_read_some(boost::asio::buffer(read_buf_), [this, conn = connection_](const boost::system::error_code& ec,
                                                                                      std::size_t n) {
    if (closed_ || conn != connection_) return;
    if (ec) return fail(ec == boost::asio::error::eof ? "the camera closed the connection" : "the connection to the camera failed: " + ec.message());
    parser_.feed(std::span<const std::byte>(read_buf_.data(), n));
    for (;;) {
      auto item = parser_.next();
      using K = rtsp::StreamParser::Kind;
      if (item.kind == K::need_more) break;
      if (item.kind == K::error) return fail(std::string("the camera sent what is not RTSP (") + rtsp::to_string(item.error) + ")");
      if (item.kind == K::interleaved) {
        ++counters_.interleaved_in;
        if (on_interleaved) on_interleaved(item.frame.channel, item.frame.payload);
      } else if (item.kind == K::request) {
        on_camera_request(item.request);
      } else {
        on_response(item.response);
      }
      if (closed_ || conn != connection_) return;
    }
    read();
  });
}

// A camera may ask (ANNOUNCE, GET_PARAMETER, SET_PARAMETER): only camera-sim's live-view warning
// is understood; the rest is answered 501.
void RtspCamera::on_camera_request(const rtsp::Request& req) {
  ++counters_.server_requests;
  rtsp::Response r;
  r.status = 501;
  if (req.method == "SET_PARAMETER") {
    constexpr std::string_view kName = "pttcam-live-view-remaining:";
    const auto at = req.body.find(kName);
    char* end = nullptr;
    const double remaining_s = at == std::string::npos ? -1 : std::strtod(req.body.c_str() + at + kName.size(), &end);
    r.status = remaining_s >= 0 && end && end != req.body.c_str() + at + kName.size() ? 200 : 451;
    if (r.status == 200) {
      ++counters_.warnings;
      on_event_("rtsp_live_view_warning", {{"remaining_s", remaining_s}});
      if (on_warning) on_warning(remaining_s);
    }
  }
  write(rtsp::write_response(r, req.cseq()));
}

void RtspCamera::on_response(const rtsp::Response& r) {
  if (!in_flight_ || r.cseq() != cseq_) return;  // late or unasked: dropped
  answer_timer_.cancel();
  auto p = std::move(*in_flight_);
  in_flight_.reset();
  if (r.status == 401 && answer_challenge(p, r)) {
    ++counters_.auth_retries;
    queue_.push_front(std::move(p));
    return send_next();
  }
  p.answered(r);
  send_next();
}

// A 401: retry once with the credentials of the URL (and again whenever the nonce was only stale).
bool RtspCamera::answer_challenge(Pending& p, const rtsp::Response& r) {
  if (options_.url.user.empty()) return false;
  const auto c = rtsp::pick_challenge(r.header_all("WWW-Authenticate"));
  if (!c || (p.retried_auth && !c->stale)) return false;
  challenge_ = c;
  nonce_count_ = 0;
  cnonce_ = rtsp::random_nonce();
  p.retried_auth = true;
  return true;
}

std::string RtspCamera::error_for(const std::string& method, const rtsp::Response& r) const {
  if (r.status == 401) {
    if (options_.url.user.empty()) return "the camera wants a user and password (rtsp://USER:PASSWORD@host/...)";
    if (!rtsp::pick_challenge(r.header_all("WWW-Authenticate")))
      return "the camera asks for an authentication this client does not do (only Digest MD5/SHA-256)";
    return "the camera refused the user name or password (401 Unauthorized)";
  }
  return "the camera answered " + method + " with " + std::to_string(r.status) + " " +
         (r.reason.empty() ? rtsp::reason_phrase(r.status) : r.reason);
}

void RtspCamera::send_interleaved(std::uint8_t channel, std::span<const std::byte> datagram) {
  if (closed_ || datagram.size() > 0xffff) return;
  std::string f(4 + datagram.size(), '\0');
  f[0] = '$';
  f[1] = static_cast<char>(channel);
  f[2] = static_cast<char>(datagram.size() >> 8);
  f[3] = static_cast<char>(datagram.size() & 0xff);
  std::memcpy(f.data() + 4, datagram.data(), datagram.size());
  ++counters_.interleaved_out;
  write(std::move(f));
}

nlohmann::json RtspCamera::summary() const {
  const auto& c = counters_;
  return {{"url", options_.url.request_url()},
          {"transport", options_.transport == Transport::tcp ? "tcp" : "udp"},
          {"backchannel", offer_.backchannel ? offer_.backchannel->format.encoding : ""},
          {"backchannel_payload_type", offer_.backchannel ? offer_.backchannel->format.payload_type : -1},
          {"camera_audio", offer_.audio ? offer_.audio->format.encoding : ""},
          {"require_refused", refused_551_},
          {"require_timed_out", require_timed_out_},
          {"requests", c.requests},
          {"auth_retries", c.auth_retries},
          {"keepalives", c.keepalives},
          {"interleaved_in", c.interleaved_in},
          {"interleaved_out", c.interleaved_out},
          {"camera_requests", c.server_requests},
          {"live_view_warnings", c.warnings}};
}

}  // namespace pttcam::client
