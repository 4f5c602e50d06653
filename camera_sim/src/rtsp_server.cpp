#include "pttcam/camera/rtsp_server.hpp"

#include <boost/asio/write.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <random>
#include <stdexcept>
#include <vector>

#include "pttcam/net/listen.hpp"
#include "pttcam/rtp/packet.hpp"
#include "pttcam/rtp/rtcp.hpp"
#include "pttcam/rtsp/headers.hpp"
#include "pttcam/rtsp/parser.hpp"

namespace pttcam::camera {

using boost::asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr std::uint8_t kPayloadType = 111;  // Opus, as media::Receiver and media::Sender use it
constexpr std::uint8_t kL16PayloadType = 97;
constexpr std::size_t kMaxQueuedBytes = 256 * 1024;  // a TCP client this far behind loses microphone packets
// The live-view warning's parameter (SET_PARAMETER, text/parameters): seconds left before the cap.
constexpr std::string_view kWarningParameter = "pttcam-live-view-remaining";
constexpr const char* kPublic = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

enum class Track { none, aggregate, microphone, backchannel };

// The path of an rtsp:// URL ("/live/track1"), without a trailing slash; "*" stays "*".
std::string path_of(std::string_view uri) {
  if (uri == "*") return "*";
  const auto scheme = uri.find("://");
  if (scheme != std::string_view::npos) {
    const auto slash = uri.find('/', scheme + 3);
    uri = slash == std::string_view::npos ? std::string_view("/") : uri.substr(slash);
  }
  uri = uri.substr(0, uri.find('?'));
  while (uri.size() > 1 && uri.back() == '/') uri.remove_suffix(1);
  return std::string(uri);
}

Track track_of(std::string_view uri) {
  const auto path = path_of(uri);
  if (path == "/live") return Track::aggregate;
  if (path == "/live/track1") return Track::microphone;
  if (path == "/live/track2") return Track::backchannel;
  return Track::none;
}

const char* to_string(Track t) {
  switch (t) {
    case Track::microphone: return "microphone";
    case Track::backchannel: return "backchannel";
    case Track::aggregate: return "aggregate";
    case Track::none: break;
  }
  return "none";
}

// The backchannel's media description: every codec offered, in preference order.
std::string backchannel_media(const std::vector<BackchannelCodec>& codecs) {
  std::string m = "m=audio 0 RTP/AVP";
  std::string maps;
  for (const auto& codec : codecs) {
    m += " " + std::to_string(codec.payload_type);
    maps += "a=rtpmap:" + std::to_string(codec.payload_type) + " " + codec.rtpmap() + "\r\n";
  }
  return m + "\r\n" + maps;
}

std::string random_hex(int bytes) {
  std::random_device rd;
  std::string s;
  char buf[3];
  for (int i = 0; i < bytes; ++i) {
    std::snprintf(buf, sizeof buf, "%02X", static_cast<unsigned>(rd() & 0xff));
    s += buf;
  }
  return s;
}

}  // namespace

std::string BackchannelCodec::rtpmap() const {
  switch (kind) {
    case Kind::pcmu: return "PCMU/" + std::to_string(clock_rate);
    case Kind::pcma: return "PCMA/" + std::to_string(clock_rate);
    case Kind::l16: return "L16/" + std::to_string(clock_rate);
    case Kind::opus: return "opus/48000/2";
  }
  return "";
}

const char* BackchannelCodec::name() const noexcept {
  switch (kind) {
    case Kind::pcmu: return "pcmu";
    case Kind::pcma: return "pcma";
    case Kind::l16: return "l16";
    case Kind::opus: return "opus";
  }
  return "?";
}

void add_quirks(RtspQuirks& q, std::string_view names) {
  while (!names.empty()) {
    const auto comma = names.find(',');
    const auto name = names.substr(0, comma);
    names = comma == std::string_view::npos ? std::string_view() : names.substr(comma + 1);
    if (name == "drop-first-second") q.drop_first_second = true;
    else if (name == "no-backchannel") q.no_backchannel = true;
    else if (name == "g711-only") q.g711_only = true;
    else if (name == "l16-swapped") q.l16_swapped = true;
    else if (name == "describe-require-timeout") q.describe_require_timeout = true;
    else if (name == "line-busy") q.line_busy = true;
    else if (name == "playout-delay") q.added_delay_ms = 2000;
    else
      throw std::invalid_argument("unknown quirk '" + std::string(name) +
                                  "' (drop-first-second, no-backchannel, g711-only, l16-swapped, "
                                  "describe-require-timeout, line-busy, playout-delay)");
  }
}

