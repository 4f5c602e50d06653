#include "pttcam/camera/web_server.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <random>
#include <sstream>

#include "pttcam/net/listen.hpp"
#include "web_page.hpp"

namespace pttcam::camera {

namespace http = boost::beast::http;
using boost::asio::ip::tcp;

namespace {

constexpr std::size_t kMaxBody = 64 * 1024;  // an SDP offer is a few kB
constexpr const char* kResourcePrefix = "/whip/";

std::string random_id() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

// "/whip/ID", "/whip/ID/talk" -> {"ID", "talk"}; anything else -> empty id.
std::pair<std::string, std::string> resource_of(std::string_view target) {
  target = target.substr(0, target.find('?'));
  if (target.substr(0, 6) != kResourcePrefix) return {};
  target.remove_prefix(6);
  const auto slash = target.find('/');
  if (slash == std::string_view::npos) return {std::string(target), ""};
  return {std::string(target.substr(0, slash)), std::string(target.substr(slash + 1))};
}

}  // namespace

struct WebServer::Connection {
  explicit Connection(boost::asio::io_context& io) : socket(io) {}
  std::uint64_t id = 0;
  tcp::socket socket;
  std::string peer;
  boost::beast::flat_buffer buffer;
  std::optional<http::request_parser<http::string_body>> parser;
  std::deque<std::string> queue;
  bool writing = false;
  bool closed = false;
  bool close_after_write = false;
  bool events = false;  // a server-sent event stream: only events are written from now on
};

struct WebServer::Call {
  std::string id;
  std::int64_t opened_us = 0;
  bool warned = false;
  std::shared_ptr<webrtc::Peer> peer;
  net::Udp::endpoint label;  // how its talk audio is labelled for the receiver
  bool receives = false;     // the page wants the camera's microphone
  bool connected = false;
  std::vector<std::weak_ptr<Connection>> streams;
};

WebServer::WebServer(boost::asio::io_context& io, WebOptions options, Offer offer, const timing::Clock& clock,
                     measure::EventLog& events, WebHooks hooks)
    : io_(io), options_(std::move(options)), offer_(offer), clock_(clock), events_(events), hooks_(std::move(hooks)),
      certificate_(secure::Certificate::generate()), acceptor_(io), sweep_timer_(io) {
  net::listen(acceptor_, options_.listen, "the web page");
}

WebServer::~WebServer() { stop(); }

tcp::endpoint WebServer::local_endpoint() const { return acceptor_.local_endpoint(); }

void WebServer::start() {
  running_ = true;
  accept();
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep();
  const auto ep = local_endpoint();
  events_.write("web_listen", {{"url", "http://" + ep.address().to_string() + ":" + std::to_string(ep.port()) + "/"},
                               {"port", ep.port()},
                               {"speaker", offer_.speaker},
                               {"microphone", offer_.microphone},
                               {"fingerprint", certificate_->fingerprint()}});
}

void WebServer::stop() {
  if (!running_) return;
  drop_all("shutdown");
  running_ = false;
  sweep_timer_.cancel();
  boost::system::error_code ec;
  acceptor_.close(ec);
}

void WebServer::drop_all(const std::string& reason) {
  std::vector<std::string> ids;
  for (const auto& [id, call] : calls_) ids.push_back(id);
  for (const auto& id : ids) end_call(id, reason);
  for (const auto& [id, c] : connections_) {
    c->closed = true;
    boost::system::error_code ec;
    c->socket.close(ec);
  }
  connections_.clear();
}

void WebServer::accept() {
  auto c = std::make_shared<Connection>(io_);
  acceptor_.async_accept(c->socket, [this, c](const boost::system::error_code& ec) {
    if (!running_) return;
    if (!ec) {
      boost::system::error_code e2;
      const auto peer = c->socket.remote_endpoint(e2);
      if (e2 || connections_.size() >= options_.max_connections) {
        c->socket.close(e2);
      } else {
        c->id = next_connection_++;
        c->peer = peer.address().to_string() + ":" + std::to_string(peer.port());
        c->socket.set_option(tcp::no_delay(true), e2);
        connections_[c->id] = c;
        ++counters_.connections;
        read(c);
      }
    }
    accept();
  });
}

void WebServer::read(const std::shared_ptr<Connection>& c) {
  c->parser.emplace();
  c->parser->body_limit(kMaxBody);
  http::async_read(c->socket, c->buffer, *c->parser, [this, c](const boost::system::error_code& ec, std::size_t) {
    if (!running_ || c->closed) return;
    if (ec) {
      // A framing error is answered once; a closed connection (an event stream the page left) just goes.
      if (ec != http::error::end_of_stream && ec != boost::asio::error::eof && ec != boost::asio::error::connection_reset &&
          !c->events) {
        ++counters_.bad_requests;
        c->close_after_write = true;
        reply(c, 400, "text/plain", "bad request: " + ec.message() + "\n");
        return;
      }
      connections_.erase(c->id);
      c->closed = true;
      boost::system::error_code e2;
      c->socket.close(e2);
      return;
    }
    ++counters_.requests;
    handle(c);
    if (!c->closed && !c->close_after_write) read(c);
  });
}

void WebServer::reply(const std::shared_ptr<Connection>& c, unsigned status, std::string type, std::string body,
                      std::vector<std::pair<std::string, std::string>> headers) {
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "pttcam camera-sim");
  res.set(http::field::cache_control, "no-store");
  if (!type.empty()) res.set(http::field::content_type, type);
  for (auto& [k, v] : headers) res.set(k, v);
  res.keep_alive(!c->close_after_write);
  res.body() = std::move(body);
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  c->queue.push_back(out.str());
  if (!c->writing) write_next(c);
}

