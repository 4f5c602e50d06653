#!/usr/bin/env python3
"""tools/scenario's analysis and verdict on hand-written logs: where a cut is, how long, its cause, and
the verdict line it gives. No program runs."""
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from scenario import analysis, verdict  # noqa: E402

S = 1_000_000
T0 = 5_000 * S  # camera_start; the client starts 0.1 s later
PERIOD = analysis.PERIOD_US


def write_run(tmp: Path, camera: list[dict], client: list[dict], proxy: list[dict] = ()) -> Path:
    camera = [{"event": "camera_start", "t_us": T0}] + camera
    client = [{"event": "client_start", "t_us": T0 + S // 10}] + client
    for name, rows in (("camera-events.jsonl", camera), ("client-events.jsonl", client),
                       ("proxy-packets.jsonl", proxy)):
        (tmp / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp


def at(s: float) -> int:
    """Monotonic µs of s seconds into the camera WAV."""
    return int(T0 + PERIOD + s * S)


def press(down: float, up: float, burst: int) -> list[dict]:
    return [{"event": "key_down", "t_us": at(down)},
            {"event": "talk_granted", "burst": burst, "t_us": at(down) + 200},
            {"event": "key_up", "t_us": at(up)}]


class Analysis(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_a_burst_stopped_by_an_outage_is_cut_until_the_sender_end_would_have_been_heard(self):
        # Pressed 0.5-2.5 s, heard from 0.55 s; the sound stopped at 1.5 s, the receiver concealed
        # 100 ms and gave up (tail_clipped); the client gave up on the camera at 3.5 s.
        burst = {"event": "burst_summary", "burst": 1, "first_play_us": at(0.55), "last_play_end_us": at(1.6),
                 "talk_start_ms": 50.0, "terminated": False, "ended_by": "timeout", "t_us": at(4.0),
                 "cutoffs": [{"burst": 1, "at_us": at(1.5), "cause": "tail_clipped", "duration_ms": 100.0}]}
        proxy = [{"dir": "up", "rtp_seq": n, "t_in_us": at(1.0 + n * 0.02), "fate": "drop_outage" if n >= 25 else
                  "deliver"} for n in range(75)]
        write_run(self.dir, [burst], press(0.5, 2.5, 1) + [
            {"event": "camera_not_responding", "t_us": at(3.5), "silent_us": 2 * S},
            {"event": "session_end", "reason": "keepalive_timeout", "t_us": at(3.5)},
            {"event": "session_end", "reason": "client_stopped", "t_us": at(9.0)}], proxy)
        result = analysis.analyse(self.dir)
        self.assertEqual(len(result["cuts"]), 1)
        cut = result["cuts"][0]
        self.assertEqual((cut.direction, cut.cause), ("talk", "keepalive_timeout"))
        self.assertAlmostEqual(result["run"].wav_s("talk", cut.start_us), 1.5, places=3)
        self.assertAlmostEqual(result["run"].wav_s("talk", cut.end_us), 2.55, places=3)
        self.assertIn("network outage", cut.why)
        ok, line = verdict.judge({"cut": {"direction": "talk", "causes": ["keepalive_timeout"], "min_s": 0.7,
                                          "max_s": 1.6}}, result, [])
        self.assertTrue(ok, line)
        self.assertTrue(line.startswith("REPRODUCED: audio cut 1.05 s at 1.50–2.55 s of the camera WAV, "
                                        "cause keepalive_timeout (network outage"), line)

    def test_receiver_cutoffs_are_counted_once_and_short_gaps_are_not_cuts(self):
        loss = {"burst": 1, "at_us": at(1.0), "cause": "loss", "duration_ms": 80.0}
        short = {"burst": 1, "at_us": at(2.0), "cause": "loss", "duration_ms": 40.0}
        burst = {"event": "burst_summary", "burst": 1, "first_play_us": at(0.55), "last_play_end_us": at(2.6),
                 "talk_start_ms": 50.0, "terminated": True, "ended_by": "end", "cutoffs": [loss, short], "t_us": 0}
        write_run(self.dir, [burst, dict(loss, event="cutoff", t_us=at(3))], press(0.5, 2.5, 1))
        (self.dir / "camera-summary.json").write_text(json.dumps({"cutoffs": [loss, short]}))
        result = analysis.analyse(self.dir)
        self.assertEqual([(c.cause, round(c.duration_s, 3)) for c in result["cuts"]], [("loss", 0.08)])
        ok, line = verdict.judge({"no_cut": True}, result, [])
        self.assertFalse(ok)
        self.assertTrue(line.startswith("NOT REPRODUCED: expected no cut; found 1: audio cut 0.08 s at 1.00–1.08 s"),
                        line)

    def test_a_cut_while_the_sender_sent_nothing_is_put_on_the_machine(self):
        loss = {"burst": 1, "at_us": at(1.5), "cause": "late_packets", "duration_ms": 140.0}
        burst = {"event": "burst_summary", "burst": 1, "first_play_us": at(0.55), "last_play_end_us": at(2.6),
                 "talk_start_ms": 50.0, "terminated": True, "ended_by": "end", "cutoffs": [loss], "t_us": 0}
        sent = [t / 100 for t in range(50, 250, 2) if not 140 < t < 162]  # every 20 ms, but 1.40-1.62 s
        proxy = [{"dir": "up", "rtp_seq": n, "t_in_us": at(t), "t_out_us": at(t) + 4000, "fate": "deliver"}
                 for n, t in enumerate(sent)]
        write_run(self.dir, [burst], press(0.5, 2.5, 1), proxy)
        cut, = analysis.analyse(self.dir)["cuts"]
        self.assertEqual(cut.why, "nothing dropped; the sender sent nothing for 220 ms: the machine stalled?")

    def test_a_denied_press_fails_unless_expected(self):
        write_run(self.dir, [], [{"event": "key_down", "t_us": at(1.0)},
                                 {"event": "talk_denied", "burst": 1, "reason": "session_ending", "t_us": at(1.01)},
                                 {"event": "key_up", "t_us": at(2.0)}])
        result = analysis.analyse(self.dir)
        ok, line = verdict.judge({"no_cut": True}, result, [])
        self.assertEqual((ok, line), (False, "NOT REPRODUCED: press 1 denied session_ending"))
        ok, line = verdict.judge({"denied": "session_ending"}, result, [])
        self.assertEqual((ok, line), (True, "REPRODUCED: press 1 denied session_ending"))

    def test_a_program_failure_is_never_reproduced(self):
        write_run(self.dir, [], [])
        ok, line = verdict.judge({"no_cut": True}, analysis.analyse(self.dir), ["camera-sim exited with status 1"])
        self.assertEqual((ok, line), (False, "NOT REPRODUCED: camera-sim exited with status 1"))

    def test_expect_is_checked(self):
        self.assertEqual(verdict.check_expect({"no_cut": True}), "")
        self.assertIn("unknown key", verdict.check_expect({"nocut": True}))
        self.assertIn("direction", verdict.check_expect({"cut": {"direction": "up", "causes": ["loss"]}}))
        self.assertIn("both", verdict.check_expect({"no_cut": True, "cut": {"direction": "talk", "causes": ["x"]}}))


if __name__ == "__main__":
    unittest.main(verbosity=2)