std::vector<BackchannelCodec> parse_backchannel_codecs(std::string_view list) {
  using Kind = BackchannelCodec::Kind;
  std::vector<BackchannelCodec> codecs;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto name = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    BackchannelCodec c;
    if (name == "pcmu") c = {Kind::pcmu, 0, 8000};
    else if (name == "pcma") c = {Kind::pcma, 8, 8000};
    else if (name == "l16") c = {Kind::l16, kL16PayloadType, 16000};
    else if (name == "opus") c = {Kind::opus, kPayloadType, 48000};
    else throw std::invalid_argument("unknown backchannel codec '" + std::string(name) + "' (pcmu, pcma, l16, opus)");
    for (const auto& seen : codecs)
      if (seen.kind == c.kind) throw std::invalid_argument("backchannel codec '" + std::string(name) + "' given twice");
    codecs.push_back(c);
  }
  if (codecs.empty()) throw std::invalid_argument("no backchannel codec given (pcmu, pcma, l16, opus)");
  return codecs;
}

struct RtspServer::Connection {
  explicit Connection(boost::asio::io_context& io) : socket(io) {}
  std::uint64_t id = 0;
  tcp::socket socket;
  std::string peer;
  net::Udp::endpoint peer_udp;  // how interleaved talk audio is labelled for the receiver
  std::array<std::byte, 4096> buffer{};
  // It reads the answers to the camera's own requests too (the live-view warning).
  rtsp::StreamParser parser{rtsp::Limits{}, rtsp::StreamParser::Role::server_that_asks};
  std::uint32_t cseq = 0;  // of the camera's own requests on this connection
  std::deque<std::string> queue;  // responses and interleaved frames, in order
  std::size_t queued_bytes = 0;
  bool writing = false;
  bool closed = false;
  std::int64_t last_request_us = 0;
  int auth_failures = 0;
  bool draining = false;  // answered for the last time (see finish())
};

struct RtspServer::Session {
  struct Media {
    bool setup = false;
    rtsp::Transport transport;
    net::Udp::endpoint rtp_to;  // UDP: the client's RTP port
  };
  std::string id;
  std::uint64_t connection = 0;  // the connection that made it (interleaved media use it)
  bool playing = false;
  std::int64_t opened_us = 0;
  std::int64_t last_seen_us = 0;
  bool warned = false;  // of the live-view cap
  Media microphone;
  Media backchannel;
};

RtspServer::RtspServer(boost::asio::io_context& io, RtspOptions options, Offer offer, const timing::Clock& clock,
                       measure::EventLog& events, RtspHooks hooks)
    : io_(io),
      options_(std::move(options)),
      offer_(offer),
      clock_(clock),
      events_(events),
      hooks_(std::move(hooks)),
      acceptor_(io),
      rtp_socket_(io),
      rtcp_socket_(io),
      sweep_timer_(io),
      sdp_session_id_(std::random_device{}()) {
  if (!options_.user.empty())
    auth_.emplace(rtsp::DigestAuth::Options{.realm = "pttcam camera-sim", .user = options_.user, .password = options_.password});
  net::listen(acceptor_, options_.listen, "RTSP");
  // RTP on an even port and RTCP on the next (RFC 3550 §11), both on the RTSP address.
  const auto address = options_.listen.address();
  boost::system::error_code ec;
  for (int attempt = 0; attempt < 50; ++attempt) {
    rtp_socket_ = net::Udp::socket(io);
    rtcp_socket_ = net::Udp::socket(io);
    rtp_socket_.open(address.is_v6() ? net::Udp::v6() : net::Udp::v4());
    rtp_socket_.bind(net::Udp::endpoint(address, 0), ec);
    if (ec) break;
    const auto port = rtp_socket_.local_endpoint().port();
    if (port % 2 != 0 || port == 65534) continue;
    rtcp_socket_.open(address.is_v6() ? net::Udp::v6() : net::Udp::v4());
    rtcp_socket_.bind(net::Udp::endpoint(address, static_cast<std::uint16_t>(port + 1)), ec);
    if (!ec) return;
  }
  throw std::runtime_error("cannot bind an RTP/RTCP port pair for RTSP on " + address.to_string() +
                           (ec ? ": " + ec.message() : ""));
}

RtspServer::~RtspServer() = default;

tcp::endpoint RtspServer::local_endpoint() const { return acceptor_.local_endpoint(); }
bool RtspServer::wants_microphone() const noexcept { return wants_microphone_; }