void WebServer::write_next(const std::shared_ptr<Connection>& c) {
  if (c->queue.empty()) {
    c->writing = false;
    if (c->close_after_write && !c->closed) {
      boost::system::error_code ec;
      c->socket.shutdown(tcp::socket::shutdown_send, ec);
      drain(c);
    }
    return;
  }
  c->writing = true;
  boost::asio::async_write(c->socket, boost::asio::buffer(c->queue.front()),
                           [this, c](const boost::system::error_code& ec, std::size_t) {
                             if (!running_ || c->closed) return;
                             c->queue.pop_front();
                             if (ec) {
                               c->writing = false;
                               c->closed = true;
                               connections_.erase(c->id);
                               return;
                             }
                             write_next(c);
                           });
}

// Answered for the last time: what the client still sends is read and dropped until it closes,
// then the connection goes (closing with unread input would reset it and could lose the answer).
void WebServer::drain(const std::shared_ptr<Connection>& c) {
  auto sink = std::make_shared<std::array<char, 1024>>();
  c->socket.async_read_some(boost::asio::buffer(*sink), [this, c, sink](const boost::system::error_code& ec, std::size_t) {
    if (!running_ || c->closed) return;
    if (!ec) return drain(c);
    c->closed = true;
    boost::system::error_code e2;
    c->socket.close(e2);
    connections_.erase(c->id);
  });
}

void WebServer::handle(const std::shared_ptr<Connection>& c) {
  const auto& req = c->parser->get();
  c->close_after_write = !req.keep_alive();
  const std::string target(req.target());
  const auto method = req.method();
  events_.write("web_request", {{"peer", c->peer}, {"method", std::string(req.method_string())}, {"target", target}});
  const std::string path = target.substr(0, target.find('?'));
  if (method == http::verb::get && (path == "/" || path == "/index.html"))
    return reply(c, 200, "text/html; charset=utf-8", std::string(web_page()));
  if (path == "/whip") {
    if (method != http::verb::post) return reply(c, 405, "text/plain", "POST an SDP offer here\n", {{"Allow", "POST"}});
    return answer_offer(c);
  }
  const auto [id, sub] = resource_of(path);
  const auto it = id.empty() ? calls_.end() : calls_.find(id);
  if (it == calls_.end()) return reply(c, 404, "text/plain", "no such call\n");
  Call& call = *it->second;
  if (sub.empty() && method == http::verb::delete_) {
    reply(c, 200, "", "");
    return end_call(id, "deleted");
  }
  if (sub == "talk" && method == http::verb::post) return on_talk(c, call);
  if (sub == "events" && method == http::verb::get) return open_events(c, call);
  reply(c, 405, "text/plain", "not here\n");
}

// What a call's transport reports: its talk audio (played only while it holds the floor) and
// its state (connected: the microphone may flow; failed: the call ends).
webrtc::Peer::Hooks WebServer::peer_hooks(const std::string& id) {
  webrtc::Peer::Hooks hooks;
  hooks.rtp = [this, id](std::span<const std::byte> rtp) {
    // Only the floor holder's audio plays (and the last holder's packets still in flight after
    // its release: the receiver ends that burst); what another page sends is dropped and counted.
    if (floor_holder_ != id && !(floor_holder_.empty() && last_holder_ == id)) {
      ++counters_.talk_dropped;
      return;
    }
    ++counters_.talk_packets;
    if (hooks_.talk_rtp) hooks_.talk_rtp(rtp, calls_.at(id)->label);
  };
  hooks.state = [this, id](webrtc::PeerState s, const std::string& why) {
    const auto it = calls_.find(id);
    if (it == calls_.end()) return;
    events_.write("web_call_state", {{"call", id}, {"state", webrtc::to_string(s)}, {"reason", why}});
    if (s == webrtc::PeerState::connected) {
      it->second->connected = true;
      send_event(*it->second, {{"type", "connected"}});
      update_media();
    } else if (s == webrtc::PeerState::failed) {
      ++counters_.calls_failed;
      end_call(id, why);
    }
  };
  return hooks;
}

