"""`make bench`: run every benchmark module in tests/bench (each has a `main()` returning an exit code),
one after another; each prints its figures and writes its section of docs/benchmarks.md."""
from __future__ import annotations

import importlib
import pkgutil
import sys

import tests.bench as package


def main() -> int:
    status = 0
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name == "run":
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if callable(getattr(module, "main", None)):
            print(f"== tests.bench.{info.name}", flush=True)
            status = status or int(module.main() or 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
