"""Holds a run's cuts against what its preset says it reproduces, and words the one-line verdict.

A preset's `expect` object (every key optional):
  cut          {"direction": "talk"|"camera_mic", "causes": [...], "min_s": S, "max_s": S}:
               at least one cut in that direction, with one of those causes, lasting min_s to max_s
  no_cut       true: no cut in either direction
  talk_failed  a reason ("microphone_denied"): every press is refused on the client with it
  denied       a reason ("session_ending"): at least one press is refused by the camera with it
Unless `talk_failed` or `denied` says otherwise, every press must be granted and heard on the
camera's speaker (at least in part).
"""
from .analysis import DIRECTION_TEXT, WAV_OF, describe_cut

SCHEMA = {"cut", "no_cut", "talk_failed", "denied"}


def check_expect(expect) -> str:
    """Empty when the preset's expect object is well formed, otherwise what is wrong."""
    if not isinstance(expect, dict) or not expect:
        return "\"expect\" must be a non-empty object (see docs/scenarios.md)"
    unknown = set(expect) - SCHEMA
    if unknown:
        return f"unknown key(s) in expect: {', '.join(sorted(unknown))}"
    cut = expect.get("cut")
    if cut is not None:
        if not isinstance(cut, dict) or cut.get("direction") not in WAV_OF:
            return "expect.cut.direction must be \"talk\" or \"camera_mic\""
        if not isinstance(cut.get("causes"), list) or not cut["causes"]:
            return "expect.cut.causes must be a non-empty list"
    if cut is not None and expect.get("no_cut"):
        return "expect cannot have both cut and no_cut"
    return ""


def _range(cut: dict) -> str:
    lo, hi = cut.get("min_s"), cut.get("max_s")
    if lo is not None and hi is not None:
        return f"{lo:g}–{hi:g} s"
    if lo is not None:
        return f"at least {lo:g} s"
    return f"at most {hi:g} s" if hi is not None else "any length"


def judge(expect: dict, result: dict, failures: list[str]) -> tuple[bool, str]:
    run, cuts, presses = result["run"], result["cuts"], result["presses"]["talk"]
    if failures:
        return False, "NOT REPRODUCED: " + "; ".join(failures)
    problems, said = [], []

    want_failed = expect.get("talk_failed")
    want_denied = expect.get("denied")
    if want_failed:
        refused = [p for p in presses if p.outcome == f"failed:{want_failed}"]
        if not presses or len(refused) != len(presses):
            problems.append(f"expected every press refused on the client ({want_failed}); "
                            f"{len(refused)} of {len(presses)} were")
        else:
            said.append(f"every press ({len(presses)}) refused on the client: {want_failed}")
    else:
        denied = [i + 1 for i, p in enumerate(presses) if p.outcome.startswith("denied:")]
        if want_denied:
            hits = [i + 1 for i, p in enumerate(presses) if p.outcome == f"denied:{want_denied}"]
            if hits:
                said.append(f"press {', '.join(map(str, hits))} denied {want_denied}")
            else:
                problems.append(f"expected a press denied {want_denied}; none was")
        for i, p in enumerate(presses, 1):
            if p.outcome.startswith("denied:") and not (want_denied and p.outcome == f"denied:{want_denied}"):
                problems.append(f"press {i} denied {p.outcome[7:]}")
            elif p.outcome.startswith("failed:"):
                problems.append(f"press {i} refused on the client: {p.outcome[7:]}")
            elif p.outcome == "sent" and not p.heard:
                problems.append(f"press {i} never heard on the camera's speaker")
        if not presses:
            problems.append("the client pressed no key")
        elif not denied and all(p.heard for p in presses):
            said.append(f"all {len(presses)} presses heard")

    if expect.get("no_cut"):
        if cuts:
            problems.append(f"expected no cut; found {len(cuts)}: " + "; ".join(describe_cut(run, c) for c in cuts[:3]))
        else:
            said.insert(0, "no audio cut in either direction")

    want = expect.get("cut")
    if want:
        lo, hi = want.get("min_s", 0.0), want.get("max_s", float("inf"))
        same_dir = [c for c in cuts if c.direction == want["direction"]]
        hits = [c for c in same_dir if c.cause in want["causes"] and lo <= c.duration_s <= hi]
        if hits:
            best = max(hits, key=lambda c: c.duration_s)
            more = len(cuts) - 1
            said.insert(0, describe_cut(run, best) + (f" (+{more} more cut{'s' if more > 1 else ''}, see the report)"
                                                      if more else ""))
        else:
            found = "; ".join(f"{describe_cut(run, c)}" for c in same_dir[:3]) or "no cut there"
            problems.append(f"expected a cut of {_range(want)} caused by {' or '.join(want['causes'])} in the "
                            f"{DIRECTION_TEXT[want['direction']]}; found {found}")

    if problems:
        return False, "NOT REPRODUCED: " + "; ".join(problems)
    return True, "REPRODUCED: " + "; ".join(said)
