"""Run the benchmarks: a table on stdout (figure, ours, baseline, ratio, budget) and the same as JSON."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import traceback

from benchmarks import bench_gui, bench_health, bench_parser, bench_store, bench_watch
from benchmarks.common import Figure, machine

GROUPS = {
    "watch": bench_watch.FIGURES,
    "health": bench_health.FIGURES,
    "parser": bench_parser.FIGURES,
    "gui": bench_gui.FIGURES,
    "store": bench_store.FIGURES,
}


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if abs(v) >= 10000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="a reduced run (under 2 minutes) that keeps the harness working")
    p.add_argument("--out", help="write the results as JSON to this file")
    p.add_argument("--only", nargs="*", choices=sorted(GROUPS), help="run only these groups")
    args = p.parse_args(argv)
    logging.getLogger("dynagui").setLevel(logging.WARNING)
    figures: list[Figure] = []
    failures = []
    started = time.monotonic()
    for group, funcs in GROUPS.items():
        if args.only and group not in args.only:
            continue
        for func in funcs:
            t0 = time.monotonic()
            try:
                result = func(args.quick)
            except Exception as exc:  # report and go on: one broken figure must not hide the others
                failures.append(f"{func.__name__}: {exc}")
                traceback.print_exc()
                continue
            figures += result if isinstance(result, list) else [result]
            print(f"[{group}] {func.__name__} done in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    mach = machine()
    header = f"{'figure':<72} {'ours':>10} {'baseline':>10} {'ratio':>7} {'budget':>11} {'ok':>4}  unit"
    print(f"DynaGUI benchmarks ({'quick' if args.quick else 'full'}) on {mach['cores_logical']} cores "
          f"({mach['cores_physical']} physical), {mach['memory_gb']} GB, Python {mach['python']}")
    print(header)
    print("-" * len(header))
    for f in figures:
        ok = {True: "yes", False: "NO", None: "-"}[f.within_budget]
        ratio = f"{f.ratio:.1f}x" if f.ratio else "-"
        print(f"{f.name[:72]:<72} {_fmt(f.ours):>10} {_fmt(f.baseline):>10} {ratio:>7} {f.budget:>11} {ok:>4}  "
              f"{f.unit}")
        detail = "; ".join(x for x in (f"baseline: {f.baseline_label}" if f.baseline_label else "", f.note) if x)
        if detail:
            print(f"    {detail}")
    for failure in failures:
        print(f"FAILED {failure}")
    print(f"total {time.monotonic() - started:.0f} s")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump({"machine": mach, "quick": args.quick, "figures": [f.as_dict() for f in figures],
                       "failures": failures}, fh, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
