#!/usr/bin/env python3
"""tools/run-scenario end to end with the real binaries of one build: the verdict line, the exit
status and the report.

  run_scenario_test.py BUILD_DIR [unittest arguments, e.g. RunScenario.test_session_cap]
"""
import html
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "build"
OUT = BUILD / "tests" / "integration" / "scenarios"


def run_scenario(*args, out=None):
    cmd = [str(ROOT / "tools" / "run-scenario"), *args, "--no-build", "--build-dir", str(BUILD)]
    if out:
        cmd += ["--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    lines = proc.stdout.strip().splitlines()
    return proc.returncode, (lines[-1] if lines else ""), proc


class RunScenario(unittest.TestCase):
    def assert_report(self, out, verdict):
        page = (out / "report.html").read_text()
        self.assertIn("<svg", page)
        self.assertIn(html.escape(verdict), page)
        self.assertIn('href="camera-speaker.wav"', page)

    def test_mic_permission_denied(self):
        out = OUT / "mic-permission-denied"
        status, last, proc = run_scenario("mic-permission-denied", out=out)
        self.assertEqual(status, 0, proc.stdout + proc.stderr)
        self.assertEqual(last, "REPRODUCED: every press (2) refused on the client: microphone_denied")
        self.assert_report(out, last)

    def test_session_cap(self):
        out = OUT / "session-cap-mid-talk"
        status, last, proc = run_scenario("session-cap-mid-talk", out=out)
        self.assertEqual(status, 0, proc.stdout + proc.stderr)
        self.assertRegex(last, r"^REPRODUCED: audio cut \d\.\d\d s at \d+\.\d\d–\d+\.\d\d s of the camera WAV, "
                               r"cause session_cap(?: \(.*\))?; all 2 presses heard$")
        self.assert_report(out, last)

    def test_wrong_expectation_is_not_reproduced(self):
        # The session cap cuts the first press; a preset that says "no cut" must be told it is wrong.
        preset = json.loads((ROOT / "tools" / "scenarios" / "session-cap-mid-talk.json").read_text())
        preset["expect"] = {"no_cut": True}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "cap-without-cut.json"
            path.write_text(json.dumps(preset))
            out = OUT / "cap-without-cut"
            status, last, proc = run_scenario(str(path), out=out)
        self.assertEqual(status, 1, proc.stdout + proc.stderr)
        self.assertRegex(last, r"^NOT REPRODUCED: expected no cut; found 1: audio cut .* cause session_cap")
        self.assert_report(out, last)

    def test_usage(self):
        for args in (["no-such-preset"], ["good-wifi", "--seed"], ["good-wifi", "--bogus"], []):
            status, _, proc = run_scenario(*args)
            self.assertEqual(status, 2, f"{args}: {proc.stdout}{proc.stderr}")
            self.assertIn("run-scenario:", proc.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bad-expect.json"
            path.write_text(json.dumps({"description": "x", "expect": {"cut": {"direction": "up"}}}))
            status, _, proc = run_scenario(str(path))
        self.assertEqual(status, 2)
        self.assertIn("expect.cut.direction", proc.stderr)

    def test_every_preset_says_what_it_expects(self):
        for f in sorted((ROOT / "tools" / "scenarios").glob("*.json")):
            preset = json.loads(f.read_text())
            self.assertIsInstance(preset.get("expect"), dict, f.name)
            self.assertTrue(preset.get("description"), f.name)

if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], *sys.argv[2:]], verbosity=2)