void RtspServer::start() {
  running_ = true;
  accept();
  receive_udp();
  receive_rtcp();
  sweep_timer_.expires_after(1s);
  sweep();
  events_.write("rtsp_listen", {{"url", "rtsp://" + local_endpoint().address().to_string() + ":" +
                                            std::to_string(local_endpoint().port()) + "/live"},
                                {"rtp_port", rtp_socket_.local_endpoint().port()},
                                {"auth", auth_ ? "digest" : "none"},
                                {"backchannel", offer_.backchannel},
                                {"microphone", offer_.microphone}});
}

void RtspServer::stop() {
  if (!running_) return;
  drop_all("shutdown");
  running_ = false;
  boost::system::error_code ec;
  acceptor_.close(ec);
  rtp_socket_.close(ec);
  rtcp_socket_.close(ec);
  sweep_timer_.cancel();
}

void RtspServer::drop_all(const std::string& reason) {
  std::vector<std::string> ids;
  for (const auto& [id, s] : sessions_) ids.push_back(id);
  for (const auto& id : ids) end_session(id, reason);
  const auto conns = connections_;
  for (const auto& [id, c] : conns) close(c, reason);
}

void RtspServer::accept() {
  auto c = std::make_shared<Connection>(io_);
  acceptor_.async_accept(c->socket, [this, c](const boost::system::error_code& ec) {
    if (!running_) return;
    if (!ec) {
      boost::system::error_code e2;
      const auto peer = c->socket.remote_endpoint(e2);
      if (!online_) {
        ++counters_.refused_booting;  // booting: nothing answers
        c->socket.close(e2);
      } else if (connections_.size() >= options_.max_connections || e2) {
        ++counters_.connections_refused;
        events_.write("rtsp_connection_refused", {{"reason", e2 ? e2.message() : "too many connections"}});
        c->socket.close(e2);
      } else {
        c->id = next_connection_id_++;
        c->peer = peer.address().to_string() + ":" + std::to_string(peer.port());
        c->peer_udp = net::Udp::endpoint(peer.address(), peer.port());
        c->last_request_us = clock_.now_us();
        c->socket.set_option(tcp::no_delay(true), e2);
        connections_[c->id] = c;
        ++counters_.connections;
        events_.write("rtsp_connect", {{"peer", c->peer}, {"connection", c->id}});
        read(c);
      }
    }
    accept();
  });
}

void RtspServer::read(const std::shared_ptr<Connection>& c) {
  c->socket.async_read_some(boost::asio::buffer(c->buffer), [this, c](const boost::system::error_code& ec, std::size_t n) {
    if (!running_ || c->closed) return;
    if (ec) {
      close(c, ec == boost::asio::error::eof ? "peer_closed" : ec.message());
      return;
    }
    on_bytes(c, n);
    if (!c->closed) read(c);
  });
}

// Answered and done: what the client still sends is read and dropped, and once the answer is
// written the connection half-closes; it ends when the client closes (or goes idle). Closing at
// once with unread input would reset the connection and could lose the answer.
void RtspServer::finish(const std::shared_ptr<Connection>& c) {
  c->draining = true;
  if (!c->writing) write_next(c);
}

void RtspServer::on_bytes(const std::shared_ptr<Connection>& c, std::size_t n) {
  if (c->draining) return;
  c->parser.feed(std::span<const std::byte>(c->buffer.data(), n));
  while (!c->closed && !c->draining) {
    auto item = c->parser.next();
    using K = rtsp::StreamParser::Kind;
    if (item.kind == K::need_more) return;
    if (item.kind == K::error) {
      ++counters_.bad_requests;
      const int status = rtsp::status_for(item.error);
      events_.write("rtsp_bad_request", {{"peer", c->peer}, {"error", rtsp::to_string(item.error)}, {"status", status}});
      rtsp::Response r;
      r.status = status;
      send(c, rtsp::write_response(r, std::nullopt));
      // Nothing after a framing error can be trusted: answer, then end the connection.
      finish(c);
      return;
    }
    if (item.kind == K::interleaved) {
      // Talk audio on the channel a PLAYing backchannel of this connection was given; RTCP on
      // the odd channels is read and dropped.
      bool used = false;
      for (auto& [id, s] : sessions_) {
        if (s->connection != c->id || !s->backchannel.setup || !s->backchannel.transport.interleaved) continue;
        const auto [rtp_ch, rtcp_ch] = *s->backchannel.transport.interleaved;
        if (item.frame.channel == rtp_ch) {
          on_backchannel(item.frame.payload, c->peer_udp, *s);
          used = true;
        } else if (item.frame.channel == rtcp_ch) {
          ++counters_.rtcp_received;
          s->last_seen_us = clock_.now_us();
          used = true;
        }
        break;
      }
      if (!used) {
        for (auto& [id, s] : sessions_)
          if (s->connection == c->id && s->microphone.transport.interleaved &&
              item.frame.channel == s->microphone.transport.interleaved->second) {
            ++counters_.rtcp_received;  // receiver reports about the microphone track
            s->last_seen_us = clock_.now_us();
            used = true;
          }
      }
      if (!used) ++counters_.backchannel_dropped;
      continue;
    }
    if (item.kind == K::response) {  // to the camera's warning: whatever it says, nothing follows
      ++counters_.warning_answers;
      continue;
    }
    c->last_request_us = clock_.now_us();
    handle(c, item.request);
  }
}

