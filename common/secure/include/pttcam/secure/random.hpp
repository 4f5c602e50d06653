#pragma once
// Unpredictable numbers from the operating system's CSPRNG (OpenSSL RAND_bytes): session ids and
// keys that an attacker who cannot see the traffic must not be able to guess.
#include <cstddef>
#include <cstdint>
#include <span>

namespace pttcam::secure {

// Fills `out`; throws std::runtime_error if the generator fails (it has no seed: nothing to send).
void random_bytes(std::span<std::byte> out);

// A uniformly random 64-bit number, never 0 (0 means "no session" on the wire).
std::uint64_t random_nonzero_u64();

}  // namespace pttcam::secure
