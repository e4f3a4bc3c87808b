"""Figure 5: parser throughput on a realistic stdout, against the replaced launcher's substring chain and grep."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from benchmarks.common import Figure, temp_dir
from dynagui.core.output import OutputParser

REAL_HEADER = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "lsdyna-real" / \
    "Firehawk4427__PILLARS-LSDyna__Bolt_B_Explicit__lsrun.out.txt"


def make_stdout(path: Path, lines: int) -> None:
    """A long explicit run: the real R13 header, then progress lines (a d3plot write every 50)."""
    head = REAL_HEADER.read_text().split("initialization completed")[0] if REAL_HEADER.exists() else ""
    with open(path, "w") as fh:
        fh.write(head + " initialization completed\n")
        t = 0.0
        for c in range(1, lines + 1):
            t += 2.1e-4
            event = "write d3plot file" if c % 50 == 0 else "flush i/o buffers"
            fh.write(f"{c * 100:8d} t {t:10.4E} dt {2.12e-4:8.2E} {event:<29s}"
                     f"08/05/24 {13 + c // 3_600_000:02d}:{c // 60_000 % 60:02d}:{c // 1000 % 60:02d}\n")
        fh.write(" N o r m a l    t e r m i n a t i o n                          08/05/24 17:45:17\n")


def naive(path: Path) -> int:
    """What the replaced launcher did: a chain of substring tests and split() on every line."""
    cycle = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if "N o r m a l" in line or "E r r o r" in line:
                pass
            elif "termination time" in line and "=" in line:
                try:
                    float(line.split()[-1])
                except ValueError:  # the sense-switch help table also says "termination time"
                    pass
            elif " t " in line and " dt " in line:
                parts = line.split()
                last = (int(parts[0]), float(parts[2]), float(parts[4]))
                cycle = last[0]
            elif "Warning" in line or "Error" in line:
                pass
    return cycle


def parser_throughput(quick: bool) -> list[Figure]:
    n = 200_000 if quick else 1_000_000
    with temp_dir("parser") as tmp:
        path = Path(tmp) / "stdout.txt"
        make_stdout(path, n)
        total = sum(1 for _ in open(path, "rb"))
        ours = []
        for _ in range(3):
            parser = OutputParser()
            t0 = time.process_time()
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    parser.feed(chunk)
            parser.finish()
            ours.append(total / (time.process_time() - t0))
        assert parser.summary.verdict == "normal" and parser.summary.cycle == n * 100
        t0 = time.process_time()
        naive(path)
        base = total / (time.process_time() - t0)
        grep = None
        if shutil.which("grep"):
            t0 = time.perf_counter()
            subprocess.run(["grep", "-c", " t ", str(path)], capture_output=True, check=False)
            grep = total / (time.perf_counter() - t0)
    best = max(ours)
    figs = [Figure(f"stdout parsing ({total} lines, 1 in 50 a d3plot write)", "lines/s", best, base, ">= 1500000",
                   ours, "per-line substring chain + split() (the replaced launcher)", lower_is_better=False,
                   note=f"grep -c on the same file: {grep / 1e6:.1f} M lines/s" if grep else "")]
    return figs


FIGURES = [parser_throughput]