void RtspServer::on_backchannel(std::span<const std::byte> rtp, const net::Udp::endpoint& from, Session& s) {
  const std::int64_t now = clock_.now_us();
  s.last_seen_us = now;
  if (!s.playing) {
    ++counters_.backchannel_dropped;
    return;
  }
  if (rtp.size() >= 12 && !rtp::is_rtcp(rtp)) {
    const auto payload_type = static_cast<std::uint8_t>(std::to_integer<unsigned>(rtp[1]) & 0x7FU);
    const auto offered = std::find_if(options_.backchannel_codecs.begin(), options_.backchannel_codecs.end(),
                                      [&](const auto& c) { return c.payload_type == payload_type; });
    if (offered == options_.backchannel_codecs.end()) {
      ++counters_.backchannel_wrong_codec;
      return;
    }
    if (options_.quirks.drop_first_second && now - floor_since_us_ < 1'000'000) {
      ++counters_.backchannel_quirk_dropped;
      return;
    }
    if (options_.quirks.l16_swapped && offered->kind == BackchannelCodec::Kind::l16) rtp = swap_samples(rtp);
  }
  ++counters_.backchannel_packets;
  if (hooks_.backchannel_rtp) hooks_.backchannel_rtp(rtp, from);
}

// The l16_swapped quirk: the payload's 16-bit samples with their bytes exchanged, as a camera that
// reads network-order L16 as little-endian plays them.
std::span<const std::byte> RtspServer::swap_samples(std::span<const std::byte> rtp) {
  const std::size_t n = std::min(rtp.size(), swapped_.size());
  std::copy_n(rtp.begin(), n, swapped_.begin());
  const std::size_t header = 12 + 4 * (std::to_integer<std::size_t>(rtp[0]) & 0x0FU);
  std::size_t start = header;
  if ((std::to_integer<unsigned>(rtp[0]) & 0x10U) && n >= header + 4)  // extension: its length in words
    start += 4 + 4 * ((std::to_integer<std::size_t>(rtp[header + 2]) << 8) | std::to_integer<std::size_t>(rtp[header + 3]));
  for (std::size_t i = start; i + 1 < n; i += 2) std::swap(swapped_[i], swapped_[i + 1]);
  return {swapped_.data(), n};
}

