#pragma once
// HTTP Digest access authentication as RTSP uses it (RFC 7616, RFC 2326 §11): the challenge a
// camera sends in 401 answers, and the check of a client's Authorization header. MD5 and SHA-256,
// hashed by OpenSSL's EVP; nonces are 128 bits from OpenSSL's CSPRNG, remembered with the time
// they were issued so that an old one is answered "stale" (the client retries without asking its
// user again). Pure code: time is passed in. One thread.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pttcam::rtsp {

enum class DigestAlgorithm { md5, sha256 };
const char* to_string(DigestAlgorithm a) noexcept;  // "MD5", "SHA-256" as on the wire

// Lowercase hex digest of `text`; throws std::runtime_error if OpenSSL fails.
std::string digest_hex(DigestAlgorithm a, std::string_view text);

// The parameters of "Digest k=v, k="quoted, with \" escapes", ..." by lowercase name; nullopt if the
// scheme is not Digest or the list is malformed.
std::optional<std::map<std::string, std::string>> parse_digest_params(std::string_view header);

// What a client computes (RFC 7616 §3.4.1): with qop "auth" when `qop` is not empty, else the
// RFC 2069 form most RTSP clients use.
std::string digest_response(DigestAlgorithm a, std::string_view user, std::string_view realm, std::string_view password,
                            std::string_view method, std::string_view uri, std::string_view nonce,
                            std::string_view nc = {}, std::string_view cnonce = {}, std::string_view qop = {});

// A client's side (RFC 7616 §3.4): the challenge it answers, picked from a 401's WWW-Authenticate
// values (SHA-256 before MD5; nullopt if none is Digest with an algorithm it knows: Basic is not
// offered to a camera over plain TCP).
struct DigestChallenge {
  DigestAlgorithm algorithm = DigestAlgorithm::md5;
  std::string realm;
  std::string nonce;
  std::string opaque;
  bool qop_auth = false;  // the server offered qop=auth: answer with nc and cnonce
  bool stale = false;     // the last answer was right but its nonce old: retry without asking the user
};
std::optional<DigestChallenge> pick_challenge(const std::vector<std::string>& www_authenticate);
// The Authorization value for one request to `uri` (the request's own URL). `nc` counts the
// requests answered with this nonce (1 for the first); `cnonce` is the client's random nonce.
std::string authorization(const DigestChallenge& challenge, std::string_view user, std::string_view password,
                          std::string_view method, std::string_view uri, std::uint32_t nc, std::string_view cnonce);
// 16 random bytes from OpenSSL's CSPRNG in hex: a client nonce.
std::string random_nonce();

class DigestAuth {
 public:
  struct Options {
    std::string realm = "pttcam";
    std::string user;
    std::string password;
    // Offered in this order, the preferred first (RFC 7616 §3.7). Clients that keep only the last
    // challenge they read (ffmpeg) then find the MD5 one they can answer.
    std::vector<DigestAlgorithm> algorithms{DigestAlgorithm::sha256, DigestAlgorithm::md5};
    std::int64_t nonce_lifetime_us = 60'000'000;
    std::size_t max_nonces = 256;  // oldest forgotten first: a flood of 401s cannot grow memory
  };
  enum class Verdict { ok, missing, malformed, wrong_user_or_password, stale_nonce, unknown_nonce, wrong_uri };

  explicit DigestAuth(Options options);

  // The WWW-Authenticate values for a 401, one per algorithm, with a fresh nonce.
  std::vector<std::string> challenge(std::int64_t now_us, bool stale);
  Verdict verify(std::optional<std::string_view> authorization, std::string_view method, std::string_view request_uri,
                 std::int64_t now_us) const;

 private:
  struct Issued {
    std::string nonce;
    std::int64_t at_us;
  };
  Options options_;
  std::deque<Issued> nonces_;
};

const char* to_string(DigestAuth::Verdict v) noexcept;

}  // namespace pttcam::rtsp
