"""py-spy profiles of a missed target, kept small: the functions that held the most samples, as text in
docs/profiles/ (issue 12 asks for the profile that says why a target is missed).

`py-spy record --format raw` writes collapsed stacks (`frame;frame;frame count`); the summary lists
the frames with the most samples inclusive (anywhere on the stack) and self (on top of it), in our own
code and in all code. Waits on PostgreSQL show as time in asyncpg/psycopg frames only while Python
runs; idle waiting is not sampled (py-spy's default), so the Python share is what the summary shows.
Child processes are sampled too (`--subprocesses`): `grassroots serve` runs its projector as one.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.seed import ROOT

PROFILES = ROOT / "docs" / "profiles"
TOP = 25
RATE = 97  # samples per second (py-spy's default is 100; a prime keeps it out of step with timers)
OURS = ("services/", "projections/")


def py_spy() -> str | None:
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")


@contextmanager
def recording(pid: int, name: str, title: str) -> Iterator[None]:
    """Sample process `pid` while the block runs; then write docs/profiles/<name>.txt. Without py-spy
    (or without ptrace permission) the block runs unprofiled and says so on stderr."""
    binary = py_spy()
    if binary is None:
        print("    (py-spy not installed: no profile)", file=sys.stderr)
        yield
        return
    raw = Path(tempfile.mkstemp(prefix="gr-spy-", suffix=".txt")[1])
    process = subprocess.Popen([binary, "record", "--pid", str(pid), "--format", "raw", "--rate", str(RATE),
                                "--output", str(raw), "--nonblocking", "--function", "--subprocesses"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        process.send_signal(2)  # SIGINT: py-spy writes what it has and exits
        try:
            _, errors = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            errors = b""
        if raw.exists() and raw.stat().st_size:
            PROFILES.mkdir(parents=True, exist_ok=True)
            (PROFILES / f"{name}.txt").write_text(summary(raw.read_text(), title))
            print(f"    profile: docs/profiles/{name}.txt", flush=True)
        else:
            print(f"    (py-spy recorded nothing: {errors.decode(errors='replace').strip()[-300:]})", file=sys.stderr)
        raw.unlink(missing_ok=True)


def summary(collapsed: str, title: str) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_short(f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    if not total:
        return f"{title}\n\nno samples\n"

    def listing(counter: Counter[str], only_ours: bool) -> str:
        rows = [(f, n) for f, n in counter.most_common() if not only_ours or any(o in f for o in OURS)][:TOP]
        return "\n".join(f"{100 * n / total:5.1f}%  {f}" for f, n in rows)

    return (f"{title}\n{total:,} samples at {RATE}/s (py-spy {_version()}, active threads only)\n\n"
            f"## inclusive, our code (services/, projections/)\n{listing(inclusive, True)}\n\n"
            f"## self (top of stack), all code\n{listing(own, False)}\n\n"
            f"## inclusive, all code\n{listing(inclusive, False)}\n")


def _short(frame: str) -> str:
    """`function (path/to/file.py:123)` with the path from the repository or site-packages on."""
    for marker in ("site-packages/", str(ROOT) + os.sep, "/lib/python3.11/"):
        if marker in frame:
            head, _, tail = frame.partition("(")
            return f"{head.strip()} ({tail.split(marker, 1)[-1]}"
    return frame


def _version() -> str:
    binary = py_spy()
    return subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split()[-1] if binary else "?"