void RtspServer::handle(const std::shared_ptr<Connection>& c, const rtsp::Request& req) {
  ++counters_.requests;
  const auto cseq = req.cseq();
  const std::int64_t now = clock_.now_us();
  rtsp::Response resp;
  std::string session_note;
  const auto answer = [&](int status) {
    resp.status = status;
    if (status >= 400) ++counters_.errors_answered;
    resp.add("Server", "pttcam camera-sim");
    events_.write("rtsp_request", {{"peer", c->peer}, {"method", req.method}, {"uri", req.uri}, {"status", status}});
    send(c, rtsp::write_response(resp, cseq));
  };
  if (!cseq) return answer(400);  // RFC 2326 §12.17: every request carries one

  // Authentication first (OPTIONS is answered without it, as cameras do: clients probe with it).
  if (auth_ && req.method != "OPTIONS") {
    const auto verdict = auth_->verify(req.header("Authorization"), req.method, req.uri, now);
    if (verdict != rtsp::DigestAuth::Verdict::ok) {
      const bool stale = verdict == rtsp::DigestAuth::Verdict::stale_nonce;
      if (verdict != rtsp::DigestAuth::Verdict::missing && !stale) {
        ++counters_.auth_failures;
        ++c->auth_failures;
        events_.write("rtsp_auth_failed", {{"peer", c->peer}, {"reason", rtsp::to_string(verdict)}});
      }
      for (auto& v : auth_->challenge(now, stale)) resp.add("WWW-Authenticate", std::move(v));
      answer(401);
      // Guessing passwords costs a connection every max_auth_failures tries.
      if (c->auth_failures >= options_.max_auth_failures) finish(c);
      return;
    }
  }

  // Require (RFC 2326 §12.32): only the ONVIF backchannel, and only with a speaker to play it.
  const auto required = req.header_list("Require");
  std::vector<std::string_view> supported;
  if (offer_.backchannel) supported.push_back(rtsp::kBackchannelTag);
  if (const auto unsupported = rtsp::unsupported_options(required, supported); !unsupported.empty()) {
    std::string list;
    for (const auto& u : unsupported) list += (list.empty() ? "" : ", ") + u;
    resp.add("Unsupported", list);
    return answer(551);
  }
  const bool wants_backchannel = !required.empty();

  Session* session = nullptr;
  if (const auto h = req.header("Session")) {
    const auto parsed = rtsp::parse_session(*h);
    const auto it = parsed ? sessions_.find(parsed->id) : sessions_.end();
    if (it == sessions_.end()) return answer(454);
    session = it->second.get();
    session->last_seen_us = now;
    resp.add("Session", rtsp::format_session({session->id, options_.session_timeout_s}));
  }
  const Track track = track_of(req.uri);

  if (req.method == "OPTIONS") {
    resp.add("Public", kPublic);
    return answer(200);
  }
  if (req.method == "GET_PARAMETER" || req.method == "SET_PARAMETER") return answer(200);  // keepalive
  if (req.method == "DESCRIBE") {
    if (track != Track::aggregate) return answer(404);
    if (wants_backchannel && options_.quirks.describe_require_timeout) {
      ++counters_.describes_ignored;  // never answered: the client waits for its own timeout
      events_.write("rtsp_describe_ignored", {{"peer", c->peer}, {"quirk", "describe-require-timeout"}});
      return;
    }
    const auto local = c->socket.local_endpoint().address();
    std::string sdp = "v=0\r\no=- " + std::to_string(sdp_session_id_) + " 1 IN " + (local.is_v6() ? "IP6 " : "IP4 ") +
                      local.to_string() + "\r\ns=pttcam camera-sim\r\nc=IN " + (local.is_v6() ? "IP6 ::" : "IP4 0.0.0.0") +
                      "\r\nt=0 0\r\na=control:*\r\n";
    const std::string opus = "m=audio 0 RTP/AVP " + std::to_string(kPayloadType) + "\r\na=rtpmap:" +
                             std::to_string(kPayloadType) + " opus/48000/2\r\n";
    // ONVIF's directions are the camera's view: it sends its microphone (recvonly for the client
    // per ONVIF §5.3) and receives the talk track (sendonly). GStreamer depends on exactly this.
    if (offer_.microphone) sdp += opus + "a=fmtp:111 useinbandfec=1\r\na=control:track1\r\na=recvonly\r\n";
    if (wants_backchannel && !options_.quirks.no_backchannel) sdp += backchannel_media(options_.backchannel_codecs) + "a=control:track2\r\na=sendonly\r\n";
    std::string base = req.uri;
    if (base.back() != '/') base += '/';
    resp.add("Content-Base", base);
    resp.body = sdp;
    resp.content_type = "application/sdp";
    nlohmann::json codecs = nlohmann::json::array();
    if (wants_backchannel && !options_.quirks.no_backchannel)
      for (const auto& codec : options_.backchannel_codecs) codecs.push_back(codec.name());
    events_.write("rtsp_describe", {{"peer", c->peer}, {"backchannel", wants_backchannel}, {"codecs", codecs}});
    return answer(200);
  }
  if (req.method == "SETUP") {
    if (track != Track::microphone && track != Track::backchannel) return answer(track == Track::none ? 404 : 459);
    if (track == Track::microphone && !offer_.microphone) return answer(404);
    if (track == Track::backchannel && (!offer_.backchannel || options_.quirks.no_backchannel)) return answer(404);
    // One talker at a time: a backchannel set up by another session, or a pttcam client
    // talking, keeps the speaker.
    if (track == Track::backchannel) {
      if (const auto holder = speaker_taken_by(session); !holder.empty()) {
        ++counters_.backchannel_busy;
        events_.write("rtsp_backchannel_busy", {{"peer", c->peer}, {"holder", holder}});
        resp.reason = "Speaker Busy";
        return answer(453);
      }
    }
    const auto offered = rtsp::parse_transports(req.header("Transport").value_or(""));
    std::optional<rtsp::Transport> chosen;
    for (const auto& t : offered) {
      if (t.lower == rtsp::Transport::Lower::udp && t.client_port) {
        chosen = t;
        chosen->server_port = rtsp::PortPair{rtp_socket_.local_endpoint().port(), rtcp_socket_.local_endpoint().port()};
        break;
      }
      if (t.lower == rtsp::Transport::Lower::tcp) {
        chosen = t;
        if (!chosen->interleaved) {
          const std::uint8_t base = track == Track::microphone ? 0 : 2;
          chosen->interleaved = std::pair<std::uint8_t, std::uint8_t>{base, static_cast<std::uint8_t>(base + 1)};
        }
        break;
      }
    }
    if (!chosen) return answer(461);
    if (session && session->connection != c->id && chosen->lower == rtsp::Transport::Lower::tcp) return answer(455);
    if (!session) {
      if (sessions_.size() >= options_.max_sessions) return answer(453);
      auto s = std::make_unique<Session>();
      s->id = random_hex(8);
      s->connection = c->id;
      s->opened_us = now;
      s->last_seen_us = now;
      session = s.get();
      sessions_[s->id] = std::move(s);
      ++counters_.sessions;
      resp.add("Session", rtsp::format_session({session->id, options_.session_timeout_s}));
      events_.write("rtsp_session_open", {{"peer", c->peer}, {"session", session->id}});
    }
    auto& media = track == Track::microphone ? session->microphone : session->backchannel;
    media.setup = true;
    media.transport = *chosen;
    if (chosen->client_port) {
      boost::system::error_code ec;
      media.rtp_to = net::Udp::endpoint(c->socket.remote_endpoint(ec).address(), chosen->client_port->rtp);
    }
    chosen->mode.clear();
    resp.add("Transport", rtsp::format_transport(*chosen));
    events_.write("rtsp_setup", {{"peer", c->peer},
                                 {"session", session->id},
                                 {"track", to_string(track)},
                                 {"transport", rtsp::format_transport(*chosen)}});
    answer(200);
    update_media();
    return;
  }
  if (req.method == "PLAY" || req.method == "PAUSE" || req.method == "TEARDOWN") {
    if (!session) return answer(454);
    const std::string id = session->id;
    if (req.method == "TEARDOWN") {
      answer(200);
      end_session(id, "teardown");
      return;
    }
    const bool play = req.method == "PLAY";
    if (play && !session->microphone.setup && !session->backchannel.setup) return answer(455);
    if (play && session->backchannel.setup && !session->playing) {
      if (const auto holder = speaker_taken_by(session); !holder.empty()) {
        ++counters_.backchannel_busy;
        events_.write("rtsp_backchannel_busy", {{"peer", c->peer}, {"holder", holder}});
        resp.reason = "Speaker Busy";
        return answer(453);
      }
    }
    session->playing = play;
    if (play) resp.add("Range", "npt=0.000-");
    events_.write(play ? "rtsp_play" : "rtsp_pause",
                  {{"peer", c->peer}, {"session", id}, {"backchannel", session->backchannel.setup},
                   {"microphone", session->microphone.setup}});
    answer(200);
    update_media();
    return;
  }
  resp.add("Public", kPublic);
  answer(501);
}