void WebServer::answer_offer(const std::shared_ptr<Connection>& c) {
  const auto& req = c->parser->get();
  const auto parsed = webrtc::parse_offer(req.body());
  if (!parsed.offer) {
    ++counters_.calls_refused;
    events_.write("web_offer_refused", {{"peer", c->peer}, {"reason", parsed.error}});
    return reply(c, 400, "text/plain", "bad offer: " + parsed.error + "\n");
  }
  if (hooks_.online && !hooks_.online()) {
    ++counters_.calls_refused;
    return reply(c, 503, "application/json", R"({"refused":"offline"})", {{"Retry-After", "2"}});
  }
  if (calls_.size() >= options_.max_calls) {
    ++counters_.calls_refused;
    return reply(c, 503, "text/plain", "too many calls\n", {{"Retry-After", "5"}});
  }
  const auto& offer = *parsed.offer;
  auto call = std::make_unique<Call>();
  call->id = random_id();
  call->opened_us = clock_.now_us();
  boost::system::error_code ec;
  const auto remote = c->socket.remote_endpoint(ec);
  const auto local = c->socket.local_endpoint(ec);
  if (ec) return;  // the page went away while asking
  call->label = net::Udp::endpoint(remote.address(), static_cast<std::uint16_t>(next_call_++));
  call->receives = offer_.microphone && (offer.direction == "sendrecv" || offer.direction == "recvonly");
  const std::string id = call->id;
  try {
    call->peer = webrtc::Peer::create(io_, certificate_, options_.listen.address().to_string(), offer, peer_hooks(id));
  } catch (const std::exception& e) {
    ++counters_.calls_refused;
    return reply(c, 500, "text/plain", std::string("cannot start the call: ") + e.what() + "\n");
  }
  auto params = call->peer->answer_params();
  params.session_id = std::random_device{}();
  params.address = local.address().to_string();
  params.send = offer_.microphone;
  params.receive = offer_.speaker;
  const std::string answer = webrtc::write_answer(offer, params);
  ++counters_.calls;
  events_.write("web_call_open", {{"call", id},
                                  {"peer", c->peer},
                                  {"opus_payload_type", offer.opus_payload_type},
                                  {"red_payload_type", offer.red_payload_type ? nlohmann::json(*offer.red_payload_type) : nlohmann::json()},
                                  {"remote_candidates", offer.candidates.size()},
                                  {"direction", offer.direction}});
  calls_[id] = std::move(call);
  reply(c, 201, "application/sdp", answer, {{"Location", kResourcePrefix + id}, {"ETag", "\"" + id + "\""}});
}

void WebServer::on_talk(const std::shared_ptr<Connection>& c, Call& call) {
  const std::string body = c->parser->get().body();
  const bool press = body.rfind("press", 0) == 0;
  if (!press && body.rfind("release", 0) != 0) return reply(c, 400, "text/plain", "say press or release\n");
  if (!press) {
    if (floor_holder_ == call.id) release(call);
    return reply(c, 200, "application/json", R"({"floor":"released"})");
  }
  ++counters_.presses;
  std::optional<std::string> refusal;
  if (!offer_.speaker)
    refusal = "no_speaker";
  else if (!floor_holder_.empty() && floor_holder_ != call.id)
    refusal = "busy";
  else if (remaining_s(call) < 1.0)
    refusal = "session_ending";
  else if (floor_holder_.empty() && hooks_.floor)
    refusal = hooks_.floor(true);
  if (refusal) {
    ++counters_.refusals;
    events_.write("web_talk_refused", {{"call", call.id}, {"reason", *refusal}});
    return reply(c, 409, "application/json", nlohmann::json{{"floor", "refused"}, {"reason", *refusal}}.dump());
  }
  if (floor_holder_.empty()) {
    floor_holder_ = call.id;
    last_holder_ = call.id;
    press_us_ = clock_.now_us();
    events_.write("web_talk_granted", {{"call", call.id}});
    for (auto& [id, other] : calls_)
      if (id != call.id) send_event(*other, {{"type", "floor"}, {"state", "busy"}});
  }
  reply(c, 200, "application/json", R"({"floor":"granted"})");
}

void WebServer::release(Call& call) {
  events_.write("web_talk_released", {{"call", call.id}});
  floor_holder_.clear();
  if (hooks_.floor) hooks_.floor(false);
  for (auto& [id, other] : calls_)
    if (id != call.id) send_event(*other, {{"type", "floor"}, {"state", "free"}});
}

