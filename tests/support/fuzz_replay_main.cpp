// Replays a fuzz target without libFuzzer: a seeded stream of random inputs, each also
// mutated byte by byte, so the parser's bounds checks run under CI with the normal compiler.
// Usage: fuzz_X [ITERATIONS] [FILE...]   (files are replayed first, as libFuzzer would)
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  long iterations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 100000;
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  std::mt19937 rng(12345);
  std::vector<std::uint8_t> buf;
  for (long i = 0; i < iterations; ++i) {
    buf.resize(rng() % 96);
    for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
    // Bias towards plausible headers so deeper layers are reached.
    if (!buf.empty() && (i % 2 == 0)) buf[0] = static_cast<std::uint8_t>(0x80 | (buf[0] & 0x3f));
    // Exact-size copy: reading one byte past the end is caught by ASan/valgrind.
    std::vector<std::uint8_t> exact(buf);
    LLVMFuzzerTestOneInput(exact.data(), exact.size());
  }
  std::printf("replayed %d corpus files and %ld inputs\n", argc > 2 ? argc - 2 : 0, iterations);
  return 0;
}