void RtspServer::send(const std::shared_ptr<Connection>& c, std::string bytes) {
  if (c->socket.is_open() == false) return;
  c->queued_bytes += bytes.size();
  c->queue.push_back(std::move(bytes));
  if (!c->writing) write_next(c);
}

void RtspServer::send_frame(Connection& c, std::uint8_t channel, std::span<const std::byte> payload) {
  if (c.closed || c.draining || payload.size() > 0xffff) return;
  if (c.queued_bytes + payload.size() > kMaxQueuedBytes) {
    ++counters_.microphone_dropped;
    return;
  }
  std::string f(4 + payload.size(), '\0');
  f[0] = '$';
  f[1] = static_cast<char>(channel);
  f[2] = static_cast<char>(payload.size() >> 8);
  f[3] = static_cast<char>(payload.size() & 0xff);
  std::memcpy(f.data() + 4, payload.data(), payload.size());
  ++counters_.microphone_packets;
  send(connections_.at(c.id), std::move(f));
}

void RtspServer::write_next(const std::shared_ptr<Connection>& c) {
  if (c->queue.empty()) {
    c->writing = false;
    boost::system::error_code ec;
    if (c->draining) c->socket.shutdown(tcp::socket::shutdown_send, ec);
    return;
  }
  c->writing = true;
  boost::asio::async_write(c->socket, boost::asio::buffer(c->queue.front()),
                           [this, c](const boost::system::error_code& ec, std::size_t) {
                             if (!running_) return;
                             c->queued_bytes -= c->queue.front().size();
                             c->queue.pop_front();
                             if (ec) {
                               c->writing = false;
                               close(c, ec.message());
                               return;
                             }
                             write_next(c);
                           });
}

