#pragma once
// The SDP of a WebRTC audio call as a browser offers it (RFC 8829 JSEP, RFC 8839 ICE, RFC 8842
// DTLS-SRTP, RFC 8843 BUNDLE) and the answer pttcam gives: the first audio m-line is taken (Opus,
// RFC 2198 RED around it when offered), any other m-line is rejected with port 0.
//
// Pure code: no sockets. parse_offer() never throws on bad input; it says what is wrong.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pttcam::webrtc {

struct MediaLine {
  std::string kind;      // "audio", "video", "application"
  std::string protocol;  // "UDP/TLS/RTP/SAVPF"
  std::string formats;   // as offered, space separated
  std::string mid;
};

struct Offer {
  std::string ice_ufrag;
  std::string ice_pwd;
  std::string fingerprint_algorithm;  // "sha-256"
  std::string fingerprint;            // "AB:CD:..." (upper case)
  std::string setup;                  // actpass, active or passive
  std::vector<MediaLine> media;       // every m-line, in order
  std::size_t audio = 0;              // index of the one taken
  std::uint8_t opus_payload_type = 0;
  std::optional<std::uint8_t> red_payload_type;  // red/48000/2, when offered
  std::string direction = "sendrecv";            // the offerer's view
  bool rtcp_mux = false;
  std::vector<std::string> candidates;  // "candidate:..." values from the taken m-line
};

struct ParsedOffer {
  std::optional<Offer> offer;
  std::string error;  // set when offer is empty
};

ParsedOffer parse_offer(std::string_view sdp);

struct AnswerParams {
  std::uint64_t session_id = 0;
  std::string address;  // the camera's bound address (c= line)
  std::string ice_ufrag;
  std::string ice_pwd;
  std::string fingerprint;  // sha-256 of the camera's certificate, "AB:CD:..."
  std::vector<std::string> candidates;  // "candidate:..." values
  std::uint16_t port = 9;               // the first host candidate's port
  std::uint32_t ssrc = 0;               // of the camera's microphone stream; 0: none sent
  bool send = true;                     // the camera sends its microphone
  bool receive = true;                  // the camera plays the offerer's audio
};

std::string write_answer(const Offer& offer, const AnswerParams& params);

// The direction pttcam answers with, from its view (RFC 3264 §6.1).
std::string answer_direction(std::string_view offered, bool send, bool receive);

}  // namespace pttcam::webrtc
