"""The text an SMP/MPP LS-DYNA R13 run prints, line for line in the real formats.

Layouts are copied from real runs (shared/fixtures/lsdyna-real): the progress
line's columns, the termination banner at column 64, the ETA block, the timing
summary. The simulator writes these; the parser in dynagui.core reads them with
its own, independent code.
"""

from __future__ import annotations

import platform
import socket
import time


def stamp(now: float | None = None) -> str:
    """`mm/dd/yy hh:mm:ss`, local time, as on progress lines and banners."""
    return time.strftime("%m/%d/%y %H:%M:%S", time.localtime(now))


def long_date(now: float | None = None) -> str:
    return time.strftime("%m/%d/%Y %H:%M:%S", time.localtime(now))


def at_column_64(text: str, when: float | None = None) -> str:
    """Pad `text` so that the time stamp starts in column 64, as LS-DYNA does."""
    return f"{text:<63s}{stamp(when)}"


def progress(cycle: int, t: float, dt: float, event: str, when: float | None = None) -> str:
    return f"{cycle:8d} t {t:10.4E} dt {dt:8.2E} {event:<29s}{stamp(when)}"


def _box(line: str) -> str:
    return f"     |  {line:<49s}|"


def banner(parallel: str, ncpu: int, started: float) -> list[str]:
    host = socket.gethostname()[:37]
    system = f"{platform.system().upper()} {platform.machine().upper()}"
    return [
        f"      Date: {time.strftime('%m/%d/%Y', time.localtime(started))}      Time: {time.strftime('%H:%M:%S', time.localtime(started))}  ",
        "      ___________________________________________________ ",
        "     |                                                   |",
        _box("LS-DYNA, A Program for Nonlinear Dynamic"),
        _box("Analysis of Structures in Three Dimensions"),
        _box("Date    : 07/28/2023    Time: 16:45:29"),
        _box(f"Version : {parallel} d R13"),
        _box("Revision: R13.1.1-27-g8731a0d8c5"),
        "     |                                                   |",
        _box("Features enabled in this version:"),
        _box("  Shared Memory Parallel" if parallel == "smp" else "  Distributed Memory Parallel"),
        _box("  ANSYSLIC enabled"),
        "     |                                                   |",
        _box("Licensed to: DynaGUI simulator"),
        "     |                                                   |",
        _box(f"Platform   : {system[:36]}"),
        _box("OS Level   : simulated"),
        _box("Compiler   : CPython"),
        _box(f"Hostname   : {host}"),
        _box("Precision  : Double precision (I8R8)"),
        "     |                                                   |",
        _box("Unauthorized use infringes Ansys Inc. copyrights"),
        "     |___________________________________________________|",
        "",
    ]


def licence_ok() -> list[str]:
    return [
        "[license/error] *** ANSYS LICENSE MANAGER ERROR ***",
        "[license/error] Request name dyna does not exist in the licensing pool.",
        '[license/error] Licensing mode "ANSYS LSDYNA" failed on feature "dyna". Undoing partial checkout.',
        " Student license active; 27 days remaning.",
        "",
        " Executing with ANSYS license",
        "",
    ]


def licence_failed() -> list[str]:
    return [
        "[license/error] *** ANSYS LICENSE MANAGER ERROR ***",
        "[license/error] No valid FLEXlm servers specified.",
        '[license/error] Licensing mode "ANSYS LSDYNA" failed on feature "dyna". Undoing partial checkout.',
        " Local license: Error Environment variable LSTC_FILE not set!",
        "",
        " *** Error 70022 (OTH+22)",
        "     No license available for LS-DYNA.",
        "",
    ]


def command_echo(options: list[str], deck_path: str, memory_words: int) -> list[str]:
    lines = [f" Command line options: {options[0]} "] if options else []
    lines += [f"                       {opt} " for opt in options[1:]]
    return lines + [
        "",
        f" Input file: {deck_path[:80]}   ",
        " The native file format       : 64-bit small endian",
        f" Memory size from command line: {memory_words:>11d}",
        "",
    ]


SENSE_SWITCH_HELP = """ on UNIX computers note the following change:

 ctrl-c interrupts ls-dyna and prompts for a sense  switch.
 type the desired sense switch: sw1., sw2., etc. to continue
 the execution.  ls-dyna will respond as explained in the users manual

    type                      response
   -----   ------------------------------------------------------------
   quit    ls-dyna terminates.
   stop    ls-dyna terminates.
   sw1.    a restart file is written and ls-dyna terminates.
   sw2.    ls-dyna responds with time and cycle numbers.
   sw3.    a restart file is written and ls-dyna continues calculations.
   sw4.    a plot state is written and ls-dyna continues calculations.
   swa.    ls-dyna flushes all output i/o buffers.
   swb.    a dynain is written and ls-dyna continues calculations.
   swc.    a restart and dynain are written and ls-dyna continues calculations.
   swd.    a restart and dynain are written and ls-dyna terminates.
   swe.    stop dynamic relaxation just as though convergence
   endtime=time change the termination time
   lpri    toggle implicit lin. alg. solver output on/off.
   nlpr    toggle implicit nonlinear solver output on/off.
   iter    toggle implicit output to d3iter database on/off.
   prof    output timing data to messag and continue.
   conv    force implicit nonlinear convergence for current time step.
   ttrm    terminate implicit time step, reduce time step, retry time step.
   rtrm    terminate implicit at end of current time step.
""".splitlines()


