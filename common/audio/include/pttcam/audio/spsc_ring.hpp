#pragma once
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace pttcam::audio {

// Single-producer single-consumer ring of trivially copyable samples, allocated once.
// Capacity is a power of two; indices run free (unsigned wrap) so full and empty differ.
// Either side may ask size(): it is exact for the caller's own side and a lower/upper bound
// for the other side's progress, which is all a fill-level decision needs.
template <typename T>
class SpscRing {
 public:
  explicit SpscRing(std::size_t capacity)
      : capacity_(capacity), mask_(capacity - 1), data_(std::make_unique<T[]>(capacity)) {
    if (capacity == 0 || !std::has_single_bit(capacity))
      throw std::invalid_argument("ring capacity must be a power of two");
  }

  std::size_t capacity() const noexcept { return capacity_; }

  std::size_t size() const noexcept {
    return write_.load(std::memory_order_acquire) - read_.load(std::memory_order_acquire);
  }

  // Producer. Copies as many of `n` items as fit and returns that count (the caller counts
  // the rest as dropped: the ring never overwrites unread data).
  std::size_t push(const T* src, std::size_t n) noexcept {  // RT-safe: wait-free, no alloc
    const std::size_t w = write_.load(std::memory_order_relaxed);
    const std::size_t r = read_.load(std::memory_order_acquire);
    const std::size_t count = std::min(n, capacity_ - (w - r));
    copy_in(w, src, count);
    write_.store(w + count, std::memory_order_release);
    return count;
  }

  // Consumer. Copies up to `n` items out and returns the count.
  std::size_t pop(T* dst, std::size_t n) noexcept {  // RT-safe: wait-free, no alloc
    const std::size_t r = read_.load(std::memory_order_relaxed);
    const std::size_t w = write_.load(std::memory_order_acquire);
    const std::size_t count = std::min(n, w - r);
    copy_out(r, dst, count);
    read_.store(r + count, std::memory_order_release);
    return count;
  }

  // Consumer. Discards everything currently readable; returns how much.
  std::size_t discard() noexcept {
    const std::size_t r = read_.load(std::memory_order_relaxed);
    const std::size_t w = write_.load(std::memory_order_acquire);
    read_.store(w, std::memory_order_release);
    return w - r;
  }

 private:
  void copy_in(std::size_t at, const T* src, std::size_t n) noexcept {
    const std::size_t first = std::min(n, capacity_ - (at & mask_));
    std::memcpy(&data_[at & mask_], src, first * sizeof(T));
    std::memcpy(&data_[0], src + first, (n - first) * sizeof(T));
  }
  void copy_out(std::size_t at, T* dst, std::size_t n) const noexcept {
    const std::size_t first = std::min(n, capacity_ - (at & mask_));
    std::memcpy(dst, &data_[at & mask_], first * sizeof(T));
    std::memcpy(dst + first, &data_[0], (n - first) * sizeof(T));
  }

  const std::size_t capacity_;
  const std::size_t mask_;
  std::unique_ptr<T[]> data_;
  // Separate cache lines: the producer writes write_, the consumer writes read_.
  alignas(64) std::atomic<std::size_t> write_{0};
  alignas(64) std::atomic<std::size_t> read_{0};
};

}  // namespace pttcam::audio
