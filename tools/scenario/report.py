"""Writes report.html for one run: the scenario, its links, a timeline drawn by gnuplot (inline SVG),
every cut, the verdict, and relative links to the WAVs and logs."""
import html
import json
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from .analysis import DIRECTION_TEXT, PROXY_DIR, WAV_OF, describe_cut
from .runner import ARTEFACTS

BIN_S = 0.1


class ReportError(Exception):
    pass


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _series(run, direction):
    """Per-100 ms counts and per-packet delays for one direction, on its WAV's time axis (s)."""
    origin = run.wav_origin_us[WAV_OF[direction]]
    if origin is None:
        return None
    t = lambda us: (us - origin) / 1e6  # noqa: E731
    counts = {k: Counter() for k in ("sent", "dropped", "late", "normal", "fec", "concealed")}
    delay = []
    audio = run.audio_seqs(direction)  # not the camera's video
    for p in run.proxy:
        if p.get("dir") == PROXY_DIR[direction] and "rtp_seq" in p and (audio is None or p["rtp_seq"] in audio):
            b = int(t(p["t_in_us"]) // BIN_S)
            counts["sent"][b] += 1
            if p.get("fate", "").startswith("drop"):
                counts["dropped"][b] += 1
    for row in run.packets[direction]:
        fate, arrival, play = row.get("fate"), _num(row.get("arrival_us")), _num(row.get("play_us"))
        if fate == "late" and arrival:
            counts["late"][int(t(arrival) // BIN_S)] += 1
        if not play:
            continue
        b = int(t(play) // BIN_S)
        if fate == "played":
            counts["normal"][b] += 1
            if arrival:
                delay.append((t(arrival), (play - arrival) / 1000))
        elif fate in ("fec", "red"):
            counts["fec"][b] += 1
        elif fate == "lost":
            counts["concealed"][b] += 1
    return counts, delay


def _gnuplot_svg(run, result, name) -> str:
    gp = shutil.which("gnuplot")
    if not gp:
        raise ReportError("gnuplot is not installed (tools/setup installs gnuplot-nox)")
    series = {d: _series(run, d) for d in ("talk", "camera_mic")}
    xmax = 1.0
    for d, s in series.items():
        if s:
            for c in s[0].values():
                if c:
                    xmax = max(xmax, (max(c) + 1) * BIN_S)
    xmax += 0.3
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        script = ["set terminal svg size 1100,1500 dynamic noenhanced font 'sans,11' background rgb 'white'",
                  "set multiplot layout 6,1 margins 0.07,0.97,0.04,0.97 spacing 0,0.035",
                  f"set xrange [0:{xmax:.2f}]", "set grid xtics ytics lc rgb '#dddddd'",
                  "set key inside top right horizontal samplen 2 opaque",
                  "set offsets 0, 0, graph 0.45, 0",  # room above the data for the key and the cut labels
                  "set style fill solid 0.35 noborder",
                  "set datafile missing '?'"]
        for d in ("talk", "camera_mic"):
            s = series[d]
            wav = WAV_OF[d]
            if not s:
                continue
            counts, delay = s
            data = tmp / f"{d}.dat"
            bins = sorted(set().union(*[set(c) for c in counts.values()])) or [0]
            with open(data, "w") as f:
                for b in range(min(0, bins[0]), bins[-1] + 1):
                    f.write(f"{(b + 0.5) * BIN_S:.3f} " + " ".join(str(counts[k][b]) for k in
                            ("sent", "dropped", "late", "normal", "fec", "concealed")) + "\n")
            dfile = tmp / f"{d}-delay.dat"
            dfile.write_text("".join(f"{x:.4f} {y:.2f}\n" for x, y in delay) or "-1 0\n")  # gnuplot needs a point
            objects = []
            n = 1
            for p in result["presses"][d]:
                a, b = run.wav_s(d, p.start_us), run.wav_s(d, p.end_us)
                colour = "#cfe8ff" if p.outcome == "sent" else "#eeeeee"
                objects.append(f"set object {n} rect from {a:.3f}, graph 0 to {b:.3f}, graph 1 behind "
                               f"fc rgb '{colour}' fs solid 0.6 noborder")
                n += 1
            labels = []
            for i, c in enumerate(x for x in result["cuts"] if x.direction == d):
                a, b = run.wav_s(d, c.start_us), run.wav_s(d, c.end_us)
                objects.append(f"set object {n} rect from {a:.3f}, graph 0 to {max(b, a + 0.02):.3f}, graph 1 "
                               f"front fc rgb '#ff3030' fs transparent solid 0.25 border lc rgb '#cc0000'")
                n += 1
                labels.append(f"set label {i + 1} 'cut: {c.cause} {c.duration_s:.2f} s' at {a:.3f}, graph "
                              f"{0.92 - 0.12 * (i % 3):.2f} front tc rgb '#aa0000' font 'sans,10' offset 0.3,0")
            press_word = "key down" if d == "talk" else "mic streaming"
            title = f"{DIRECTION_TEXT[d]}: x = seconds of {wav}-speaker.wav (blue: {press_word}, red: cuts)"
            for panel in range(3):
                script += ["set yrange [0:*]"] + objects
                script += labels if panel == 0 else ["unset label"]
                if panel == 0:
                    script += [f"set title \"{title}\" font 'sans,12'", "set ylabel 'packets / 100 ms'",
                               f"plot '{data}' u 1:2 w steps lw 1.5 lc rgb '#1f77b4' t 'sent', "
                               f"'' u 1:3 w impulses lw 4 lc rgb '#d62728' t 'lost on the link', "
                               f"'' u 1:4 w impulses lw 4 lc rgb '#ff7f0e' t 'late at receiver'"]
                elif panel == 1:
                    script += ["unset title", "set ylabel 'jitter buffer (ms)'"]
                    script += [] if delay else ["set yrange [0:1]"]  # nothing played: an empty panel
                    script += [f"plot '{dfile}' u 1:2 w points pt 7 ps 0.35 lc rgb '#2ca02c' "
                               f"t 'arrival → play, per packet'"]
                else:
                    script += ["set ylabel 'frames / 100 ms'",
                               f"plot '{data}' u 1:5 w steps lw 1.5 lc rgb '#1f77b4' t 'normal', "
                               f"'' u 1:6 w impulses lw 4 lc rgb '#9467bd' t 'FEC / RED', "
                               f"'' u 1:7 w impulses lw 4 lc rgb '#d62728' t 'concealed'"]
                script += ["unset object"]
        script.append("unset multiplot")
        proc = subprocess.run([gp], input="\n".join(script) + "\n", capture_output=True, text=True, timeout=60)
        if proc.returncode != 0 or "<svg" not in proc.stdout:
            raise ReportError(f"gnuplot failed: {proc.stderr.strip()[:300]}")
        svg = proc.stdout
        return svg[svg.index("<svg"):]


def write(out: Path, name: str, preset: dict, result: dict, verdict_line: str, printed: str = "") -> None:
    run = result["run"]
    svg = _gnuplot_svg(run, result, name)
    e = html.escape
    ok = verdict_line.startswith("REPRODUCED")
    cut_rows = "".join(
        f"<tr><td>{e(DIRECTION_TEXT[c.direction])}</td><td>{e(WAV_OF[c.direction])}-speaker.wav</td>"
        f"<td>{run.wav_s(c.direction, c.start_us):.2f}–{run.wav_s(c.direction, c.end_us):.2f} s</td>"
        f"<td>{c.duration_s:.2f} s</td><td>{e(c.cause)}</td><td>{e(c.why)}</td><td>{e('; '.join(c.sources))}</td></tr>"
        for c in result["cuts"]) or "<tr><td colspan=7>none</td></tr>"
    press_rows = ""
    for i, p in enumerate(result["presses"]["talk"], 1):
        state = p.outcome if p.outcome != "sent" else ("heard" if p.heard else "never heard")
        press_rows += (f"<tr><td>{i}</td><td>{run.wav_s('talk', p.start_us):.2f} s</td>"
                       f"<td>{run.wav_s('talk', p.end_us):.2f} s</td><td>{e(state)}</td></tr>")
    links = "".join(f"<li><a href=\"{e(f)}\">{e(f)}</a>: {e(what)}</li>"
                    for f, what in ARTEFACTS.items() if (out / f).is_file() and f != "report.html")
    expect = json.dumps(preset.get("expect", {}))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pttcam scenario {e(name)}</title>
<style>
body {{ font-family: sans-serif; max-width: 1150px; margin: 1em auto; color: #222; }}
.verdict {{ font-size: 1.15em; padding: 0.6em 0.8em; border-radius: 4px; }}
.ok {{ background: #e4f6e4; border: 1px solid #6c6; }} .bad {{ background: #fde4e4; border: 1px solid #d66; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }} td, th {{ border: 1px solid #ccc; padding: 2px 8px; text-align: left; }}
code {{ background: #f4f4f4; padding: 0 3px; }}
</style></head><body>
<h1>Scenario <code>{e(name)}</code></h1>
<p class="verdict {'ok' if ok else 'bad'}">{e(verdict_line)}</p>
<p>{e(preset.get('description', ''))}</p>
<table>
<tr><th>seed</th><td>{e(str(preset.get('seed')))}</td></tr>
<tr><th>link up (client → camera)</th><td><code>{e(preset.get('up') or 'none')}</code></td></tr>
<tr><th>link down (camera → client)</th><td><code>{e(preset.get('down') or 'none')}</code></td></tr>
<tr><th>camera-sim options</th><td><code>{e(' '.join(preset.get('camera', [])) or 'none')}</code></td></tr>
<tr><th>ptt-client options</th><td><code>{e(' '.join(preset.get('client', [])) or 'none')}</code></td></tr>
<tr><th>expected</th><td><code>{e(expect)}</code></td></tr>
</table>
<h2>Timeline</h2>
<p>Per direction: packets sent (as they reached net-impair), lost on the link and late at the receiver per
100 ms; the jitter buffer's delay (arrival to play) per packet; frames played normally, rebuilt from FEC or
RFC 2198 copies, and concealed per 100 ms. Times are seconds into that direction's WAV.</p>
{svg}
<h2>Cuts</h2>
<table><tr><th>direction</th><th>WAV</th><th>where</th><th>length</th><th>cause</th><th>on the link</th><th>from</th></tr>
{cut_rows}</table>
<h2>Key presses</h2>
<table><tr><th>press</th><th>key down</th><th>key up</th><th>outcome</th></tr>{press_rows}</table>
<p>(seconds of camera-speaker.wav)</p>
<h2>What the programs printed</h2>
<details><summary>both programs' summaries, the per-burst table, the proxy's counts, every cut</summary>
<pre>{e(printed)}</pre></details>
<h2>Files</h2>
<ul>{links}</ul>
</body></html>
"""
    (out / "report.html").write_text(page)
