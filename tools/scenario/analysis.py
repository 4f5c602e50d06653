"""Reads a scenario run's logs and finds every audio cut, in both directions, in seconds of the WAVs.

Two directions:
  talk        the client's talk, heard on the camera's speaker (camera-speaker.wav);
  camera_mic  the camera's microphone, heard on the client's speaker (client-speaker.wav).

A cut is a stretch of time in which the receiver should have played what the sender sent and did
not. The receivers' own cutoffs (summary `cutoffs` lists and the `*cutoff` events) say where a
gap inside a burst was; for a burst that stopped before its sender did (an outage, a power cycle,
the session cap) the receiver only knows where the sound stopped, so the end of the cut is where
the sender's end would have been heard: the sender's end plus the burst's talk-start latency.

Times in the logs are CLOCK_MONOTONIC microseconds. A WAV speaker starts its period clock right
before its program logs `camera_start` / `client_start` and writes its first period one period
(128 samples) later, so sample n is heard at start.t_us + 2.667 ms + n / 48 kHz.
"""
import csv
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

PERIOD_US = 128 * 1_000_000 / 48_000
MIN_CUT_US = 60_000
SENDER_PAUSE_US = 100_000  # no packet this long inside a stream: the sender did not run  # the receivers' default --cutoff-ms: shorter gaps are concealment, not cuts
# Session-level events this long after a burst stopped can still be what stopped it (a keepalive
# timeout fires seconds after the link went quiet).
EXPLAIN_AFTER_US = 8_000_000
RECEIVER_CAUSES = ("loss", "bandwidth", "late_packets", "head_clipped", "tail_clipped")
WAV_OF = {"talk": "camera", "camera_mic": "client"}
DIRECTION_TEXT = {"talk": "client talk heard on the camera's speaker",
                  "camera_mic": "camera microphone heard on the client's speaker"}
PROXY_DIR = {"talk": "up", "camera_mic": "down"}
DROP_TEXT = {"drop_outage": "network outage", "drop_queue": "bottleneck queue full",
             "drop_burst": "burst loss", "drop_loss": "random loss"}


def load_jsonl(path: Path) -> list[dict]:
    rows = []
    if not path.is_file():
        return rows
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a line cut short by a killed program
    return rows


def load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def load_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@dataclass
class Cut:
    direction: str
    start_us: float
    end_us: float
    cause: str          # what stopped the sound: a receiver cause or a session/camera cause
    why: str = ""       # what the network did meanwhile (from the proxy's log), if anything
    burst: int | None = None
    sources: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return (self.end_us - self.start_us) / 1e6


@dataclass
class Press:
    """One stretch of sending: a key press (talk) or a stretch of microphone streaming (camera_mic)."""
    start_us: float
    end_us: float
    outcome: str = "sent"      # sent, denied:REASON, failed:REASON, not_sent
    heard: bool = False
    protocol_burst: int | None = None


