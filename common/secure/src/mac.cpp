#include "pttcam/secure/mac.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include "pttcam/secure/random.hpp"

namespace pttcam::secure {

ProcessMac::ProcessMac() { random_bytes(key_); }

ProcessMac::Tag ProcessMac::tag(std::span<const std::byte> message) const {
  std::array<unsigned char, EVP_MAX_MD_SIZE> full{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), full.data(), &length) == nullptr ||
      length < kTagSize)
    throw std::runtime_error("HMAC-SHA-256 failed");
  Tag t{};
  for (std::size_t i = 0; i < kTagSize; ++i) t[i] = std::byte{full[i]};
  return t;
}

bool ProcessMac::verify(std::span<const std::byte> message, std::span<const std::byte> candidate) const {
  if (candidate.size() != kTagSize) return false;
  const Tag expected = tag(message);
  return CRYPTO_memcmp(expected.data(), candidate.data(), kTagSize) == 0;
}

}  // namespace pttcam::secure
