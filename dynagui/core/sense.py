"""Sense switches: the `d3kil` file LS-DYNA reads at the end of each time step.

sw1. restart dump and stop; sw2. report time and cycle; sw3. restart dump and go on;
sw4. plot state and go on; swa. flush output buffers; endtime=T change the end time.
The token is written with its trailing dot (the form LSF and the ctrl-c prompt use),
atomically, lowercase file name (Linux is case-sensitive; Windows does not care).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

SWITCHES = {
    "sw1": "write a restart dump and stop",
    "sw2": "report time, cycle and estimates",
    "sw3": "write a restart dump and go on",
    "sw4": "write a plot state and go on",
    "swa": "flush output buffers",
}
_ENDTIME = re.compile(r"^endtime=([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)$")


class SwitchError(ValueError):
    pass


def normalise(switch: str) -> str:
    """`sw2`, `SW2.` -> `sw2.`; `endtime=0.5` stays; anything else is refused."""
    s = switch.strip().lower()
    if _ENDTIME.match(s):
        if float(s.split("=", 1)[1]) <= 0:
            raise SwitchError("endtime must be positive")
        return s
    s = s.rstrip(".")
    if s in SWITCHES:
        return s + "."
    raise SwitchError(f"unknown sense switch {switch!r}: use sw1, sw2, sw3, sw4, swa or endtime=T")


def write_d3kil(workdir: str | os.PathLike[str], switch: str) -> Path:
    token = normalise(switch)
    target = Path(workdir) / "d3kil"
    fd, tmp = tempfile.mkstemp(prefix=".d3kil.", dir=workdir)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(token + "\n")
    os.replace(tmp, target)  # the solver never reads a half-written switch
    return target
