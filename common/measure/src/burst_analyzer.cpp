#include "pttcam/measure/burst_analyzer.hpp"

#include <algorithm>
#include <cmath>

namespace pttcam::measure {
namespace {

constexpr double kSamplesPerMs = 48.0;
// How long a burst cut by a timeout may still resume as the same burst (an outage ending).
constexpr Micros kResumeWindowUs = 10'000'000;
// Packets that went missing (or came late) while the delay stood this much above the burst's
// lowest mean a queue had filled: the link is slower than the stream (a bandwidth cap). Jitter
// alone moves single packets; a queue moves every packet after it, and keeps them up.
constexpr Micros kQueueWindowUs = 1'000'000;
constexpr Micros kQueueGrowthUs = 40'000;

}  // namespace

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::lround(p / 100.0 * static_cast<double>(v.size() - 1)));
  return v[i];
}

void BurstAnalyzer::on_frame(const jitter::PlayoutFrame& frame, const PacketInfo* packet, Micros play_us) {
  if (frame.burst_start && suspended_) {
    // The same talk burst, back after a gap that outlasted the concealment timeout (an outage):
    // one cutoff from where the sound stopped to where it resumes, not a clipped tail and head.
    if (packet && packet->burst_start_ts == suspended_->burst_start_ts) {
      resume(*packet, play_us);
    } else {
      finish_suspended();
    }
  }
  if (frame.burst_start && !current_) begin(packet, play_us);
  if (!current_) return;
  const Micros end_us = play_us + static_cast<Micros>(frame.samples / kSamplesPerMs * 1000.0);
  count(frame, packet, play_us, end_us);
  if (frame.kind != jitter::FrameKind::silence) current_->last_play_end_us = end_us;
  if (frame.burst_end) end(frame, play_us);
}

void BurstAnalyzer::begin(const PacketInfo* packet, Micros play_us) {
  current_ = BurstSummary{};
  current_->index = next_index_++;
  current_->first_play_us = play_us;
  runs_.clear();
  run_.reset();
  late_count_ = 0;
  delays_.clear();
  if (burst_mouth_to_ear_) {
    burst_mouth_to_ear_->clear();
  } else {
    burst_mouth_to_ear_ = std::make_unique<LatencyHistogram>();
  }
  lowest_delay_us_.reset();
  burst_start_ts_ = packet ? packet->burst_start_ts : std::nullopt;
  if (packet && packet->key_down_us) current_->talk_start_ms = static_cast<double>(play_us - *packet->key_down_us) / 1000.0;
  // The head is missing when the first packet played is not the burst's first one.
  if (packet && packet->burst_start_ts && packet->timestamp != *packet->burst_start_ts) {
    current_->head_clipped_ms =
        static_cast<double>(static_cast<std::uint32_t>(packet->timestamp - *packet->burst_start_ts)) / kSamplesPerMs;
    current_->cutoffs.push_back({current_->index, play_us, current_->head_clipped_ms, "head_clipped"});
  }
}

void BurstAnalyzer::count(const jitter::PlayoutFrame& frame, const PacketInfo* packet, Micros play_us, Micros end_us) {
  using jitter::FrameKind;
  switch (frame.kind) {
    case FrameKind::normal:
      close_run();
      ++current_->frames_normal;
      if (packet && packet->capture_us) {
        const double ms = static_cast<double>(play_us - *packet->capture_us) / 1000.0;
        burst_mouth_to_ear_->add(ms);
        mouth_to_ear_.add(ms);
      }
      if (packet && packet->key_up_us) current_->tail_ms = static_cast<double>(end_us - *packet->key_up_us) / 1000.0;
      if (packet && burst_start_ts_) note_delay(*packet, play_us);
      break;
    case FrameKind::fec:
      close_run();
      ++current_->frames_fec;
      break;
    case FrameKind::concealed:
      ++current_->frames_concealed;
      if (!run_) run_ = Run{play_us, 0, {}, queue_growth_us()};
      run_->samples += frame.samples;
      run_->sequences.push_back(frame.sequence);
      break;
    case FrameKind::silence: break;
  }
}

// The packet's one-way delay on the burst's timeline, for queue_growth_us().
void BurstAnalyzer::note_delay(const PacketInfo& packet, Micros play_us) {
  // Timestamps relative to the burst's first, so a wrap does not matter.
  const auto ticks = static_cast<std::uint32_t>(packet.timestamp - *burst_start_ts_);
  const Micros delay = packet.arrival_us - static_cast<Micros>(ticks) * 1000 / 48;
  delays_.push_back({play_us, delay});
  lowest_delay_us_ = std::min(lowest_delay_us_.value_or(delay), delay);
  while (!delays_.empty() && play_us - delays_.front().play_us > kQueueWindowUs) delays_.erase(delays_.begin());
}

