"""Counting the statements that reach PostgreSQL, by application name: pgserver's build has no
pg_stat_statements (nor does the Citus kit's cluster load it), so the server logs every statement
(`log_statement = 'all'`) with the application name first on each line, and a window of the log is
counted. Used only while measuring (logging every statement costs time of its own)."""
from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

from services.storage.database import connect

PREFIX = "%a|"
STATEMENT = re.compile(r"^(?P<app>[^|\n]*)\|(?:LOG|LOG:)\s+(?:statement|execute [^:]*):", re.M)


class StatementLog:
    def __init__(self, url: str) -> None:
        self.url = url
        with connect(url) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            # The server's stderr, which every backend inherits, is the log file `pg_ctl -l` named (pgserver's,
            # or a Citus coordinator's started so): found while our backend lives, so the server must be local.
            try:
                self.path = Path(os.readlink(f"/proc/{backend}/fd/2"))
            except OSError as error:
                raise FileNotFoundError(f"no server log: PostgreSQL is not on this machine ({error})") from error
        if not self.path.is_file():
            raise FileNotFoundError(f"the server logs to {self.path}, not to a file: counting statements needs one")

    def __enter__(self) -> StatementLog:
        self._set("ALTER SYSTEM SET log_statement = 'all'", f"ALTER SYSTEM SET log_line_prefix = '{PREFIX}'")
        return self

    def __exit__(self, *exc: object) -> None:
        self._set("ALTER SYSTEM RESET log_statement", "ALTER SYSTEM RESET log_line_prefix")

    def _set(self, *statements: str) -> None:
        with connect(self.url) as conn:
            for statement in statements:
                conn.execute(statement)
            conn.execute("SELECT pg_reload_conf()")

    def mark(self) -> int:
        return self.path.stat().st_size

    def since(self, mark: int) -> Counter[str]:
        """Statements logged after `mark`, by application name ('' for connections that set none)."""
        with self.path.open("rb") as log:
            log.seek(mark)
            text = log.read().decode(errors="replace")
        return Counter(m["app"] for m in STATEMENT.finditer(text))