class Run:
    def __init__(self, out: Path):
        self.out = out
        self.camera = load_jsonl(out / "camera-events.jsonl")
        self.client = load_jsonl(out / "client-events.jsonl")
        self.camera_summary = load_json(out / "camera-summary.json")
        self.client_summary = load_json(out / "client-summary.json")
        self.proxy = load_jsonl(out / "proxy-packets.jsonl")
        self.packets = {"talk": load_csv(out / "camera-packets.csv"),
                        "camera_mic": load_csv(out / "client-packets.csv")}
        self.wav_origin_us = {
            "camera": self._first(self.camera, "camera_start"),
            "client": self._first(self.client, "client_start"),
        }
        for k, v in self.wav_origin_us.items():
            if v is not None:
                self.wav_origin_us[k] = v + PERIOD_US
        # One clock for the whole run: the earliest program start.
        starts = [v for v in self.wav_origin_us.values() if v is not None]
        self.t0_us = min(starts) if starts else 0
        self.end_us = self._client_end()

    @staticmethod
    def _first(events, name, key="t_us"):
        for e in events:
            if e.get("event") == name:
                return e.get(key)
        return None

    def _client_end(self) -> float:
        """When the client left its last live view (or stopped): nothing is expected after it."""
        ends = [e["t_us"] for e in self.client if e.get("event") == "session_end" and e.get("reason") == "client_stopped"]
        stop = self._first(self.client, "client_stop")
        if ends:
            return ends[-1]
        return stop if stop is not None else float("inf")

    def wav_s(self, direction: str, t_us: float) -> float | None:
        origin = self.wav_origin_us[WAV_OF[direction]]
        return None if origin is None else (t_us - origin) / 1e6

    # ---- what was sent ----
    def presses(self, direction: str) -> list[Press]:
        return self._talk_presses() if direction == "talk" else self._mic_streams()

    def _talk_presses(self) -> list[Press]:
        presses: list[Press] = []
        for e in self.client:
            ev = e.get("event")
            if ev == "key_down":
                presses.append(Press(e["t_us"], float("inf")))
            elif not presses:
                continue
            elif ev == "key_up" and presses[-1].end_us == float("inf"):
                presses[-1].end_us = e["t_us"]
            elif ev == "talk_denied" and presses[-1].outcome == "sent":
                presses[-1].outcome = "denied:" + e.get("reason", "?")
                presses[-1].protocol_burst = e.get("burst")
            elif ev == "talk_failed" and presses[-1].outcome == "sent":
                presses[-1].outcome = "failed:" + e.get("reason", "?")
            elif ev == "talk_granted":
                presses[-1].protocol_burst = e.get("burst")
        for p in presses:
            if p.end_us == float("inf"):
                p.end_us = self.end_us
        return presses

    def _mic_streams(self) -> list[Press]:
        streams: dict[int, Press] = {}
        stops = [e["t_us"] for e in self.camera if e.get("event") in ("power_cycle", "camera_stop")]
        for e in self.camera:
            if e.get("event") == "burst_first_packet":
                start = e.get("key_down_us") or e["t_us"]
                later = [s for s in stops if s > start]
                streams[e["burst"]] = Press(start, min(later) if later else self.end_us)
            elif e.get("event") == "burst_last_packet" and e.get("burst") in streams:
                streams[e["burst"]].end_us = e["t_us"]
        for s in streams.values():
            s.end_us = min(s.end_us, self.end_us)
        return [s for s in streams.values() if s.end_us > s.start_us]

    # ---- what was heard ----
    def heard_bursts(self, direction: str) -> list[dict]:
        name = "burst_summary" if direction == "talk" else "camera_audio_burst_summary"
        log = self.camera if direction == "talk" else self.client
        bursts = [e for e in log if e.get("event") == name]
        if not bursts:  # a log cut short: the summary has them too
            summary = self.camera_summary if direction == "talk" else self.client_summary.get("camera_audio", {})
            bursts = list(summary.get("per_burst", []))
        return sorted(bursts, key=lambda b: b.get("first_play_us", 0))

    def receiver_cutoffs(self, direction: str) -> list[dict]:
        """Every receiver cutoff from every place it is written, each once."""
        if direction == "talk":
            log, name, summary = self.camera, "cutoff", self.camera_summary
        else:
            log, name, summary = self.client, "camera_audio_cutoff", self.client_summary.get("camera_audio", {})
        found = {}
        lists = [summary.get("cutoffs", [])]
        lists += [b.get("cutoffs", []) for b in self.heard_bursts(direction)]
        lists.append([e for e in log if e.get("event") == name and "at_us" in e])
        for lst in lists:
            for c in lst:
                key = (c.get("burst"), c.get("at_us"), c.get("cause"))
                found.setdefault(key, {"burst": c.get("burst"), "at_us": c.get("at_us"), "cause": c.get("cause"),
                                       "duration_ms": c.get("duration_ms") or 0.0})
        return sorted(found.values(), key=lambda c: c["at_us"] or 0)

    def session_causes(self, direction: str) -> list[tuple[float, str, str]]:
        """(t_us, cause, where) of everything that ends a burst from outside the receiver."""
        out = []
        for e in self.camera:
            ev = e.get("event")
            if ev == "power_cycle":
                out.append((e["t_us"], "power_cycle", "camera power_cycle"))
            elif direction == "talk" and ev == "cutoff" and "session_id" in e and e.get("cause") != "client_stopped":
                out.append((e["t_us"], e["cause"], "camera session cutoff"))
            elif direction == "talk" and ev == "burst_cut" and e.get("cause") not in ("power_cycle",):
                out.append((e["t_us"], e["cause"], "camera burst_cut"))
            elif ev == "session_end" and e.get("reason") in ("time_limit", "keepalive_timeout"):
                cause = "session_cap" if e["reason"] == "time_limit" else e["reason"]
                out.append((e["t_us"], cause, "camera session_end"))
        for e in self.client:
            ev = e.get("event")
            if ev == "camera_not_responding":
                out.append((e["t_us"], "keepalive_timeout", "client camera_not_responding"))
            elif ev == "cutoff" and direction == "talk":
                out.append((e["t_us"], e["cause"], "client session cutoff"))
            elif ev == "session_end" and e.get("reason") not in ("client_stopped",):
                cause = "session_cap" if e.get("reason") == "time_limit" else e.get("reason", "?")
                out.append((e["t_us"], cause, "client session_end"))
        return sorted(out)

    def audio_seqs(self, direction: str) -> set[int] | None:
        """The RTP sequence numbers of this direction's audio: the span the receiver's packet log
        covers (audio numbers run on across bursts). The camera's video is RTP too, numbered apart."""
        seqs = [int(r["seq"]) for r in self.packets[direction] if r.get("seq", "").isdigit()]
        if not seqs:
            return None
        span, first, offset, prev = set(), seqs[0], 0, seqs[0]
        lo = hi = 0
        for q in seqs[1:]:
            step = (q - prev + 32768) % 65536 - 32768  # wrap-aware
            offset += step
            prev = q
            lo, hi = min(lo, offset), max(hi, offset)
        for k in range(lo, hi + 1):
            span.add((first + k) % 65536)
        return span

    def network_why(self, direction: str, start_us: float, end_us: float, latency_us: float) -> str:
        """What the link did to this direction's audio while the cut audio was on its way."""
        lo, hi = start_us - latency_us - 50_000, end_us - latency_us + 50_000
        audio = self.audio_seqs(direction)
        fates: dict[str, int] = {}
        delays, arrivals = [], []
        for p in self.proxy:
            if (p.get("dir") == PROXY_DIR[direction] and "rtp_seq" in p and (audio is None or p["rtp_seq"] in audio)
                    and lo - 300_000 <= p.get("t_in_us", 0) <= hi + 300_000):
                arrivals.append(p["t_in_us"])
                if not lo <= p["t_in_us"] <= hi:
                    continue
                fates[p["fate"]] = fates.get(p["fate"], 0) + 1
                if p.get("t_out_us"):
                    delays.append((p["t_out_us"] - p["t_in_us"]) / 1000)
        drops = {k: v for k, v in fates.items() if k in DROP_TEXT}
        if drops:
            worst = max(drops, key=drops.get)
            return f"{DROP_TEXT[worst]}: {sum(drops.values())} of {sum(fates.values())} packets dropped"
        # Nothing dropped: did the sender stop sending for a while? A frame is 20 ms; a pause of many
        # frames inside a stream is the sending process not running (on a loaded test machine).
        pause = max((b - a for a, b in zip(arrivals, arrivals[1:])), default=0)
        if SENDER_PAUSE_US < pause < 1_000_000:
            return f"nothing dropped; the sender sent nothing for {pause / 1000:.0f} ms: the machine stalled?"
        late = sum(1 for r in self.packets[direction] if r.get("fate") == "late"
                   and start_us <= float(r.get("arrival_us") or 0) <= end_us + 500_000)
        if late:
            delay = f", link delay up to {max(delays):.0f} ms" if delays else ""
            return f"{late} packet{'s' if late > 1 else ''} arrived late{delay}"
        if sum(fates.values()) == 0 and hi - lo > 200_000:
            return "no packets sent"
        return ""

