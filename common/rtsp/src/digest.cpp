#include "pttcam/rtsp/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "pttcam/rtsp/message.hpp"

namespace pttcam::rtsp {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}

std::optional<DigestAlgorithm> algorithm_named(std::string_view name) {
  if (name.empty() || iequals(name, "MD5")) return DigestAlgorithm::md5;  // absent means MD5 (RFC 7616 §3.3)
  if (iequals(name, "SHA-256")) return DigestAlgorithm::sha256;
  return std::nullopt;
}

}  // namespace

const char* to_string(DigestAlgorithm a) noexcept { return a == DigestAlgorithm::md5 ? "MD5" : "SHA-256"; }

const char* to_string(DigestAuth::Verdict v) noexcept {
  switch (v) {
    case DigestAuth::Verdict::ok: return "ok";
    case DigestAuth::Verdict::missing: return "missing";
    case DigestAuth::Verdict::malformed: return "malformed";
    case DigestAuth::Verdict::wrong_user_or_password: return "wrong_user_or_password";
    case DigestAuth::Verdict::stale_nonce: return "stale_nonce";
    case DigestAuth::Verdict::unknown_nonce: return "unknown_nonce";
    case DigestAuth::Verdict::wrong_uri: return "wrong_uri";
  }
  return "unknown";
}

std::string digest_hex(DigestAlgorithm a, std::string_view text) {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  const EVP_MD* type = a == DigestAlgorithm::md5 ? EVP_md5() : EVP_sha256();
  if (!ctx || EVP_DigestInit_ex(ctx.get(), type, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), text.data(), text.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), md.data(), &len) != 1)
    throw std::runtime_error(std::string("OpenSSL ") + to_string(a) + " digest failed");
  return hex(md.data(), len);
}

std::optional<std::map<std::string, std::string>> parse_digest_params(std::string_view header) {
  header = trim(header);
  if (header.size() < 7 || !iequals(header.substr(0, 6), "Digest") || (header[6] != ' ' && header[6] != '\t'))
    return std::nullopt;
  std::string_view s = header.substr(7);
  std::map<std::string, std::string> out;
  while (true) {
    s = trim(s);
    if (s.empty()) break;
    const auto eq = s.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string name(trim(s.substr(0, eq)));
    if (name.empty()) return std::nullopt;
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    s = trim(s.substr(eq + 1));
    std::string value;
    if (!s.empty() && s.front() == '"') {
      std::size_t i = 1;
      for (; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i];
      }
      if (i >= s.size()) return std::nullopt;  // unterminated quote
      s.remove_prefix(i + 1);
    } else {
      const auto end = s.find(',');
      value = std::string(trim(s.substr(0, end)));
      if (value.find_first_of(" \t\"") != std::string::npos) return std::nullopt;  // a token has none
      s.remove_prefix(end == std::string_view::npos ? s.size() : end);
    }
    if (!out.emplace(std::move(name), std::move(value)).second) return std::nullopt;  // a parameter twice
    s = trim(s);
    if (s.empty()) break;
    if (s.front() != ',') return std::nullopt;
    s.remove_prefix(1);
  }
  return out;
}

std::string digest_response(DigestAlgorithm a, std::string_view user, std::string_view realm, std::string_view password,
                            std::string_view method, std::string_view uri, std::string_view nonce, std::string_view nc,
                            std::string_view cnonce, std::string_view qop) {
  const auto cat = [](std::initializer_list<std::string_view> parts) {
    std::string s;
    bool first = true;
    for (const auto p : parts) {
      if (!first) s += ':';
      first = false;
      s += p;
    }
    return s;
  };
  const auto ha1 = digest_hex(a, cat({user, realm, password}));
  const auto ha2 = digest_hex(a, cat({method, uri}));
  if (qop.empty()) return digest_hex(a, cat({ha1, nonce, ha2}));
  return digest_hex(a, cat({ha1, nonce, nc, cnonce, qop, ha2}));
}

DigestAuth::DigestAuth(Options options) : options_(std::move(options)) {
  if (options_.algorithms.empty()) throw std::invalid_argument("digest: no algorithm to offer");
}

std::vector<std::string> DigestAuth::challenge(std::int64_t now_us, bool stale) {
  std::array<unsigned char, 16> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed: no nonce");
  Issued issued{hex(random.data(), random.size()), now_us};
  if (nonces_.size() >= options_.max_nonces) nonces_.pop_front();
  nonces_.push_back(issued);
  std::vector<std::string> out;
  for (const auto a : options_.algorithms) {
    std::string v = "Digest realm=\"" + options_.realm + "\", nonce=\"" + issued.nonce + "\", algorithm=" + to_string(a);
    if (stale) v += ", stale=TRUE";
    out.push_back(std::move(v));
  }
  return out;
}

