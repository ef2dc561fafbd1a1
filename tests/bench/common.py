"""What every benchmark module shares: the machine and its load, a process's memory and CPU, percentiles,
logging in and check-in payloads over HTTP, and writing a section of docs/benchmarks.md."""
from __future__ import annotations

import math
import os
import re
import statistics
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path
from uuid import UUID

import httpx

from tests.e2e.seed import ROOT

REPORT = ROOT / "docs" / "benchmarks.md"
EARLIER = "## Earlier runs"
REQUEST_TIMEOUT = 60.0


# ---- the machine ----------------------------------------------------------------------------------------------

def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return {"cpus": len(os.sched_getaffinity(0)), "cpu": cpu,
            "memory_gib": int(meminfo["MemTotal"].split()[0]) / 1024 ** 2}


def describe_machine() -> str:
    host = machine()
    return f"{host['cpus']} × {host['cpu']}, {host['memory_gib']:.1f} GiB memory"


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def commit() -> str:
    """The commit measured (with `+` when the worktree has changes)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    branch, head = git("rev-parse", "--abbrev-ref", "HEAD"), git("rev-parse", "--short", "HEAD")
    dirty = "+" if git("status", "--porcelain", "--untracked-files=no") else ""
    return f"{branch} @ {head}{dirty}"


def now_utc() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


# ---- a process ------------------------------------------------------------------------------------------------

def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {key: int(fields[key].split()[0]) for key in ("VmRSS", "VmHWM")}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children, the live ones and those reaped (so for
    PostgreSQL's postmaster: every backend's; for `grassroots serve`: its projector's)."""
    def times(stat: str) -> list[int]:
        fields = stat.rsplit(")", 1)[1].split()
        return [int(x) for x in fields[11:15]]  # utime stime cutime cstime

    total = sum(times(Path(f"/proc/{pid}/stat").read_text()))
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue  # gone meanwhile
        if stat and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            total += sum(times(stat)[:2])
    return total / os.sysconf("SC_CLK_TCK")


def serving_pid(port: int) -> int:
    """`running_server` starts `grassroots serve --port PORT` as our child: find it in /proc."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if ppid == me and b"serve" in argv and str(port).encode() in argv:
            return int(entry.name)
    raise LookupError(f"no child process serving port {port}")


# ---- figures --------------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def median_ms(values: list[float]) -> str:
    return ms(statistics.median(values))


def write_section(name: str, text: str) -> None:
    """Replace (or append) the section between `<!-- name: begin -->` and `<!-- name: end -->`."""
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    section = f"{begin}\n{text.strip()}\n{end}"
    current = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n\nFigures measured on the project's machines.\n"
    if begin in current:
        current = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: section, current, flags=re.S)
    elif EARLIER in current:  # new sections go above the runs kept by hand
        current = current.replace(EARLIER, section + "\n\n" + EARLIER, 1)
    else:
        current = current.rstrip("\n") + "\n\n" + section + "\n"
    REPORT.write_text(current)


# ---- over HTTP ------------------------------------------------------------------------------------------------

def login(base: str, username: str, password: str) -> str:
    response = httpx.post(f"{base}/api/v1/session", json={"username": username, "password": password},
                          timeout=REQUEST_TIMEOUT)
    response.raise_for_status()
    return response.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_ready(base: str, timeout: float) -> float:
    """Seconds until `/readyz` answers 200 (the projector caught up); TimeoutError after `timeout`."""
    started = time.monotonic()
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=REQUEST_TIMEOUT).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"/readyz not 200 within {timeout:.0f} s")
        time.sleep(1.0)


@dataclass
class Households:
    ids: list[tuple[UUID, float, float]]  # id, lat, lon (active households of the county)

    def checkin(self, n: int) -> dict:
        """A sync entry's payload: a home visit with a good GPS fix at the household."""
        household, lat, lon = self.ids[n % len(self.ids)]
        return {"target_kind": "household", "target_id": str(household), "kind": "home",
                "occurred_at": datetime.now(UTC).isoformat(),
                "position": {"lat": lat, "lon": lon, "accuracy_m": 12.0, "provider": "gps"},
                "topics": [], "note": "", "companions": []}


def my_households(base: str, token: str) -> Households:
    """The cadre's households as the phone caches them (`GET /me/households`): active ones only."""
    response = httpx.get(f"{base}/api/v1/me/households", headers=bearer(token), timeout=REQUEST_TIMEOUT)
    response.raise_for_status()
    rows = [h for h in response.json()["households"] if not h["archived"]]
    if not rows:
        raise RuntimeError("the cadre has no active households")
    return Households([(UUID(h["id"]), h["lat"], h["lon"]) for h in rows])
