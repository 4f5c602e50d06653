"""Starts camera-sim, net-impair and ptt-client for one scenario and stops them again, by PID.

Everything a run leaves behind lands in one folder; the paths are named in ARTEFACTS so the
analysis and the report read the same files the runner wrote.
"""
import os
import signal
import subprocess
import time
from pathlib import Path

# file name -> what it holds (the report links each one that exists)
ARTEFACTS = {
    "camera-speaker.wav": "what the camera's speaker played (the client's talk)",
    "client-speaker.wav": "what the client's speaker played (the camera's microphone)",
    "camera-events.jsonl": "camera-sim's event log",
    "client-events.jsonl": "ptt-client's event log",
    "camera-summary.json": "camera-sim's summary",
    "client-summary.json": "ptt-client's summary",
    "camera-packets.csv": "every talk packet the camera received, with its fate",
    "client-packets.csv": "every microphone packet the client received, with its fate",
    "proxy-packets.jsonl": "the fate net-impair gave every datagram",
    "proxy-summary.json": "net-impair's summary",
    "ptt-client.log": "ptt-client's output",
    "camera-sim.log": "camera-sim's output",
    "net-impair.log": "net-impair's output",
    "scenario.json": "the preset as run",
    "summary.txt": "what run-scenario printed",
}

PORT_WAIT_S = 10.0
STOP_WAIT_S = 10.0
# After the client exits, the camera still plays what it buffered and the proxy may hold packets
# for its delay: give both this long before stopping them.
DRAIN_S = 0.8


class RunError(Exception):
    """A program could not be started or did not come up: the run has no result."""


def _wait_port(path: Path, proc: subprocess.Popen, name: str, log: Path) -> int:
    deadline = time.monotonic() + PORT_WAIT_S
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text().strip())
        if proc.poll() is not None:
            raise RunError(f"{name} exited early with status {proc.returncode}; its log:\n{log.read_text()}")
        time.sleep(0.05)
    raise RunError(f"{name} did not write its port within {PORT_WAIT_S:.0f} s (log: {log})")


def _stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def script_end_s(client_args: list[str]) -> float:
    """When the last scripted press ends (seconds), to bound how long the client may run."""
    if "--talk-script" not in client_args:
        return 0.0
    script = client_args[client_args.index("--talk-script") + 1]
    end = 0.0
    for window in script.split(","):
        start, _, length = window.partition("+")
        end = max(end, float(start) + float(length or 0))
    return end


def run(spec: dict, out: Path, bin_dir: Path, seed: int, speech_wav: Path) -> dict:
    """Runs the scenario; returns the programs' exit statuses by name."""
    camera_args = [str(a) for a in spec.get("camera", [])]
    client_args = [str(a) for a in spec.get("client", [])]
    if "--input" not in client_args:
        client_args += ["--input", f"wav:{speech_wav}"]
    procs: list[subprocess.Popen] = []
    status = {}
    try:
        with open(out / "camera-sim.log", "w") as log:
            camera = subprocess.Popen(
                [str(bin_dir / "camera-sim"), "--insecure", "--listen", "127.0.0.1:0", "--port-file", str(out / "camera.port"),
                 "--output", f"wav:{out / 'camera-speaker.wav'}", "--mic", "tone:440",
                 "--events", str(out / "camera-events.jsonl"), "--summary", str(out / "camera-summary.json"),
                 "--packets", str(out / "camera-packets.csv"), *camera_args],
                stdout=log, stderr=subprocess.STDOUT)
        procs.append(camera)
        camera_port = _wait_port(out / "camera.port", camera, "camera-sim", out / "camera-sim.log")

        with open(out / "net-impair.log", "w") as log:
            proxy = subprocess.Popen(
                [str(bin_dir / "net-impair"), "--listen", "127.0.0.1:0", "--port-file", str(out / "proxy.port"),
                 "--to", f"127.0.0.1:{camera_port}", "--seed", str(seed),
                 "--up", spec.get("up", "") or "", "--down", spec.get("down", "") or "",
                 "--log", str(out / "proxy-packets.jsonl"), "--summary", str(out / "proxy-summary.json")],
                stdout=log, stderr=subprocess.STDOUT)
        procs.append(proxy)
        proxy_port = _wait_port(out / "proxy.port", proxy, "net-impair", out / "net-impair.log")

        with open(out / "ptt-client.log", "w") as log:
            client = subprocess.Popen(
                [str(bin_dir / "ptt-client"), "--insecure", "--camera", f"127.0.0.1:{proxy_port}",
                 "--speaker", f"wav:{out / 'client-speaker.wav'}", "--events", str(out / "client-events.jsonl"),
                 "--summary", str(out / "client-summary.json"), "--packets", str(out / "client-packets.csv"),
                 *client_args],
                stdout=log, stderr=subprocess.STDOUT)
        procs.append(client)
        try:
            status["ptt-client"] = client.wait(timeout=script_end_s(client_args) + 30)
        except subprocess.TimeoutExpired:
            status["ptt-client"] = _stop(client)
            status["ptt-client timeout"] = True
        time.sleep(DRAIN_S)
        status["camera-sim"] = _stop(camera)
        status["net-impair"] = _stop(proxy)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return status


def exists(out: Path, name: str) -> bool:
    return (out / name).is_file() and os.path.getsize(out / name) > 0
