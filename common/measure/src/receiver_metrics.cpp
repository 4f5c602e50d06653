#include "pttcam/measure/receiver_metrics.hpp"

#include <algorithm>
#include <stdexcept>

#include "pttcam/net/address.hpp"

namespace pttcam::measure {
namespace {

using jitter::FrameKind;
using media::Micros;

// Each drop is logged up to a cap, so a flood cannot fill the disk.
constexpr std::uint64_t kMaxDropsLogged = 1000;

const char* drop_reason(const media::Dropped& d) {
  switch (d.reason) {
    case media::DropReason::malformed: return d.parse_error ? rtp::to_string(*d.parse_error) : "malformed";
    case media::DropReason::oversize: return "oversize";
    case media::DropReason::wrong_payload_type: return "wrong_payload_type";
    case media::DropReason::bad_red: return d.red_error ? *d.red_error : "bad_red";
    case media::DropReason::bad_opus: return "bad_opus";
    case media::DropReason::bad_payload: return "bad_payload";
  }
  return "?";
}

// The cutoffs a receiver finds on its own; the others are cuts, reported by whoever cut.
bool found_by_receiver(const std::string& cause) {
  return cause == "loss" || cause == "bandwidth" || cause == "late_packets" || cause == "head_clipped" ||
         cause == "tail_clipped";
}

const char* fate_of(const jitter::PlayoutFrame& f) {
  return f.kind == FrameKind::normal ? "played" : f.redundant ? "red" : f.kind == FrameKind::fec ? "fec" : "lost";
}

}  // namespace

ReceiverMetrics::ReceiverMetrics(const Options& options, EventLog& events, std::string prefix)
    : events_(events), prefix_(std::move(prefix)), analyzer_(options.cutoff_ms) {
  if (!options.packets_csv.empty()) {
    csv_.open(options.packets_csv, std::ios::trunc);
    if (!csv_) throw std::runtime_error("cannot write packet log '" + options.packets_csv.string() + "'");
    csv_ << "seq,rtp_ts,ssrc,arrival_us,fate,play_us\n";
  }
}

// fate: played | fec (rebuilt from the next packet) | red (from a copy) | lost (concealed) | late |
// duplicate | too_large
void ReceiverMetrics::csv_row(std::uint16_t seq, std::uint32_t ts, std::uint32_t ssrc, const char* fate,
                              Micros arrival_us, Micros play_us) {
  if (!csv_.is_open()) return;
  csv_ << seq << ',' << ts << ',' << ssrc << ',';
  if (arrival_us) csv_ << arrival_us;
  csv_ << ',' << fate << ',';
  if (play_us) csv_ << play_us;
  csv_ << '\n';
}

void ReceiverMetrics::on_dropped(const media::Dropped& d) {
  ++drops_;
  if (drops_ <= kMaxDropsLogged)
    events_.write(
        "packet_dropped",
        {{"reason", drop_reason(d)}, {"bytes", d.bytes}, {"from", d.from ? net::to_string(*d.from) : std::string()}});
  if (drops_ == kMaxDropsLogged) events_.write("packet_dropped_log_capped", {{"after", kMaxDropsLogged}});
}

nlohmann::json ReceiverMetrics::report_json(const rtp::ReportBlock& b) {
  // RTCP jitter is in RTP timestamp units: 48 kHz for Opus (RFC 7587).
  return {{"ssrc", b.ssrc},
          {"fraction_lost_pct", b.fraction_lost * 100.0 / 256.0},
          {"cumulative_lost", b.cumulative_lost},
          {"extended_highest_seq", b.extended_highest_seq},
          {"jitter_ms", b.jitter / 48.0}};
}

void ReceiverMetrics::on_rtcp(const rtp::RtcpCompound& rtcp, const media::Endpoint& from, Micros now_us) {
  nlohmann::json reports = nlohmann::json::array();
  for (const auto& r : rtcp.all_reports()) {
    nlohmann::json blocks = nlohmann::json::array();
    for (const auto& b : r.report_blocks()) {
      blocks.push_back(report_json(b));
      far_end_ = blocks.back();
      far_end_["from_ssrc"] = r.ssrc;
    }
    nlohmann::json report{{"type", r.sender ? "SR" : "RR"}, {"ssrc", r.ssrc}, {"blocks", blocks}};
    if (r.sender) {
      report["packets_sent"] = r.sender->packet_count;
      report["octets_sent"] = r.sender->octet_count;
    }
    reports.push_back(report);
  }
  if (++rtcp_logged_ > kMaxDropsLogged) return;
  nlohmann::json fields{{"from", net::to_string(from)}, {"arrival_us", now_us}, {"reports", reports}};
  if (rtcp.cname_count > 0) fields["cname"] = std::string(rtcp.cnames[0].cname);
  if (rtcp.bye) fields["bye"] = true;
  events_.write(event("rtcp_received"), fields);
}

void ReceiverMetrics::on_rtcp_malformed(rtp::RtcpError error, const media::Endpoint& from) {
  if (++rtcp_logged_ > kMaxDropsLogged) return;
  events_.write(event("rtcp_dropped"), {{"reason", rtp::to_string(error)}, {"from", net::to_string(from)}});
}

void ReceiverMetrics::on_stream_chosen(const media::StreamChosen& c) {
  nlohmann::json fields{{"ssrc", c.ssrc}, {"from", c.from ? net::to_string(*c.from) : std::string()}, {"reason", c.reason}};
  if (c.previous_ssrc) fields["previous_ssrc"] = *c.previous_ssrc;
  events_.write(event("stream_playing"), fields);
}

// Already limited to one a second by the receiver.
void ReceiverMetrics::on_other_sender(const media::OtherSender& o) {
  events_.write(event("other_sender_ignored"), {{"ssrc", o.ssrc},
                                                {"from", o.from ? net::to_string(*o.from) : std::string()},
                                                {"playing_ssrc", o.playing_ssrc},
                                                {"packets", o.packets}});
}

void ReceiverMetrics::on_arrived(const media::Arrived& a) {
  const auto& h = a.header;
  switch (a.result) {
    case jitter::InsertResult::accepted:
      if (a.burst_start)
        events_.write(event("burst_first_packet_received"), {{"seq", h.sequence},
                                                             {"rtp_ts", h.timestamp},
                                                             {"arrival_us", a.info.arrival_us},
                                                             {"key_down_us", a.info.key_down_us.value_or(0)}});
      break;
    case jitter::InsertResult::late:
      analyzer_.on_late(h.sequence);
      csv_row(h.sequence, h.timestamp, h.ssrc, "late", a.info.arrival_us, 0);
      break;
    case jitter::InsertResult::duplicate:
      csv_row(h.sequence, h.timestamp, h.ssrc, "duplicate", a.info.arrival_us, 0);
      break;
    case jitter::InsertResult::too_large:
      csv_row(h.sequence, h.timestamp, h.ssrc, "too_large", a.info.arrival_us, 0);
      break;
  }
}

void ReceiverMetrics::on_played(const media::Played& p) {
  const auto& f = p.frame;
  // What the sender said about the packet this frame plays (or the copy standing in for it).
  const media::PacketInfo* said = f.kind == FrameKind::normal || f.redundant ? p.info : nullptr;
  if (f.burst_start)
    events_.write(event("burst_play_start"),
                  {{"seq", f.sequence & 0xffff},
                   {"capture_us", f.capture_us.value_or(0)},
                   {"play_us", p.play_us},
                   {"talk_start_ms", said && said->key_down_us ? (p.play_us - *said->key_down_us) / 1000.0 : -1.0}});
  analyzer_.on_frame(f, said, p.play_us);
  analyzer_.on_idle(p.now_us);
  if (f.kind != FrameKind::silence)
    csv_row(static_cast<std::uint16_t>(f.sequence), p.info ? p.info->timestamp : 0, p.ssrc, fate_of(f),
            p.info && f.kind == FrameKind::normal ? p.info->arrival_us : 0, p.play_us);
  if (f.burst_end) {
    nlohmann::json fields{{"last_play_us", p.play_us},
                          {"terminated", f.kind != FrameKind::silence},
                          {"ended_by", f.kind != FrameKind::silence ? "end" : f.sender_stopped ? "sender_stopped" : "timeout"}};
    if (f.sequence >= 0) fields["seq"] = f.sequence & 0xffff;  // a timeout ends on silence
    events_.write(event("burst_play_end"), fields);
  }
  report_finished_bursts();
}

void ReceiverMetrics::on_idle(Micros now_us) {
  analyzer_.on_idle(now_us);
  report_finished_bursts();
}

void ReceiverMetrics::on_cut(std::string_view cause, Micros heard_until_us) {
  analyzer_.on_cut(std::string(cause), heard_until_us);
  events_.write(event("burst_cut"), {{"cause", cause}, {"heard_until_us", heard_until_us}});
  report_finished_bursts();
}

void ReceiverMetrics::on_stopped() {
  analyzer_.finish_all();
  report_finished_bursts();
}

void ReceiverMetrics::report_finished_bursts() {
  for (const auto& b : analyzer_.take_finished()) {
    events_.write(event("burst_summary"), to_json(b));
    for (const auto& c : b.cutoffs)
      if (found_by_receiver(c.cause)) events_.write(event("cutoff"), to_json(c));
  }
}

namespace {

nlohmann::json packet_counts(const media::Receiver& r) {
  const auto& c = r.counters();
  const auto& pc = r.jitter_buffer().counters();
  nlohmann::json malformed = nlohmann::json::object();
  for (std::size_t i = 0; i < rtp::kParseErrorCount; ++i)
    if (c.by_reason.by_error[i]) malformed[rtp::to_string(static_cast<rtp::ParseError>(i))] = c.by_reason.by_error[i];
  return {{"datagrams", c.datagrams},
          {"malformed", c.malformed},
          {"malformed_by_reason", malformed},
          {"wrong_payload_type", c.wrong_payload_type},
          {"last_wrong_payload_type", c.last_wrong_payload_type},
          {"payload_type", r.payload_type()},
          {"red_payload_type", r.options().red_payload_type},
          {"rtcp_received", c.rtcp_received},
          {"rtcp_malformed", c.rtcp_malformed},
          {"bad_opus", c.bad_opus},
          {"bad_payload", c.bad_payload},
          {"bad_red", c.bad_red},
          {"red_copies_unusable", c.red_copies_unusable},
          {"red_copies_received", pc.redundant_received - c.end_repeats},
          {"end_repeats", c.end_repeats},
          {"end_repeats_used", c.end_repeats_used},
          {"end_repeats_stale", c.end_repeats_stale},
          {"decode_errors", c.decode_errors},
          {"packets", pc.received},
          {"duplicate", pc.duplicate},
          {"rtp_expected", c.rtp_expected},
          {"rtp_lost", c.rtp_expected - c.rtp_received},
          {"late", pc.late},
          {"lost", pc.lost},
          {"reordered", pc.reordered},
          {"burst_jitter_ms", pc.interarrival_jitter_us / 1000.0}};
}

// RFC 3550 A.8 jitter of the stream playing, over every packet (pauses too), from the kernel's
// arrival stamps: the last value is what our receiver reports carry; mean and max as packet
// analysers show them.
nlohmann::json reception_jitter(const media::Receiver& r) {
  const auto* s = r.reception();
  const auto ms = [s](double units) { return s ? units * 1000.0 / s->clock_rate() : 0.0; };
  return {{"interarrival_jitter_ms", ms(s ? s->jitter() : 0)},
          {"interarrival_jitter_mean_ms", ms(s ? s->jitter_mean() : 0)},
          {"interarrival_jitter_max_ms", ms(s ? s->jitter_max() : 0)}};
}

nlohmann::json playout_counts(const media::Receiver& r) {
  const auto& pc = r.jitter_buffer().counters();
  const auto& sc = r.speaker().counters();
  const auto frames = pc.normal + pc.fec_recovered + pc.concealed;
  return {{"frames_red", pc.redundancy_recovered},
          {"frames_normal", pc.normal},
          {"frames_fec", pc.fec_recovered},
          {"frames_concealed", pc.concealed},
          {"frames_stretched", pc.stretched},
          {"concealed_pct", frames ? 100.0 * static_cast<double>(pc.concealed) / static_cast<double>(frames) : 0.0},
          {"concealment_events", pc.concealment_events},
          {"target_delay_ms", static_cast<double>(r.jitter_buffer().target_delay_us()) / 1000.0},
          {"bursts", pc.bursts},
          {"bursts_without_marker", pc.bursts_without_marker},
          {"bursts_unterminated", pc.bursts_unterminated},
          {"bursts_sender_stopped", pc.bursts_stopped},
          {"sequence_jumps", r.counters().sequence_jumps},
          {"sender_restarts", r.counters().resyncs},
          {"other_sender_packets", r.counters().other_sender_packets},
          {"bursts_cut", r.counters().cuts},
          {"stream_changes", pc.stream_changes},
          {"speaker", r.speaker().describe()},
          {"speaker_underrun_samples", sc.underrun_samples.load()},
          {"speaker_device_xruns", sc.device_flags.load()}};
}

}  // namespace

nlohmann::json ReceiverMetrics::summary(const media::Receiver& receiver) const {
  nlohmann::json bursts = nlohmann::json::array();
  nlohmann::json cutoffs = nlohmann::json::array();
  for (const auto& b : analyzer_.all()) {
    bursts.push_back(to_json(b));
    for (const auto& c : b.cutoffs) cutoffs.push_back(to_json(c));
  }
  const auto& m2e = analyzer_.mouth_to_ear();
  const auto& ts = analyzer_.talk_start();
  auto s = packet_counts(receiver);
  s.update(playout_counts(receiver));
  s.update(reception_jitter(receiver));
  s["mouth_to_ear_ms"] = {
      {"p50", m2e.percentile(50)}, {"p95", m2e.percentile(95)}, {"p99", m2e.percentile(99)}, {"max", m2e.max()}};
  s["talk_start_ms"] = {{"p50", ts.percentile(50)}, {"max", ts.max()}};
  s["far_end_report"] = far_end_;
  s["cutoff_count"] = cutoffs.size();
  s["cutoffs"] = cutoffs;
  s["per_burst"] = bursts;
  // The newest bursts only, in a long run: the rest are in the event log (burst_summary).
  s["per_burst_finished"] = analyzer_.bursts();
  s["talk_seconds"] = analyzer_.talk_seconds();
  return s;
}

}  // namespace pttcam::measure