void RtspServer::close(const std::shared_ptr<Connection>& c, const std::string& reason) {
  if (!connections_.erase(c->id)) return;
  c->closed = true;
  boost::system::error_code ec;
  c->socket.shutdown(tcp::socket::shutdown_both, ec);
  c->socket.close(ec);
  events_.write("rtsp_disconnect", {{"peer", c->peer}, {"connection", c->id}, {"reason", reason}});
  // Its sessions go with it: interleaved media cannot outlive the connection, and a client that
  // vanished must not keep the speaker.
  std::vector<std::string> ids;
  for (const auto& [id, s] : sessions_)
    if (s->connection == c->id) ids.push_back(id);
  for (const auto& id : ids) end_session(id, "connection_closed");
}

void RtspServer::end_session(const std::string& id, const std::string& reason) {
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  events_.write("rtsp_session_end", {{"session", id}, {"reason", reason}});
  sessions_.erase(it);
  update_media();
}

// Recomputes the floor and the microphone from the sessions, and tells the camera what changed.
void RtspServer::update_media() {
  bool floor = false;
  bool mic = false;
  for (const auto& [id, s] : sessions_) {
    floor = floor || ((s->playing || options_.quirks.line_busy) && s->backchannel.setup);
    mic = mic || (s->playing && s->microphone.setup);
  }
  if (floor != floor_) {
    floor_ = floor;
    floor_since_us_ = clock_.now_us();
    events_.write(floor ? "rtsp_backchannel_open" : "rtsp_backchannel_closed");
    if (hooks_.floor) hooks_.floor(floor);
  }
  if (mic != wants_microphone_) {
    wants_microphone_ = mic;
    if (hooks_.media_changed) hooks_.media_changed();
  }
}

void RtspServer::send_microphone(std::span<const std::byte> rtp) {
  for (const auto& [id, s] : sessions_) {
    if (!s->playing || !s->microphone.setup) continue;
    if (s->microphone.transport.interleaved && s->microphone.transport.lower == rtsp::Transport::Lower::tcp) {
      const auto it = connections_.find(s->connection);
      if (it != connections_.end()) send_frame(*it->second, s->microphone.transport.interleaved->first, rtp);
    } else {
      boost::system::error_code ec;
      rtp_socket_.send_to(boost::asio::buffer(rtp.data(), rtp.size()), s->microphone.rtp_to, 0, ec);
      ++counters_.microphone_packets;
    }
  }
}

void RtspServer::receive_udp() {
  rtp_socket_.async_receive_from(boost::asio::buffer(udp_buffer_), udp_from_,
                                 [this](const boost::system::error_code& ec, std::size_t n) {
                                   if (!running_) return;
                                   if (!ec) {
                                     Session* match = nullptr;
                                     for (auto& [id, s] : sessions_)
                                       if (s->backchannel.setup && s->backchannel.rtp_to == udp_from_) match = s.get();
                                     if (match)
                                       on_backchannel(std::span<const std::byte>(udp_buffer_.data(), n), udp_from_, *match);
                                     else
                                       ++counters_.backchannel_dropped;
                                   }
                                   receive_udp();
                                 });
}

void RtspServer::receive_rtcp() {
  rtcp_socket_.async_receive_from(boost::asio::buffer(rtcp_buffer_), rtcp_from_,
                                  [this](const boost::system::error_code& ec, std::size_t) {
                                    if (!running_) return;
                                    if (!ec) {
                                      ++counters_.rtcp_received;  // RTCP keeps a UDP session alive (RFC 2326 §12.37)
                                      for (auto& [id, s] : sessions_)
                                        if (s->microphone.rtp_to.address() == rtcp_from_.address() ||
                                            s->backchannel.rtp_to.address() == rtcp_from_.address())
                                          s->last_seen_us = clock_.now_us();
                                    }
                                    receive_rtcp();
                                  });
}

// Once a second: sessions silent past their timeout end, and so do connections that hold no
// session and have not completed a request for a while (a slow or stuck client).
std::string RtspServer::speaker_taken_by(const Session* asking) const {
  for (const auto& [id, s] : sessions_)
    if (s.get() != asking && s->backchannel.setup) return "rtsp session " + id;
  if (hooks_.speaker_busy && hooks_.speaker_busy()) return "pttcam client";
  return "";
}

// The live-view cap: the session ends as pttcam's protocol ends one (time_limit; a burst playing
// is cut with cause session_cap), and its connection closes, which is all RTSP 1.0 can tell.
void RtspServer::cap_session(const std::string& id) {
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  ++counters_.session_caps;
  const bool talking = it->second->playing && it->second->backchannel.setup;
  const auto connection = it->second->connection;
  if (talking) {
    events_.write("cutoff", {{"cause", "session_cap"}, {"protocol", "rtsp"}, {"session", id}});
    if (hooks_.cut) hooks_.cut("session_cap");
  }
  end_session(id, "time_limit");
  if (const auto c = connections_.find(connection); c != connections_.end()) close(c->second, "time_limit");
}