void BurstAnalyzer::end(const jitter::PlayoutFrame& frame, Micros play_us) {
  const bool terminated = frame.kind != jitter::FrameKind::silence;
  current_->terminated = terminated;
  if (frame.sender_stopped) {
    take_back_waiting(frame.stopped_frames);
    finish("sender_stopped", current_->last_play_end_us);
    return;
  }
  if (!terminated && run_ && burst_start_ts_) {
    // The end never came, yet: the rest of the burst may still arrive after an outage.
    suspended_ = Suspended{std::move(*current_), *run_, *burst_start_ts_, play_us, std::move(burst_mouth_to_ear_)};
    current_.reset();
    run_.reset();
    return;
  }
  if (!terminated && run_) {
    // The end never came: the concealment that ran until the timeout stood in for the tail.
    current_->cutoffs.push_back({current_->index, run_->at_us, run_->samples / kSamplesPerMs, "tail_clipped"});
    run_.reset();
  }
  finish(terminated ? "end" : "timeout", current_->last_play_end_us);
}

// A stream without end flags ran out: the sender stopped or paused. The frames concealed while
// waiting for more were neither loss nor a clipped tail.
void BurstAnalyzer::take_back_waiting(int stopped_frames) {
  const auto stopped = static_cast<std::size_t>(std::max(stopped_frames, 0));
  current_->frames_concealed -= std::min<std::uint64_t>(current_->frames_concealed, stopped);
  if (!run_) return;
  const std::size_t n = std::min(stopped, run_->sequences.size());
  const int per_frame = run_->sequences.empty() ? 0 : run_->samples / static_cast<int>(run_->sequences.size());
  run_->sequences.resize(run_->sequences.size() - n);
  run_->samples -= per_frame * static_cast<int>(n);
  if (run_->sequences.empty()) run_.reset();
}

void BurstAnalyzer::on_late(std::uint16_t sequence) {
  if (current_ || suspended_) late_[late_count_++ % kLateKept] = sequence;
}

bool BurstAnalyzer::was_late(std::uint16_t sequence) const noexcept {
  const std::size_t n = std::min(late_count_, kLateKept);
  return std::find(late_.begin(), late_.begin() + static_cast<std::ptrdiff_t>(n), sequence) !=
         late_.begin() + static_cast<std::ptrdiff_t>(n);
}

// The median delay of the newest quarter of the last second's frames minus the lowest delay of
// the burst so far: how far a queue has pushed the packets up. Random jitter moves packets both
// ways and leaves that median near the bottom; a filling or full queue keeps it up.
Micros BurstAnalyzer::queue_growth_us() const {
  const std::size_t n = delays_.size();
  if (n < 4 || !lowest_delay_us_) return 0;  // a queue that fills at a burst's start counts too
  const std::size_t q = std::max<std::size_t>(n / 4, 1);
  std::vector<Micros> v;
  for (std::size_t i = n - q; i < n; ++i) v.push_back(delays_[i].delay_us);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(q / 2), v.end());
  return v[q / 2] - *lowest_delay_us_;
}

// A queue that filled explains both missing and late packets; else late means jitter.
const char* BurstAnalyzer::loss_cause(const Run& r, bool any_late) const {
  if (r.queue_growth_us >= kQueueGrowthUs) return "bandwidth";
  return any_late ? "late_packets" : "loss";
}

void BurstAnalyzer::resume(const PacketInfo& packet, Micros play_us) {
  current_ = std::move(suspended_->summary);
  burst_mouth_to_ear_ = std::move(suspended_->mouth_to_ear);
  const Run& gap = suspended_->tail;
  // Late if any packet between the first concealed one and this one turned up after its time.
  const auto from = static_cast<std::uint16_t>(gap.sequences.front());
  const auto span = static_cast<std::uint16_t>(static_cast<std::uint16_t>(packet.sequence) - from);
  const auto late_end = late_.begin() + static_cast<std::ptrdiff_t>(std::min(late_count_, kLateKept));
  const bool any_late = std::any_of(late_.begin(), late_end, [&](std::uint16_t s) {
    return static_cast<std::uint16_t>(s - from) < span;
  });
  current_->cutoffs.push_back(
      {current_->index, gap.at_us, static_cast<double>(play_us - gap.at_us) / 1000.0, loss_cause(gap, any_late)});
  suspended_.reset();
}

