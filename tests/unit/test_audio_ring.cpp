#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pttcam/audio/endpoint.hpp"
#include "pttcam/audio/spsc_ring.hpp"

using pttcam::audio::SpscRing;

namespace {

std::vector<int> iota_vector(std::size_t n, int first) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

std::string construct_error(std::size_t capacity) {
  try {
    SpscRing<int> ring(capacity);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

// Exposes the device-side entry points, as a sound card callback would call them.
class TestCapture final : public pttcam::audio::Capture {
 public:
  void start() override {}
  void stop() noexcept override {}
  std::string describe() const override { return "test"; }
  void input(const std::vector<float>& samples) { on_input(samples.data(), samples.size()); }
};

class TestPlayback final : public pttcam::audio::Playback {
 public:
  void start() override {}
  void stop() noexcept override {}
  std::string describe() const override { return "test"; }
  std::size_t period_samples() const noexcept override { return 128; }
  void output(std::vector<float>& buffer) { on_output(buffer.data(), buffer.size()); }
};

}  // namespace

TEST_CASE("SpscRing") {
  SUBCASE("capacity must be a power of two") {
    for (const std::size_t bad : {0u, 3u, 6u, 100u, 1000u, 16385u}) {
      CAPTURE(bad);
      CHECK(construct_error(bad) == "ring capacity must be a power of two");
    }
    for (const std::size_t good : {1u, 2u, 64u, 16384u}) {
      CAPTURE(good);
      CHECK(construct_error(good) == "<no exception>");
      CHECK(SpscRing<int>(good).capacity() == good);
    }
  }

  SUBCASE("push beyond capacity returns the partial count and keeps the oldest") {
    SpscRing<int> ring(8);
    const auto in = iota_vector(11, 100);
    CHECK(ring.push(in.data(), 5) == 5);
    CHECK(ring.size() == 5);
    CHECK(ring.push(in.data() + 5, 6) == 3);  // only 3 free
    CHECK(ring.size() == 8);
    CHECK(ring.push(in.data() + 8, 3) == 0);  // full: nothing overwritten
    std::vector<int> out(16, -1);
    CHECK(ring.pop(out.data(), out.size()) == 8);
    CHECK(std::vector<int>(out.begin(), out.begin() + 8) == iota_vector(8, 100));
    CHECK(out[8] == -1);  // pop wrote nothing past what it returned
    CHECK(ring.size() == 0);
    CHECK(ring.pop(out.data(), 4) == 0);
  }

  SUBCASE("wrap-around: pushes and pops that straddle the end") {
    // Table: (offset to advance the indices first, push size, pop size) with capacity 8; every
    // row makes the copy split across the end of the storage on push, pop or both.
    struct Row { std::size_t advance, push, pop; };
    const Row rows[] = {{6, 5, 5}, {7, 8, 8}, {5, 6, 2}, {1, 8, 3}, {3, 7, 7}, {8, 4, 4}, {15, 8, 5}};
    for (const auto& row : rows) {
      CAPTURE(row.advance);
      CAPTURE(row.push);
      CAPTURE(row.pop);
      SpscRing<int> ring(8);
      std::vector<int> scratch(8);
      for (std::size_t done = 0; done < row.advance;) {  // move both indices to `advance`
        const std::size_t step = std::min<std::size_t>(row.advance - done, 8);
        REQUIRE(ring.push(scratch.data(), step) == step);
        REQUIRE(ring.pop(scratch.data(), step) == step);
        done += step;
      }
      const auto in = iota_vector(row.push, 1000);
      CHECK(ring.push(in.data(), in.size()) == row.push);
      CHECK(ring.size() == row.push);
      std::vector<int> got;
      std::vector<int> out(row.pop);
      while (const std::size_t n = ring.pop(out.data(), out.size())) got.insert(got.end(), out.begin(), out.begin() + n);
      CHECK(got == in);
      CHECK(ring.size() == 0);
    }
  }

  SUBCASE("interleaved pushes and pops keep order across many wraps") {
    SpscRing<std::uint32_t> ring(16);
    std::uint32_t next_in = 0;
    std::uint32_t next_out = 0;
    std::vector<std::uint32_t> buf(16);
    for (int round = 0; round < 200; ++round) {
      const std::size_t push_n = static_cast<std::size_t>(round * 7 % 13) + 1;
      for (std::size_t i = 0; i < push_n; ++i) buf[i] = next_in + static_cast<std::uint32_t>(i);
      next_in += static_cast<std::uint32_t>(ring.push(buf.data(), push_n));
      const std::size_t pop_n = static_cast<std::size_t>(round * 5 % 11) + 1;
      const std::size_t got = ring.pop(buf.data(), pop_n);
      for (std::size_t i = 0; i < got; ++i) REQUIRE(buf[i] == next_out++);
      CHECK(ring.size() == next_in - next_out);
    }
    CHECK(next_out > 300);  // the ring really did wrap many times
  }

  SUBCASE("discard drops everything readable and reports how much") {
    SpscRing<int> ring(8);
    const auto in = iota_vector(8, 0);
    CHECK(ring.discard() == 0);
    ring.push(in.data(), 6);
    std::vector<int> out(8);
    CHECK(ring.pop(out.data(), 2) == 2);
    CHECK(ring.discard() == 4);
    CHECK(ring.size() == 0);
    CHECK(ring.pop(out.data(), 8) == 0);
    // Space freed by discard is reusable and the next data comes out intact.
    CHECK(ring.push(in.data(), 8) == 8);
    CHECK(ring.pop(out.data(), 8) == 8);
    CHECK(out == in);
  }

  SUBCASE("size tracks pushes and pops") {
    SpscRing<float> ring(4);
    const float in[4] = {1, 2, 3, 4};
    float out[4] = {};
    CHECK(ring.size() == 0);
    ring.push(in, 3);
    CHECK(ring.size() == 3);
    ring.pop(out, 1);
    CHECK(ring.size() == 2);
    ring.push(in, 4);  // 2 fit
    CHECK(ring.size() == 4);
    ring.pop(out, 4);
    CHECK(ring.size() == 0);
    CHECK(out[0] == 2.0f);
    CHECK(out[1] == 3.0f);
    CHECK(out[2] == 1.0f);
    CHECK(out[3] == 2.0f);
  }

  SUBCASE("stress: one producer, one consumer, random chunks, nothing lost or duplicated") {
    constexpr std::uint32_t kCount = 2'000'000;
    SpscRing<std::uint32_t> ring(1024);
    std::atomic<bool> producer_done{false};
    std::thread producer([&ring, &producer_done] {
      std::mt19937 rng(12345);
      std::uniform_int_distribution<std::size_t> chunk(1, 700);
      std::vector<std::uint32_t> buf(700);
      std::uint32_t next = 0;
      while (next < kCount) {
        const std::size_t n = std::min<std::size_t>(chunk(rng), kCount - next);
        for (std::size_t i = 0; i < n; ++i) buf[i] = next + static_cast<std::uint32_t>(i);
        // What did not fit is retried from the first value not taken.
        next += static_cast<std::uint32_t>(ring.push(buf.data(), n));
        if (ring.size() == ring.capacity()) std::this_thread::yield();
      }
      producer_done.store(true, std::memory_order_release);
    });
    std::mt19937 rng(678);
    std::uniform_int_distribution<std::size_t> chunk(1, 900);
    std::vector<std::uint32_t> buf(900);
    std::uint32_t expected = 0;
    std::uint64_t errors = 0;
    while (expected < kCount) {
      const std::size_t got = ring.pop(buf.data(), chunk(rng));
      for (std::size_t i = 0; i < got; ++i) {
        if (buf[i] != expected) ++errors;
        expected = buf[i] + 1;  // resynchronise so one fault is counted once
      }
      if (got == 0) {
        // Everything the producer pushed is visible once it is done: an empty ring then means
        // values were lost, which the checks below report instead of hanging.
        if (producer_done.load(std::memory_order_acquire) && ring.size() == 0) break;
        std::this_thread::yield();
      }
    }
    producer.join();
    CHECK(errors == 0);
    CHECK(expected == kCount);
    CHECK(ring.size() == 0);
  }
}

TEST_CASE("Capture and Playback counters") {
  SUBCASE("capture counts samples, callbacks and the newest samples dropped when full") {
    TestCapture capture;
    const std::size_t cap = pttcam::audio::kRingCapacity;
    std::vector<float> period(cap - 100);
    for (std::size_t i = 0; i < period.size(); ++i) period[i] = static_cast<float>(i);
    capture.input(period);
    CHECK(capture.available() == cap - 100);
    CHECK(capture.counters().overrun_samples.load() == 0);
    std::vector<float> second(300, -1.0f);
    capture.input(second);  // 100 fit, 200 dropped
    CHECK(capture.available() == cap);
    CHECK(capture.counters().overrun_samples.load() == 200);
    CHECK(capture.counters().callbacks.load() == 2);
    CHECK(capture.counters().samples.load() == cap + 200);
    // The oldest samples are kept: the drop is of the newest.
    std::vector<float> out(4);
    CHECK(capture.read(out) == 4);
    CHECK(out == std::vector<float>{0.0f, 1.0f, 2.0f, 3.0f});
    CHECK(capture.discard() == cap - 4);
    CHECK(capture.available() == 0);
    capture.input(second);
    CHECK(capture.counters().overrun_samples.load() == 200);  // room again: nothing more dropped
  }

  SUBCASE("playback fills the whole buffer with silence on underrun and counts the missing samples") {
    TestPlayback playback;
    CHECK(playback.space() == pttcam::audio::kRingCapacity);
    const std::vector<float> in{0.5f, -0.5f, 0.25f};
    CHECK(playback.write(in) == 3);
    CHECK(playback.queued() == 3);
    std::vector<float> device(8, 9.0f);  // garbage the callback must overwrite
    playback.output(device);
    CHECK(device == std::vector<float>{0.5f, -0.5f, 0.25f, 0, 0, 0, 0, 0});
    CHECK(playback.counters().underrun_samples.load() == 5);
    CHECK(playback.counters().samples.load() == 8);
    CHECK(playback.counters().callbacks.load() == 1);

    std::fill(device.begin(), device.end(), 9.0f);
    playback.output(device);  // ring empty: all silence
    CHECK(device == std::vector<float>(8, 0.0f));
    CHECK(playback.counters().underrun_samples.load() == 13);

    const std::vector<float> full(8, 0.125f);
    playback.write(full);
    playback.output(device);  // enough queued: no underrun
    CHECK(device == full);
    CHECK(playback.counters().underrun_samples.load() == 13);
    CHECK(playback.counters().samples.load() == 24);
    CHECK(playback.counters().callbacks.load() == 3);
  }
}

TEST_CASE("PeriodClock predicts the device's next periods from its latest one") {
  pttcam::audio::PeriodClock clock;
  CHECK(clock.after_us(1) == 0);  // the device has not run: no prediction
  clock.on_period(128);
  const std::int64_t last = clock.last_us();
  CHECK(last > 0);
  CHECK(clock.samples() == 128);
  // 128 samples at 48 kHz = 2666 us a period; a partial period still takes a whole one.
  CHECK(clock.after_us(1) == last + 2666);
  CHECK(clock.after_us(128) == last + 2666);
  CHECK(clock.after_us(129) == last + 5333);
  CHECK(clock.after_us(480) == last + 10666);  // a 10 ms frame: the 4th period completes it
  clock.on_period(256);
  CHECK(clock.after_us(1) == clock.last_us() + 5333);
}

TEST_CASE("PeriodClock stress: a device thread publishing while the io thread predicts") {
  // The invariant a reader relies on: once the device has run, a prediction is never 0 and never
  // goes back in time (each field is read whole; the two may come from neighbouring periods).
  pttcam::audio::PeriodClock clock;
  std::atomic<bool> done{false};
  std::atomic<std::size_t> reads{0};
  // The device runs until the reader has overlapped it for a while (on a loaded machine the reader
  // may not be scheduled before 200k periods are over).
  std::thread device([&] {
    for (int i = 0; i < 200'000 || reads.load(std::memory_order_relaxed) < 10'000; ++i) clock.on_period(128);
    done.store(true);
  });
  while (clock.last_us() == 0) std::this_thread::yield();
  std::int64_t previous = 0;
  bool ok = true;
  while (!done.load()) {
    const std::int64_t next = clock.after_us(1);
    ok = ok && next > 0 && next >= previous;
    previous = next;
    reads.fetch_add(1, std::memory_order_relaxed);
  }
  device.join();
  CHECK(ok);
  CHECK(reads.load() >= 10'000);
}
