"""`make bench`: the server and PWA benchmarks, then issue 12's real-size figures at county40k with a
shorter sustained load (≤ 10 minutes in all); `make bench SCALE=county40k|county290k|province38|tenants3000`:
the real-size figures at that scale in full (tests/bench/real.py). Each module prints its figures and
writes its section of docs/benchmarks.md."""
from __future__ import annotations

import importlib
import os
import sys

EVERY_TIME = ("server", "pwa_start")
# `make bench` without SCALE keeps to its 10 minutes: a minute of sustained /sync instead of five.
QUICK = {"BENCH_SUSTAIN_SECONDS": "60", "BENCH_READ_REPEATS": "10", "BENCH_IDLE_SECONDS": "20"}


def main() -> int:
    scale = os.environ.get("SCALE")
    if not scale:
        for name in EVERY_TIME:
            print(f"== tests.bench.{name}", flush=True)
            status = int(importlib.import_module(f"tests.bench.{name}").main() or 0)
            if status:
                return status
        for key, value in QUICK.items():
            os.environ.setdefault(key, value)  # before tests.bench.real reads them
    print(f"== tests.bench.real {scale or 'county40k'}", flush=True)
    return int(importlib.import_module("tests.bench.real").main([scale or "county40k"]) or 0)


if __name__ == "__main__":
    sys.exit(main())