void BurstAnalyzer::finish_suspended() {
  if (!suspended_) return;
  std::optional<BurstSummary> playing = std::move(current_);
  std::unique_ptr<LatencyHistogram> playing_mouth_to_ear = std::move(burst_mouth_to_ear_);
  current_ = std::move(suspended_->summary);
  burst_mouth_to_ear_ = std::move(suspended_->mouth_to_ear);
  const Run& tail = suspended_->tail;
  current_->terminated = false;
  current_->cutoffs.push_back({current_->index, tail.at_us, tail.samples / kSamplesPerMs, "tail_clipped"});
  suspended_.reset();
  finish("timeout", current_->last_play_end_us);
  current_ = std::move(playing);
  burst_mouth_to_ear_ = std::move(playing_mouth_to_ear);
}

void BurstAnalyzer::finish_all() {
  finish_suspended();
  if (current_) finish("receiver_stopped", current_->last_play_end_us);
}

void BurstAnalyzer::on_idle(Micros now_us) {
  if (suspended_ && now_us - suspended_->since_us > kResumeWindowUs) finish_suspended();
}

// Only a run long enough to be a cutoff is kept for finish() to classify: a burst that conceals a
// frame now and then for hours keeps nothing.
void BurstAnalyzer::close_run() {
  if (run_ && run_->samples / kSamplesPerMs >= cutoff_ms_) runs_.push_back(std::move(*run_));
  run_.reset();
}

void BurstAnalyzer::cut_current(const std::string& cause, Micros play_us) {
  if (!current_) return;
  current_->cutoffs.push_back({current_->index, play_us, 0, cause});
  finish(cause, play_us);
}

void BurstAnalyzer::finish(const std::string& ended_by, Micros end_us) {
  close_run();
  burst_start_ts_.reset();
  // A run is a cutoff when it is long enough to be heard as one; it was jitter when any of its
  // packets turned up late, bandwidth when none did but the delay had been climbing before it,
  // loss otherwise.
  for (const auto& r : runs_) {
    const double ms = r.samples / kSamplesPerMs;
    if (ms < cutoff_ms_) continue;
    const bool any_late = std::any_of(r.sequences.begin(), r.sequences.end(),
                                      [&](std::int64_t s) { return was_late(static_cast<std::uint16_t>(s)); });
    current_->cutoffs.push_back({current_->index, r.at_us, ms, loss_cause(r, any_late)});
  }
  std::sort(current_->cutoffs.begin(), current_->cutoffs.end(),
            [](const Cutoff& a, const Cutoff& b) { return a.at_us < b.at_us; });
  current_->ended_by = ended_by;
  if (!current_->last_play_end_us) current_->last_play_end_us = end_us;
  if (const auto& m = burst_mouth_to_ear_) {
    current_->mouth_to_ear = {m->percentile(50), m->percentile(95), m->percentile(99), m->max(), m->count()};
  }
  if (current_->talk_start_ms) talk_start_.add(*current_->talk_start_ms);
  ++finished_;
  talk_seconds_ += static_cast<double>(current_->last_play_end_us - current_->first_play_us) / 1e6;
  done_.push_back(std::move(*current_));
  if (done_.size() > kKeptBursts) {
    done_.pop_front();
    if (reported_ > 0) --reported_;
  }
  current_.reset();
  runs_.clear();
  late_count_ = 0;
}

void BurstAnalyzer::on_cut(const std::string& cause, Micros play_us) {
  finish_suspended();
  cut_current(cause, play_us);
}

std::vector<BurstSummary> BurstAnalyzer::take_finished() {
  std::vector<BurstSummary> out(done_.begin() + static_cast<std::ptrdiff_t>(reported_), done_.end());
  reported_ = done_.size();
  return out;
}

nlohmann::json to_json(const Cutoff& c) {
  return {{"burst", c.burst}, {"at_us", c.at_us}, {"duration_ms", c.duration_ms}, {"cause", c.cause}};
}

nlohmann::json to_json(const BurstSummary& b) {
  nlohmann::json cutoffs = nlohmann::json::array();
  for (const auto& c : b.cutoffs) cutoffs.push_back(to_json(c));
  const auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"burst", b.index},
          {"first_play_us", b.first_play_us},
          {"last_play_end_us", b.last_play_end_us},
          {"talk_start_ms", opt(b.talk_start_ms)},
          {"tail_ms", opt(b.tail_ms)},
          {"head_clipped_ms", b.head_clipped_ms},
          {"frames_normal", b.frames_normal},
          {"frames_fec", b.frames_fec},
          {"frames_concealed", b.frames_concealed},
          {"mouth_to_ear_ms",
           {{"p50", b.mouth_to_ear.p50}, {"p95", b.mouth_to_ear.p95}, {"p99", b.mouth_to_ear.p99}, {"max", b.mouth_to_ear.max}}},
          {"terminated", b.terminated},
          {"ended_by", b.ended_by},
          {"cutoffs", cutoffs}};
}

}  // namespace pttcam::measure
