#include "pttcam/webrtc/offer.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace pttcam::webrtc {
namespace {

std::vector<std::string_view> lines_of(std::string_view sdp) {
  std::vector<std::string_view> out;
  while (!sdp.empty()) {
    const auto eol = sdp.find('\n');
    auto line = sdp.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) out.push_back(line);
    if (eol == std::string_view::npos) break;
    sdp.remove_prefix(eol + 1);
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::optional<unsigned> number(std::string_view s) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "a=rtpmap:111 opus/48000/2" -> payload type 111 when the encoding (case-insensitive) matches.
std::optional<std::uint8_t> rtpmap_for(std::string_view value, std::string_view encoding) {
  const auto space = value.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  std::string enc(value.substr(space + 1));
  std::transform(enc.begin(), enc.end(), enc.begin(), [](unsigned char c) { return std::tolower(c); });
  if (enc != std::string(encoding) + "/48000/2") return std::nullopt;
  const auto pt = number(value.substr(0, space));
  if (!pt || *pt > 127) return std::nullopt;
  return static_cast<std::uint8_t>(*pt);
}

MediaLine media_line(std::string_view value) {
  MediaLine m;
  const auto a = value.find(' ');
  m.kind = std::string(value.substr(0, a));
  if (a == std::string_view::npos) return m;
  const auto b = value.find(' ', a + 1);  // after the port
  if (b == std::string_view::npos) return m;
  const auto c = value.find(' ', b + 1);
  m.protocol = std::string(value.substr(b + 1, c == std::string_view::npos ? std::string_view::npos : c - b - 1));
  if (c != std::string_view::npos) m.formats = std::string(value.substr(c + 1));
  return m;
}

// One attribute line of the taken audio m-line, or of the session (which the m-line may override).
void take_attribute(std::string_view a, Offer& o, bool in_audio) {
  const auto colon = a.find(':');
  const auto name = a.substr(0, colon);
  const auto value = colon == std::string_view::npos ? std::string_view() : a.substr(colon + 1);
  if (name == "ice-ufrag") o.ice_ufrag = std::string(value);
  if (name == "ice-pwd") o.ice_pwd = std::string(value);
  if (name == "setup") o.setup = std::string(value);
  if (name == "fingerprint") {
    const auto space = value.find(' ');
    if (space != std::string_view::npos) {
      o.fingerprint_algorithm = std::string(value.substr(0, space));
      std::transform(o.fingerprint_algorithm.begin(), o.fingerprint_algorithm.end(), o.fingerprint_algorithm.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      o.fingerprint = std::string(value.substr(space + 1));
      std::transform(o.fingerprint.begin(), o.fingerprint.end(), o.fingerprint.begin(),
                     [](unsigned char c) { return std::toupper(c); });
    }
  }
  if (!in_audio) return;
  if (name == "rtcp-mux") o.rtcp_mux = true;
  if (name == "candidate") o.candidates.push_back(std::string(a));
  if (name == "sendrecv" || name == "sendonly" || name == "recvonly" || name == "inactive") o.direction = std::string(name);
  if (name == "rtpmap") {
    if (const auto pt = rtpmap_for(value, "opus"); pt && o.opus_payload_type == 0) o.opus_payload_type = *pt;
    if (const auto pt = rtpmap_for(value, "red"); pt && !o.red_payload_type) o.red_payload_type = *pt;
  }
}

}  // namespace

ParsedOffer parse_offer(std::string_view sdp) {
  Offer o;
  std::optional<std::size_t> audio;
  for (const auto line : lines_of(sdp)) {
    if (line.size() < 2 || line[1] != '=') return {std::nullopt, "not an SDP line: '" + std::string(line.substr(0, 40)) + "'"};
    if (starts_with(line, "m=")) {
      o.media.push_back(media_line(line.substr(2)));
      if (!audio && o.media.back().kind == "audio") audio = o.media.size() - 1;
      continue;
    }
    if (!starts_with(line, "a=")) continue;
    const auto a = line.substr(2);
    if (starts_with(a, "mid:") && !o.media.empty()) o.media.back().mid = std::string(a.substr(4));
    const bool session_level = o.media.empty();
    const bool in_audio = audio && *audio == o.media.size() - 1;
    if (session_level || in_audio) take_attribute(a, o, in_audio);
  }
  if (!audio) return {std::nullopt, "the offer has no audio m-line"};
  o.audio = *audio;
  if (o.media[o.audio].protocol != "UDP/TLS/RTP/SAVPF" && o.media[o.audio].protocol != "UDP/TLS/RTP/SAVP")
    return {std::nullopt, "the audio m-line is not DTLS-SRTP (" + o.media[o.audio].protocol + ")"};
  if (o.opus_payload_type == 0) return {std::nullopt, "the audio m-line offers no opus/48000/2"};
  if (o.ice_ufrag.empty() || o.ice_pwd.empty()) return {std::nullopt, "the offer has no a=ice-ufrag/a=ice-pwd"};
  if (o.fingerprint_algorithm != "sha-256" || o.fingerprint.empty())
    return {std::nullopt, "the offer has no a=fingerprint:sha-256"};
  if (!o.rtcp_mux) return {std::nullopt, "the offer does not multiplex RTCP (a=rtcp-mux)"};
  if (o.setup == "passive") return {std::nullopt, "a=setup:passive offers leave nobody to start DTLS"};
  return {std::move(o), {}};
}

std::string answer_direction(std::string_view offered, bool send, bool receive) {
  const bool they_send = offered == "sendrecv" || offered == "sendonly";
  const bool they_receive = offered == "sendrecv" || offered == "recvonly";
  const bool s = send && they_receive;
  const bool r = receive && they_send;
  if (s && r) return "sendrecv";
  if (s) return "sendonly";
  if (r) return "recvonly";
  return "inactive";
}

std::string write_answer(const Offer& offer, const AnswerParams& p) {
  const auto& audio = offer.media[offer.audio];
  std::string s = "v=0\r\no=- " + std::to_string(p.session_id) + " 2 IN IP4 " + p.address +
                  "\r\ns=pttcam camera-sim\r\nt=0 0\r\n";
  if (!audio.mid.empty()) s += "a=group:BUNDLE " + audio.mid + "\r\n";
  s += "a=msid-semantic: WMS pttcam\r\n";
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const auto& m = offer.media[i];
    if (i != offer.audio) {
      // Rejected (RFC 3264 §6): port 0, the formats as offered, and its mid so the browser can match it.
      s += "m=" + m.kind + " 0 " + m.protocol + " " + m.formats + "\r\nc=IN IP4 0.0.0.0\r\n";
      if (!m.mid.empty()) s += "a=mid:" + m.mid + "\r\n";
      continue;
    }
    const std::string opus = std::to_string(offer.opus_payload_type);
    const std::string red = offer.red_payload_type ? std::to_string(*offer.red_payload_type) : "";
    // RED first when offered: the browser sends the first format of the answer it can (RFC 3264
    // §6.1 preference order), and RED is what keeps a lost packet's audio.
    s += "m=audio " + std::to_string(p.port) + " " + m.protocol + (red.empty() ? "" : " " + red) + " " + opus + "\r\n";
    s += "c=IN IP4 " + p.address + "\r\n";
    if (!m.mid.empty()) s += "a=mid:" + m.mid + "\r\n";
    s += "a=ice-ufrag:" + p.ice_ufrag + "\r\na=ice-pwd:" + p.ice_pwd + "\r\n";
    s += "a=fingerprint:sha-256 " + p.fingerprint + "\r\na=setup:passive\r\n";
    s += "a=" + answer_direction(offer.direction, p.send, p.receive) + "\r\na=rtcp-mux\r\n";
    s += "a=rtpmap:" + opus + " opus/48000/2\r\na=fmtp:" + opus + " minptime=10;useinbandfec=1\r\n";
    if (!red.empty()) s += "a=rtpmap:" + red + " red/48000/2\r\na=fmtp:" + red + " " + opus + "/" + opus + "\r\n";
    if (p.send && p.ssrc != 0) {
      s += "a=msid:pttcam microphone\r\n";
      s += "a=ssrc:" + std::to_string(p.ssrc) + " cname:camera-sim@pttcam\r\n";
    }
    for (const auto& c : p.candidates) s += "a=" + c + "\r\n";
    s += "a=end-of-candidates\r\n";
  }
  return s;
}

}  // namespace pttcam::webrtc