void WebServer::floor_lost(const std::string& cause) {
  const auto it = calls_.find(floor_holder_);
  if (it == calls_.end()) return;
  send_event(*it->second, {{"type", "floor"}, {"state", "lost"}, {"reason", cause}});
  events_.write("web_talk_lost", {{"call", floor_holder_}, {"reason", cause}});
  floor_holder_.clear();
}

void WebServer::open_events(const std::shared_ptr<Connection>& c, Call& call) {
  c->events = true;
  c->queue.push_back("HTTP/1.1 200 OK\r\nServer: pttcam camera-sim\r\nContent-Type: text/event-stream\r\n"
                     "Cache-Control: no-store\r\nConnection: keep-alive\r\n\r\n");
  if (!c->writing) write_next(c);
  call.streams.push_back(c);
  send_event(call, {{"type", "live_view"}, {"remaining_s", remaining_s(call)}, {"warning", call.warned}});
  send_event(call, {{"type", "hello"},
                    {"call", call.id},
                    {"speaker", offer_.speaker},
                    {"microphone", offer_.microphone},
                    {"connected", call.connected},
                    {"session_limit_s", options_.session_limit_s},
                    {"floor", floor_holder_.empty() ? "free" : floor_holder_ == call.id ? "yours" : "busy"}});
}

void WebServer::send_event(Call& call, const nlohmann::json& event) {
  const std::string frame = "data: " + event.dump() + "\n\n";
  for (const auto& weak : call.streams) {
    const auto c = weak.lock();
    if (!c || c->closed) continue;
    c->queue.push_back(frame);
    if (!c->writing) write_next(c);
  }
}

void WebServer::publish(const nlohmann::json& event) {
  for (auto& [id, call] : calls_) send_event(*call, event);
}

void WebServer::end_call(const std::string& id, const std::string& reason) {
  const auto it = calls_.find(id);
  if (it == calls_.end()) return;
  auto call = std::move(it->second);
  calls_.erase(it);
  if (floor_holder_ == id) {
    if (hooks_.cut) hooks_.cut(reason);
    release(*call);
  }
  send_event(*call, {{"type", "ended"}, {"reason", reason}});
  call->peer->close();
  counters_.microphone_packets += call->peer->counters().rtp_sent;
  counters_.srtp_rejected += call->peer->counters().srtp_rejected;
  events_.write("web_call_end", {{"call", id}, {"reason", reason}, {"rtp_received", call->peer->counters().rtp_received},
                                 {"srtp_rejected", call->peer->counters().srtp_rejected},
                                 {"rtp_sent", call->peer->counters().rtp_sent}});
  update_media();
}

double WebServer::remaining_s(const Call& call) const {
  return options_.session_limit_s - static_cast<double>(clock_.now_us() - call.opened_us) / 1e6;
}

// Once a second: calls near the live-view cap are warned, calls past it end ("session_cap"; the
// page offers to renew, which is a new call).
void WebServer::sweep() {
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !running_) return;
    std::vector<std::string> capped;
    for (auto& [id, call] : calls_) {
      const double left = remaining_s(*call);
      if (left <= 0) {
        capped.push_back(id);
      } else if (!call->warned && left <= options_.warn_before_s) {
        call->warned = true;
        events_.write("web_live_view_warning", {{"call", id}, {"remaining_s", left}});
        send_event(*call, {{"type", "live_view"}, {"remaining_s", left}, {"warning", true}});
      }
    }
    for (const auto& id : capped) {
      ++counters_.calls_capped;
      end_call(id, "session_cap");
    }
    sweep_timer_.expires_at(sweep_timer_.expiry() + std::chrono::seconds(1));
    sweep();
  });
}

void WebServer::update_media() {
  bool mic = false;
  for (const auto& [id, call] : calls_) mic = mic || (call->connected && call->receives);
  if (mic == wants_microphone_) return;
  wants_microphone_ = mic;
  if (hooks_.media_changed) hooks_.media_changed();
}

void WebServer::send_microphone(std::span<const std::byte> rtp) {
  for (auto& [id, call] : calls_)
    if (call->connected && call->receives) call->peer->send_rtp(rtp);
}

nlohmann::json WebServer::summary() const {
  const auto& c = counters_;
  return {{"connections", c.connections}, {"requests", c.requests},       {"bad_requests", c.bad_requests},
          {"calls", c.calls},             {"calls_refused", c.calls_refused}, {"calls_failed", c.calls_failed}, {"calls_capped", c.calls_capped},
          {"presses", c.presses},         {"refusals", c.refusals},       {"talk_packets", c.talk_packets},
          {"talk_dropped", c.talk_dropped}, {"microphone_packets", c.microphone_packets},
          {"srtp_rejected", c.srtp_rejected}};
}

}  // namespace pttcam::camera