DigestAuth::Verdict DigestAuth::verify(std::optional<std::string_view> authorization, std::string_view method,
                                       std::string_view request_uri, std::int64_t now_us) const {
  if (!authorization) return Verdict::missing;
  const auto p = parse_digest_params(*authorization);
  if (!p) return Verdict::malformed;
  const auto get = [&](const char* k) -> std::string_view {
    const auto it = p->find(k);
    return it == p->end() ? std::string_view{} : std::string_view(it->second);
  };
  const auto algorithm = algorithm_named(get("algorithm"));
  if (!algorithm || get("username").empty() || get("nonce").empty() || get("response").empty() || get("uri").empty())
    return Verdict::malformed;
  bool offered = false;
  for (const auto a : options_.algorithms) offered = offered || a == *algorithm;
  if (!offered) return Verdict::malformed;
  const auto qop = get("qop");
  if (!qop.empty() && (qop != "auth" || get("nc").empty() || get("cnonce").empty())) return Verdict::malformed;
  if (get("uri") != request_uri) return Verdict::wrong_uri;
  const Issued* issued = nullptr;
  for (const auto& n : nonces_)
    if (n.nonce == get("nonce")) issued = &n;
  if (!issued) return Verdict::unknown_nonce;
  const auto expected = digest_response(*algorithm, options_.user, get("realm"), options_.password, method, get("uri"),
                                        issued->nonce, get("nc"), get("cnonce"), qop);
  const auto given = get("response");
  const bool match = given.size() == expected.size() &&
                     CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0 &&
                     get("username") == options_.user && get("realm") == options_.realm;
  if (!match) return Verdict::wrong_user_or_password;
  // A right answer to an old nonce: the client knows the password and only needs a new nonce.
  if (now_us - issued->at_us > options_.nonce_lifetime_us) return Verdict::stale_nonce;
  return Verdict::ok;
}

std::optional<DigestChallenge> pick_challenge(const std::vector<std::string>& www_authenticate) {
  std::optional<DigestChallenge> best;
  for (const auto& value : www_authenticate) {
    const auto p = parse_digest_params(value);
    if (!p) continue;
    const auto get = [&](const char* k) {
      const auto it = p->find(k);
      return it == p->end() ? std::string{} : it->second;
    };
    const auto algorithm = algorithm_named(get("algorithm"));
    if (!algorithm || get("nonce").empty()) continue;
    if (best && !(best->algorithm == DigestAlgorithm::md5 && *algorithm == DigestAlgorithm::sha256)) continue;
    DigestChallenge c;
    c.algorithm = *algorithm;
    c.realm = get("realm");
    c.nonce = get("nonce");
    c.opaque = get("opaque");
    const auto qop = get("qop");
    for (std::size_t at = 0; at <= qop.size();) {  // "auth", "auth-int", "auth,auth-int"
      const auto comma = std::min(qop.find(',', at), qop.size());
      c.qop_auth = c.qop_auth || iequals(trim(std::string_view(qop).substr(at, comma - at)), "auth");
      at = comma + 1;
    }
    c.stale = iequals(get("stale"), "true");
    best = c;
  }
  return best;
}

std::string authorization(const DigestChallenge& c, std::string_view user, std::string_view password,
                          std::string_view method, std::string_view uri, std::uint32_t nc, std::string_view cnonce) {
  char nc_text[9];
  std::snprintf(nc_text, sizeof nc_text, "%08x", nc);
  const std::string_view qop = c.qop_auth ? "auth" : "";
  const auto response = digest_response(c.algorithm, user, c.realm, password, method, uri, c.nonce,
                                        c.qop_auth ? nc_text : "", c.qop_auth ? cnonce : "", qop);
  // Quoted-strings (RFC 7616 §3.4): '"' and '\\' are escaped.
  const auto quote = [](std::string_view text) {
    std::string out = "\"";
    for (const char ch : text) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    return out + '"';
  };
  std::string v = "Digest username=" + quote(user) + ", realm=" + quote(c.realm) + ", nonce=" + quote(c.nonce) +
                  ", uri=" + quote(uri) + ", response=\"" + response + "\", algorithm=" + to_string(c.algorithm);
  if (!c.opaque.empty()) v += ", opaque=" + quote(c.opaque);
  if (c.qop_auth) v += ", qop=auth, nc=" + std::string(nc_text) + ", cnonce=\"" + std::string(cnonce) + "\"";
  return v;
}

std::string random_nonce() {
  std::array<unsigned char, 16> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed: no client nonce");
  return hex(random.data(), random.size());
}

}  // namespace pttcam::rtsp
