#!/usr/bin/env python3
"""tools/soak end to end, shortened: both programs run, talk and renew; RSS is sampled and fitted.
The slope is reported, not asserted (a 20-second run says little about a trend: docs/measurements.md
has the 5-minute figures). Usage: soak_test.py BUILD_DIR"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main():
    build = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="pttcam-soak-test-") as tmp:
        out = Path(tmp) / "soak.json"
        run = subprocess.run([sys.executable, str(ROOT / "tools" / "soak"), "--minutes", "0.35", "--sample-s", "1",
                              "--warmup-s", "3", "--session-limit", "4", "--press-s", "0.6", "--period-s", "1.5",
                              "--build-dir", build, "--out", str(out), "--keep", str(Path(tmp) / "logs")],
                             capture_output=True, text=True, timeout=120)
        print(run.stderr)
        assert run.returncode == 0, run.stderr
        r = json.loads(out.read_text())
        assert len(r["samples"]) >= 18, len(r["samples"])
        for name in ("camera-sim", "ptt-client"):
            p = r["programs"][name]
            assert all(s[name] and s[name] > 0 for s in r["samples"]), name  # sampled while alive
            assert p["fit_after_warmup"] is not None and p["fit_after_warmup"]["points"] >= 15, p
        camera = r["programs"]["camera-sim"]["summary"]
        client = r["programs"]["ptt-client"]["summary"]
        assert camera["session"]["sessions"] >= 4, camera["session"]  # capped every 4 s, renewed
        assert camera["session"]["talk_granted"] >= 10, camera["session"]
        assert camera["bursts"] >= 10, camera["bursts"]
        assert client["camera_audio"]["bursts"] >= 4, client["camera_audio"]  # a microphone stream per view
        assert r["presses"] >= 12, r["presses"]
        # Usage errors exit 2 with one line.
        bad = subprocess.run([sys.executable, str(ROOT / "tools" / "soak"), "--minutes", "0"], capture_output=True,
                             text=True, timeout=30)
        assert bad.returncode == 2 and bad.stderr.startswith("soak: "), (bad.returncode, bad.stderr)
    print("soak_test: ok")


if __name__ == "__main__":
    main()
