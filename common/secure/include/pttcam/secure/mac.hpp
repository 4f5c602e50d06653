#pragma once
// A message authentication code under a key that lives only in this process: HMAC-SHA-256
// (OpenSSL), truncated to kTagSize bytes. Used for stateless cookies: the camera can check that a
// value is one it handed out without keeping anything per client.
#include <array>
#include <cstddef>
#include <span>

namespace pttcam::secure {

class ProcessMac {
 public:
  static constexpr std::size_t kKeySize = 32;
  static constexpr std::size_t kTagSize = 16;  // 128 bits: a forgery takes 2^128 guesses
  using Tag = std::array<std::byte, kTagSize>;

  ProcessMac();  // a fresh random key (throws if the CSPRNG fails)
  explicit ProcessMac(const std::array<std::byte, kKeySize>& key) : key_(key) {}  // tests, vectors

  Tag tag(std::span<const std::byte> message) const;
  // Constant time in the tag's contents (CRYPTO_memcmp): a mismatch does not tell where.
  bool verify(std::span<const std::byte> message, std::span<const std::byte> tag) const;

 private:
  std::array<std::byte, kKeySize> key_{};
};

}  // namespace pttcam::secure