// Before the cap, the session is warned as pttcam's protocol warns (SESSION_WARNING): RTSP 1.0
// lets a server send SET_PARAMETER to its client (RFC 2326 §10.9), here on the session's own
// connection with one text/parameters line a client can act on; one that does not know it
// answers 451 or 501, which changes nothing.
void RtspServer::warn_session(Session& s, std::int64_t now) {
  s.warned = true;
  const double remaining_s = options_.session_limit_s - static_cast<double>(now - s.opened_us) / 1e6;
  // Whole seconds, rounded up: the once-a-second sweep finds it up to a second past the warning.
  const auto whole = static_cast<long>(std::max(0.0, std::ceil(remaining_s)));
  events_.write("rtsp_session_warning", {{"session", s.id}, {"remaining_s", whole}});
  ++counters_.session_warnings;
  const auto c = connections_.find(s.connection);
  if (c == connections_.end() || c->second->closed || c->second->draining) return;
  const auto local = c->second->socket.local_endpoint();
  rtsp::Request r;
  r.method = "SET_PARAMETER";
  r.uri = "rtsp://" + (local.address().is_v6() ? "[" + local.address().to_string() + "]" : local.address().to_string()) + ":" +
          std::to_string(local.port()) + "/live";
  r.body = std::string(kWarningParameter) + ": " + std::to_string(whole) + "\r\n";
  r.headers = {{"CSeq", std::to_string(++c->second->cseq)}, {"Session", s.id}, {"Content-Type", "text/parameters"}};
  send(c->second, rtsp::write_request(r));
}

void RtspServer::sweep() {
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !running_) return;
    const std::int64_t now = clock_.now_us();
    std::vector<std::string> expired;
    for (const auto& [id, s] : sessions_)
      if (now - s->last_seen_us > static_cast<std::int64_t>(options_.session_timeout_s) * 1'000'000) expired.push_back(id);
    for (const auto& id : expired) {
      ++counters_.session_timeouts;
      end_session(id, "timeout");
    }
    std::vector<std::string> capped;
    for (const auto& [id, s] : sessions_)
      if (now - s->opened_us >= static_cast<std::int64_t>(options_.session_limit_s * 1e6)) capped.push_back(id);
    for (const auto& id : capped) cap_session(id);
    const auto warn_at = static_cast<std::int64_t>((options_.session_limit_s - options_.warn_before_s) * 1e6);
    for (auto& [id, s] : sessions_)
      if (!s->warned && options_.warn_before_s > 0 && now - s->opened_us >= warn_at) warn_session(*s, now);
    std::vector<std::shared_ptr<Connection>> idle;
    for (const auto& [id, c] : connections_) {
      bool has_session = false;
      for (const auto& [sid, s] : sessions_) has_session = has_session || s->connection == id;
      if ((!has_session || c->draining) && now - c->last_request_us > static_cast<std::int64_t>(options_.idle_connection_s * 1e6))
        idle.push_back(c);
    }
    for (const auto& c : idle) close(c, "idle");
    sweep_timer_.expires_at(sweep_timer_.expiry() + 1s);
    sweep();
  });
}

nlohmann::json RtspServer::summary() const {
  const auto& c = counters_;
  return {{"connections", c.connections},
          {"connections_refused", c.connections_refused},
          {"requests", c.requests},
          {"bad_requests", c.bad_requests},
          {"errors_answered", c.errors_answered},
          {"auth_failures", c.auth_failures},
          {"sessions", c.sessions},
          {"session_timeouts", c.session_timeouts},
          {"backchannel_busy", c.backchannel_busy},
          {"session_caps", c.session_caps},
          {"session_warnings", c.session_warnings},
          {"warning_answers", c.warning_answers},
          {"backchannel_wrong_codec", c.backchannel_wrong_codec},
          {"backchannel_quirk_dropped", c.backchannel_quirk_dropped},
          {"describes_ignored", c.describes_ignored},
          {"refused_booting", c.refused_booting},
          {"backchannel_packets", c.backchannel_packets},
          {"backchannel_dropped", c.backchannel_dropped},
          {"rtcp_received", c.rtcp_received},
          {"microphone_packets", c.microphone_packets},
          {"microphone_dropped", c.microphone_dropped}};
}

}  // namespace pttcam::camera
