"""A preflight result as the CLI prints it: text lines or JSON."""

from __future__ import annotations

import json

from .knowledge import BLOCKED, FAILED, MISSING, OK, REFUSED, UNCHECKED
from .results import FunctionStatus, PreflightResult

# ------------------------------------------------------------------ rendering

_MARKS = {OK: "✓", UNCHECKED: "?"}
_LABELS = {REFUSED: "refused", BLOCKED: "cannot run", FAILED: "failed", UNCHECKED: "not checked"}


def asset_lines(s: FunctionStatus, width: int) -> list[str]:
    """One asset: a mark, its name, its function and what to do; Moodle's words below."""
    what = s.function or f"(no Moodle call: rows from {s.derived_from})"
    line = f"  {_MARKS.get(s.status, '✗')} {s.asset.ljust(width)}  {what}"
    if s.status == MISSING:
        line += f": {s.fix}"
    elif s.status in _LABELS:
        line += f": {_LABELS[s.status]}: {s.fix}"
    out = [line]
    if s.moodle_said and s.status != OK:
        out.append(f"      Moodle said: {s.moodle_said}")
    out += [f"      ! {c}" for c in s.caveats]
    return out


def preflight_text(result: PreflightResult) -> str:
    site = result.site
    out = [
        f"Site: {site.sitename} ({site.siteurl})",
        f"Moodle: {site.release}, version {site.version}",
        f"Token user: {site.username} ({site.fullname}, id {site.userid}"
        + (", site administrator)" if site.userissiteadmin else ")"),
        f"External service: {site.functions} functions",
    ]
    sample = result.sample
    if sample is not None:
        course = f"course {sample.courseid} ({sample.course})" if sample.courseid is not None else "no course"
        user = f"user {sample.userid} ({sample.user})" if sample.userid is not None else "no user"
        out.append(f"Samples: each asset's function called once with {course} and {user}; {sample.calls} calls in all")
    out += ["", "Assets:"]
    width = max([len(s.asset) for s in result.statuses] + [0])
    for s in result.statuses:
        out += asset_lines(s, width)
    out.append("")
    out.append(summary_line(result))
    return "\n".join(out)


_SUMMARY = (
    (MISSING, "needs its function added", "need their function added", " to the token's external service"),
    (REFUSED, "is refused: grant the capability", "are refused: grant the capabilities", " named above"),
    (BLOCKED, "waits on", "wait on", " an asset that cannot run"),
    (FAILED, "failed", "failed", ""),
    (UNCHECKED, "could not be checked", "could not be checked", ""),
)


def summary_line(result: PreflightResult) -> str:
    """One sentence: never "all can run" unless every asset's sample said so."""
    total = len(result.statuses)
    if result.sample is None:
        missing = result.count(MISSING)
        head = (
            f"All {total} assets' functions are in the token's service"
            if not missing
            else f"{total - missing} of {total} assets' functions are in the token's service; {missing} "
            f"{'needs its' if missing == 1 else 'need their'} function added to it"
        )
        return f"The token works. {head}. Permissions were not sampled (--functions-only)."
    ok = result.count(OK)
    if ok == total:
        return f"The token works. All {total} assets can run."
    parts = []
    for status, one, many, rest in _SUMMARY:
        n = result.count(status)
        if n:
            parts.append(f"{n} {one if n == 1 else many}{rest}")
    return f"The token works. {ok} of {total} assets can run; " + "; ".join(parts) + "."


def preflight_json(result: PreflightResult) -> str:
    return json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str)
