"""`dynagui doctor`: what would stop a job from running, found before launching it."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass

from dynagui.core.paths import DataDir
from dynagui.core.store import Store, StoreError
from dynagui.core.submit import Settings, all_profiles

LICENCE_VARS = ("LSTC_LICENSE", "LSTC_LICENSE_SERVER", "ANSYSLMD_LICENSE_FILE", "ANSYSLI_SERVERS", "LSTC_FILE")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_doctor(data_dir: DataDir, profile_name: str | None = None) -> list[Check]:
    checks: list[Check] = []
    try:
        store = Store(data_dir.database)
    except StoreError as exc:
        return [Check("database", False, str(exc))]
    try:
        settings = Settings.load(store)
        checks.append(Check("database", True, f"{data_dir.database} (schema ok)"))
        probe = data_dir.root / ".doctor-probe"
        try:
            probe.write_text("ok")
            probe.unlink()
            checks.append(Check("data folder", True, f"{data_dir.root} is writable"))
        except OSError as exc:
            checks.append(Check("data folder", False, f"{data_dir.root} is not writable: {exc.strerror}"))
        free = shutil.disk_usage(data_dir.root).free / 1e9
        checks.append(Check("disk space", free >= settings.disk_warn_gb,
                            f"{free:.1f} GB free (warning below {settings.disk_warn_gb:g} GB)"))
        checks.append(Check("core budget", True, f"{settings.core_budget} cores, health pass every "
                            f"{settings.health_interval:g} s"))
        for name, profile in all_profiles(store).items():
            if profile_name and name != profile_name:
                continue
            exe = profile.resolve_executable()
            checks.append(Check(f"solver {name}", exe is not None,
                                exe or f"{profile.executable} not found: fix the profile with `dynagui solvers add`"))
            if profile.parallel == "mpp" and profile.mpi_launcher:
                launcher = profile.mpi_launcher[0]
                found = launcher if os.path.isabs(launcher) and os.path.isfile(launcher) else shutil.which(launcher)
                checks.append(Check(f"MPI launcher of {name}", found is not None,
                                    found or f"{launcher} not found on PATH"))
        mpich = shutil.which("mpiexec.mpich") or shutil.which("mpiexec")
        checks.append(Check("MPI (optional)", True, mpich or "no mpiexec on PATH (only needed for MPP profiles)"))
        lic = {k: os.environ[k] for k in LICENCE_VARS if k in os.environ}
        checks.append(Check("licence settings", True,
                            ", ".join(f"{k}={v}" for k, v in lic.items()) if lic
                            else "no LSTC_LICENSE/ANSYSLMD_LICENSE_FILE set (fine for the simulator; "
                                 "real LS-DYNA needs one)"))
        checks.append(Check("python", True, sys.executable))
    finally:
        store.close()
    return checks
