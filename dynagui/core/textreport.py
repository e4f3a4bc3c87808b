"""Jobs as plain text for the terminal (`dynagui list`, `dynagui show`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

LIST_HEADER = f"{'ID':>5}  {'STATUS':<9} {'PROG':>6}  {'DECK':<28} REASON"


def fmt_time(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def job_row(d: dict[str, Any]) -> str:
    prog = f"{d['progress'] * 100:5.1f}%" if d["progress"] is not None else "    - "
    return f"{d['id']:>5}  {d['status']:<9} {prog}  {Path(d['deck']).name:<28} {d['reason']}"


def job_lines(d: dict[str, Any], events: list[dict[str, Any]]) -> list[str]:
    """One job in detail, then its history of transitions with their reasons."""
    eta = f"{d['eta_s']:.0f} s" if d["eta_s"] is not None else "-"
    rows = [
        ("job", f"{d['id']}  ({Path(d['deck']).name})"), ("status", d["status"]), ("reason", d["reason"] or "-"),
        ("progress", f"{d['progress'] * 100:.1f} %" if d["progress"] is not None else "-"),
        ("sim time", f"{d['sim_time']} / {d['end_time']}"), ("cycle", d["cycle"]), ("dt", d["dt"]), ("eta", eta),
        ("solver", f"{d['solver']}, ncpu {d['ncpu']}, memory {d['memory'] or '-'}"),
        ("solver pids", ", ".join(map(str, d["solver_pids"])) or "-"),
        ("cores", ", ".join(map(str, d["cores"])) or "-"), ("workdir", d["workdir"]), ("log", d["log"] or "-"),
        ("submitted", fmt_time(d["submitted_at"])), ("started", fmt_time(d["started_at"])),
        ("ended", fmt_time(d["ended_at"])), ("exit code", d["exit_code"]),
    ]
    lines = [f"{k:>12}: {v}" for k, v in rows]
    lines += [f"{'':>12}  {fmt_time(e['time'])}  {e['from_status'] or '-':>9} -> {e['to_status']:<9} {e['reason']}"
              for e in events]
    return lines