def keyword_reader(mpp_procs: int | None) -> list[str]:
    lines = []
    if mpp_procs:
        lines += [f" MPP execution with {mpp_procs:>7d} procs", ""]
    lines += [
        at_column_64(" Beginning of keyword reader"),
        " Memory required to process keyword     :     313372  ",
        " Additional dynamic memory required     :    2130572  ",
        "",
        " input of data is completed",
        "",
        " initial kinetic energy = 0.00000000E+00",
        "",
        " *** Warning 30131 (INI+131)",
        "     total number of massless nodes = 12",
        "",
        " Memory required to begin solution      :     314K",
        " Additional dynamically allocated memory:    2548K",
        "                                   Total:    2862K",
        "",
        " initialization completed",
    ]
    return lines


def input_error() -> list[str]:
    return [
        at_column_64(" Beginning of keyword reader"),
        "",
        " *** Error 10141 (KEY+141)",
        "     Load curve id 100 is undefined",
        "",
        " *** Error 10133 (KEY+133)",
        "     input data failed with: 1 errors",
        "",
    ]


def eta_block(total_clock: float, to_complete: float, end_time: float) -> list[str]:
    def hm(sec: float) -> str:
        s = int(sec)
        return f"{s:>9d} sec ({s // 3600:>8d} hrs {s % 3600 // 60:>2d} mins)"

    return [
        " cpu time per zone cycle............         0 nanoseconds",
        " average cpu time per zone cycle....         0 nanoseconds",
        " average clock time per zone cycle..       786 nanoseconds",
        "",
        f" estimated total cpu time          = {hm(total_clock / 20)}",
        f" estimated cpu time to complete    = {hm(to_complete / 20)}",
        f" estimated total clock time        = {hm(total_clock)}",
        f" estimated clock time to complete  = {hm(to_complete)}",
        f" termination time                  = {end_time:.3E}",
    ]


def mass_scaling(added_mass: float, percent: float) -> list[str]:
    return [f" added mass          = {added_mass:.4E}", f" percentage increase = {percent:.4E}"]


def solution_error(cycle: int, t: float) -> list[str]:
    return [
        "",
        " *** Error 40500 (SOL+500)",
        f"     node # {21644 + cycle % 97:>8d} has out-of-range velocities",
        "",
    ]


def negative_volume(cycle: int) -> list[str]:
    return [
        "",
        " *** Error 40509 (SOL+509)",
        f"     negative volume in brick element # {1000 + cycle % 911}",
        "",
    ]


def crash_trace() -> list[str]:
    return [
        "forrtl: severe (157): Program Exception - access violation",
        "Image              PC                Routine            Line        Source             ",
        "ls-dyna_smp_d_R13  00007FF6C308C7A0  Unknown               Unknown  Unknown",
        "ls-dyna_smp_d_R13  00007FF6B99B7CBE  GRABEN                  12022  fem3d_a.F",
        "ls-dyna_smp_d_R13  00007FF6B88104D9  MAIN__                   1912  dynm.F",
        "forrtl: severe (157): Program Exception - access violation",
    ]


def termination(kind: str, cycle: int, t: float, ncpu: int, parallel: str, started: float, ended: float) -> list[str]:
    """From the banner after the last cycle to the second banner at the end of the file."""
    word = " N o r m a l    t e r m i n a t i o n" if kind == "normal" else " E r r o r   t e r m i n a t i o n"
    elapsed = int(ended - started)
    unit = "second " if elapsed == 1 or elapsed == 0 else "seconds"
    using = f"{ncpu:>3d} SMP threads" if parallel == "smp" else f"{ncpu:>3d} MPP procs"
    return [
        "",
        at_column_64(word, ended),
        "",
        " Memory required to complete solution   :     314K",
        " Additional dynamically allocated memory:    2548K",
        "                                   Total:    2862K",
        "",
        " T i m i n g   i n f o r m a t i o n",
        "                        CPU(seconds)   %CPU  Clock(seconds) %Clock",
        "  ----------------------------------------------------------------",
        f"  Keyword Processing ... 0.0000E+00    0.00     {0.019:.4E}    0.10",
        f"  Element processing ... {elapsed:.4E}   90.00     {elapsed * 0.9:.4E}   90.00",
        "  ----------------------------------------------------------------",
        f"  T o t a l s            {elapsed:.4E}  100.00     {float(elapsed):.4E}  100.00",
        "",
        f" Problem time       =    {t:.4E}",
        f" Problem cycle      = {cycle:>9d}",
        f" Total CPU time     = {elapsed:>9d} seconds (   0 hours  0 minutes {elapsed % 60:>2d} seconds)",
        " CPU time per zone cycle  =        480.437 nanoseconds",
        " Clock time per zone cycle=        478.248 nanoseconds",
        "",
        f" Number of CPU's {ncpu:>4d}",
        " NLQ used/max     136/  136",
        f" Start time   {long_date(started)}  ",
        f" End time     {long_date(ended)}  ",
        f" Elapsed time {elapsed:>7d} {unit} for {cycle:>7d} cycles using {using}",
        f"             ({elapsed // 3600:>7d} hour {elapsed % 3600 // 60:>3d} minute {elapsed % 60:>3d} seconds)",
        "",
        at_column_64(word, ended),
    ]
