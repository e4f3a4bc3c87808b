"""Regular expressions for LS-DYNA's printed output (stdout, messag, mesNNNN, d3hsp).

Every pattern is anchored on one line without its newline and never relies on
column positions: 8-digit cycles lose their leading blank, `seconds for54773890
cycles` has none, and the banner keys are padded differently between versions
(see shared/lsdyna/FORMATS.md, section 3).
"""

from __future__ import annotations

import re

STAMP = r"\d\d/\d\d/\d\d\s+\d\d:\d\d:\d\d"
FLOAT = r"[-+]?\d+\.\d+E[-+]\d+"

# Progress lines (`cycle t T dt DT event mm/dd/yy hh:mm:ss`) are recognised by their
# words in output.OutputParser: three times faster than a regex on the hot path.
NORMAL = re.compile(r"\s*N o r m a l\s+t e r m i n a t i o n(?:\s+(?P<stamp>" + STAMP + r"))?\s*$")
ERROR = re.compile(r"\s*E r r o r\s+t e r m i n a t i o n(?:\s+(?P<stamp>" + STAMP + r"))?\s*$")
TERM_REACHED = re.compile(r"\s*\*\*\* termination time reached \*\*\*\s*$")
KILL_FILE = re.compile(r"\s*\*\*\* kill file detected - terminating \**\s*$")
FORRTL = re.compile(r"forrtl: severe \((?P<code>\d+)\): (?P<msg>.*?)\s*$")
MPI_ABORT = re.compile(r".*(BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES|MPI_ABORT was invoked|application called MPI_Abort).*")

DIAG = re.compile(
    r"\s*\*\*\* (?P<sev>Warning|Error) (?P<code>\d+) \((?P<grp>[A-Z]+)\+(?P<sub>\d+)\)"
    r"(?:\s*\(processor #\s*(?P<proc>\d+)\))?\s*$"
)
# The R14 student build prints "... exceeds 50 times. Further printing will be" on one line.
SUPPRESSED = re.compile(r"\s*Message (?P<code>\d+) \((?P<grp>[A-Z]+)\+\d+\) exceeds (?P<n>\d+) times")
ELEMENT_FAILED = re.compile(r"\s*(?P<etype>\w+)\s+element\s+(?P<eid>\d+)\s+failed at time\s+(?P<t>\S+)\s*$")
IMPLICIT_STEP = re.compile(
    r"\s*BEGIN implicit (?P<kind>\w+)\s+step\s+(?P<step>\d+)\s+t=\s*(?P<t>\S+)\s+(?P<stamp>" + STAMP + r")\s*$"
)

LIC_OPTION = re.compile(r"\s*License option\s*:\s*(?P<opt>.*?)\s*$")
LIC_ERR = re.compile(r"\[license/error\]\s?(?P<msg>.*?)\s*$")
LIC_EXEC = re.compile(r"\s*Executing with (?P<kind>.+?) license\s*$")
STUDENT = re.compile(r"\s*Student license active; (?P<days>\d+) days remaning\.\s*$")

BANNER_KV = re.compile(
    r"\s*\|\s+(?P<key>Version|Revision|AnLicVer|Platform|OS Level|Compiler|Hostname|"
    r"Precision|Licensed to|Issued by|SVN Version)\s*:\s?(?P<val>.*?)\s*\|?\s*$"
)
BANNER_DATE = re.compile(r"\s*Date:\s+(?P<d>\d\d/\d\d/\d{4})\s+Time:\s+(?P<t>\d\d:\d\d:\d\d)\s*$")
VERSION_VALUE = re.compile(r"(?P<par>smp|mpp|hyb)\s+(?P<prec>[sd])\s+(?P<ver>\S+)", re.IGNORECASE)
VERSION_STAMP = re.compile(
    r"\s*ls-dyna\s+(?P<par>smp|mpp)\s+(?P<prec>[sd])\s+(?P<rest>.*?)\s+date\s+(?P<d>\d\d/\d\d/\d{4})\s*$"
)
MPP_PROCS = re.compile(r"\s*MPP execution with\s+(?P<n>\d+)\s+procs?\s*$")
CMDLINE = re.compile(r"\s*Command line options:\s*(?P<opt>\S.*?)\s*$")
INPUT = re.compile(r"\s*Input file:\s*(?P<path>\S.*?)\s*$")
MEM_CMD = re.compile(r"\s*Memory size from command line:\s*(?P<words>\d+)\s*$")

ETA = re.compile(
    r"\s*estimated (?P<what>total cpu time|cpu time to complete|total clock time|clock time to complete)"
    r"\s*=\s*(?P<sec>\d+) sec"
)
ETA_ENDTIME = re.compile(r"\s*termination time\s+=\s*(?P<t>" + FLOAT + r")\s*$")
ADDED_MASS = re.compile(r"\s*added mass\s*=\s*(?P<v>" + FLOAT + r")\s*$")
MASS_INCREASE = re.compile(r"\s*percentage increase\s*=\s*(?P<v>" + FLOAT + r")\s*$")

PROBLEM_TIME = re.compile(r"\s*Problem time\s*=\s*(?P<t>" + FLOAT + r")\s*$")
PROBLEM_CYCLE = re.compile(r"\s*Problem cycle\s*=\s*(?P<n>\d+)\s*$")
ELAPSED = re.compile(
    r"\s*Elapsed time\s*(?P<sec>\d+)\s+seconds?\s*(?:\(.*?\))?\s*for\s*(?P<cycles>\d+)\s+cycles"
    r"(?:\s+using\s+(?P<thr>\d+)\s+(?P<kind>SMP threads|MPP procs))?\s*$"
)
ZONE_FINAL = re.compile(
    r"\s*(?P<kind>CPU|Clock) time per zone cycle\s*=\s*(?P<v>[\d.]+)\s+(?P<unit>pico|nano|micro|milli)?seconds\s*$"
)

# Deck keywords (for the end time when the first-cycle block is missing).
CONTROL_TERMINATION = re.compile(r"\*CONTROL_TERMINATION\b", re.IGNORECASE)