def _latency_us(bursts: list[dict]) -> float:
    known = [b["talk_start_ms"] * 1000 for b in bursts if b.get("talk_start_ms") not in (None, -1)]
    return statistics.median(known) if known else 100_000.0


def find_cuts(run: Run, direction: str) -> tuple[list[Cut], list[Press]]:
    presses = run.presses(direction)
    bursts = run.heard_bursts(direction)
    cutoffs = run.receiver_cutoffs(direction)
    causes = run.session_causes(direction)
    typical = _latency_us(bursts)
    cuts: list[Cut] = []
    used = set()

    def explain(stop_us: float, fallback: str) -> str:
        for t, cause, _ in causes:
            if stop_us - 300_000 <= t <= stop_us + EXPLAIN_AFTER_US:
                return cause
        return fallback

    for press in presses:
        if press.outcome != "sent":
            continue
        # The burst this press became: it starts playing after the press and, unless its first packet
        # was lost, carries the press's key-down time (a stray burst, e.g. a previous session's end
        # repeats arriving after a renewal, carries none).
        window = [i for i, b in enumerate(bursts) if i not in used
                  and press.start_us <= b.get("first_play_us", 0) <= press.end_us + 2_000_000]
        known = [i for i in window if bursts[i].get("talk_start_ms") not in (None, -1)]
        match = (known or window or [None])[0]
        if match is None:
            if press.end_us - press.start_us >= MIN_CUT_US:
                start, end = press.start_us + typical, press.end_us + typical
                cause = explain(press.start_us, "not_heard")
                cuts.append(Cut(direction, start, end, cause, run.network_why(direction, start, end, typical),
                                sources=["no burst_summary for this press"]))
            continue
        used.add(match)
        press.heard = True
        b = bursts[match]
        latency = b["talk_start_ms"] * 1000 if b.get("talk_start_ms") not in (None, -1) else typical
        expected_end = min(press.end_us + latency, run.end_us)
        if b.get("terminated") or b.get("ended_by") == "end":
            continue
        # The sound stopped before the sender did: where it stopped, and what stopped it.
        tail = [c for c in cutoffs if c["burst"] == b.get("burst") and c["cause"] == "tail_clipped"]
        stop = min([c["at_us"] for c in tail] + [b.get("last_play_end_us", expected_end)])
        ended_by = b.get("ended_by", "timeout")
        if expected_end - stop < MIN_CUT_US:
            continue
        cause = ended_by if ended_by not in ("timeout", "end") else explain(stop, "tail_clipped")
        cuts.append(Cut(direction, stop, expected_end, cause, run.network_why(direction, stop, expected_end, latency),
                        burst=b.get("burst"), sources=[f"burst {b.get('burst')} ended_by {ended_by}"]
                        + [f"tail_clipped {c['duration_ms']:.0f} ms" for c in tail]))

    matched = {bursts[i].get("burst") for i in used}
    burst_latency = {b.get("burst"): b["talk_start_ms"] * 1000 for b in bursts
                     if b.get("talk_start_ms") not in (None, -1)}
    for c in cutoffs:
        if c["cause"] in RECEIVER_CAUSES and c["cause"] != "tail_clipped" and c["at_us"] is not None:
            if c["burst"] not in matched:
                continue  # a burst no sender sent as such (see above): nothing said was lost
            start = c["at_us"]
            end = start + c["duration_ms"] * 1000
            if c["cause"] == "head_clipped":  # at_us is where playing began: the start before it is missing
                start, end = start - c["duration_ms"] * 1000, start
            if end - start < MIN_CUT_US:
                continue
            latency = burst_latency.get(c["burst"], typical)
            cuts.append(Cut(direction, start, end, c["cause"], run.network_why(direction, start, end, latency),
                            burst=c["burst"], sources=[f"receiver cutoff {c['cause']} {c['duration_ms']:.0f} ms"]))
    cuts.sort(key=lambda c: c.start_us)
    return cuts, presses


def analyse(out: Path) -> dict:
    run = Run(out)
    result = {"run": run, "cuts": [], "presses": {}}
    for d in ("talk", "camera_mic"):
        cuts, presses = find_cuts(run, d)
        result["cuts"] += cuts
        result["presses"][d] = presses
    result["cuts"].sort(key=lambda c: (c.direction != "talk", c.start_us))
    return result


def describe_cut(run: Run, c: Cut) -> str:
    a, b = run.wav_s(c.direction, c.start_us), run.wav_s(c.direction, c.end_us)
    where = f"at {a:.2f}–{b:.2f} s of the {WAV_OF[c.direction]} WAV" if a is not None else "(WAV start unknown)"
    why = f" ({c.why})" if c.why else ""
    return f"audio cut {c.duration_s:.2f} s {where}, cause {c.cause}{why}"
