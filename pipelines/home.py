"""The product home (DESIGN §2): builds, the ``current`` pointer, the state store and locks.

::

    raw/<source>/            files as received, each source with its mapping.toml
    truth/                   simulated portfolios only; never ingested
    builds/<id>.duckdb       published warehouses; builds/current names the live one
    state.duckdb             what outlives builds: ingest ledger, build history, model runs, …
    artifacts/ exports/ docs/
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

BUILD_SUFFIX = ".duckdb"
PARTIAL_SUFFIX = ".partial"
BUILD_ID_RE = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{6}$")

STATE_DDL = (
    """
    create table if not exists builds (
      build_id varchar primary key,
      started_at timestamp not null,
      finished_at timestamp,
      status varchar not null,          -- running, published, failed, rolled_back
      raw_rows bigint,
      staged_rows bigint,
      quarantined_rows bigint,
      message varchar,
      settings_hash varchar,
      summary json
    )
    """,
    """
    create table if not exists ingest_ledger (
      build_id varchar not null,
      source varchar not null,
      kind varchar,
      source_file varchar not null,
      file_sha256 varchar not null,
      received_date date,
      bytes bigint,
      raw_rows bigint,
      staged_rows bigint,
      quarantined_rows bigint,
      status varchar not null,          -- loaded, duplicate_file, refused, unmatched
      message varchar,
      seen_at timestamp not null
    )
    """,
    """
    create table if not exists pointer_history (
      switched_at timestamp not null,
      build_id varchar not null,
      previous_build_id varchar,
      reason varchar not null           -- publish, rollback
    )
    """,
)


class HomeError(RuntimeError):
    """A problem with the home a user can act on (a lock held, no build yet, …)."""


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_build_id(now: datetime | None = None) -> str:
    """``YYYYMMDDTHHMMSS-xxxxxx``: sortable by start time, unique."""
    return f"{(now or utc_now()):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Home:
    """Paths of one product home."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def truth(self) -> Path:
        return self.root / "truth"

    @property
    def builds(self) -> Path:
        return self.root / "builds"

    @property
    def state_path(self) -> Path:
        return self.root / "state.duckdb"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def docs(self) -> Path:
        return self.root / "docs"

    @property
    def pointer(self) -> Path:
        return self.builds / "current"

    def ensure(self) -> Home:
        """Create the folders of the layout (idempotent)."""
        for path in (self.raw, self.builds, self.artifacts, self.exports, self.docs):
            path.mkdir(parents=True, exist_ok=True)
        return self

    def build_path(self, build_id: str) -> Path:
        return self.builds / f"{build_id}{BUILD_SUFFIX}"

    def partial_path(self, build_id: str) -> Path:
        return self.builds / f"{build_id}{BUILD_SUFFIX}{PARTIAL_SUFFIX}"

    # -- the current pointer -------------------------------------------------------------
    def current_id(self) -> str | None:
        """The id of the live build, or ``None`` before the first publish."""
        try:
            text = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return text or None

    def current_path(self) -> Path:
        """The live warehouse file; raise ``HomeError`` saying what to run when there is none."""
        build_id = self.current_id()
        if build_id is None:
            raise HomeError(f"{self.root}: no build yet; run `relance build` (or `relance demo`)")
        path = self.build_path(build_id)
        if not path.exists():
            raise HomeError(
                f"{self.pointer}: names {build_id}, whose file is missing; run `relance build`"
            )
        return path

    def published_ids(self) -> list[str]:
        """Published build ids, oldest first."""
        if not self.builds.exists():
            return []
        ids = [p.name[: -len(BUILD_SUFFIX)] for p in self.builds.glob(f"*{BUILD_SUFFIX}")]
        return sorted(i for i in ids if BUILD_ID_RE.match(i))

    def switch_current(self, build_id: str) -> None:
        """Point ``current`` at ``build_id`` atomically (write a temp file, then rename)."""
        if not self.build_path(build_id).exists():
            raise HomeError(f"build {build_id} does not exist under {self.builds}")
        tmp = self.pointer.with_name(f".current.{os.getpid()}.tmp")
        tmp.write_text(build_id + "\n", encoding="utf-8")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, self.pointer)
        dir_fd = os.open(self.builds, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def pruned(self, keep: int) -> list[str]:
        """Delete published builds beyond the newest ``keep`` (never the current one) and
        partial files of dead builds; return the deleted ids."""
        current = self.current_id()
        ids = self.published_ids()
        doomed = [i for i in ids[: max(0, len(ids) - keep)] if i != current]
        for build_id in doomed:
            self.build_path(build_id).unlink(missing_ok=True)
            Path(f"{self.build_path(build_id)}.wal").unlink(missing_ok=True)
        return doomed

    def stale_partials(self) -> list[Path]:
        """Partial files left by builds that died (only call while holding the build lock)."""
        if not self.builds.exists():
            return []
        return sorted(self.builds.glob(f"*{PARTIAL_SUFFIX}*"))

    # -- the build lock ------------------------------------------------------------------
    @contextlib.contextmanager
    def build_lock(self) -> Iterator[None]:
        """Hold the home's build lock; refuse at once if another build holds it.

        ``flock`` is released by the kernel when the holder dies, so a killed build never
        leaves a stale lock behind.
        """
        self.builds.mkdir(parents=True, exist_ok=True)
        lock_path = self.builds / ".build.lock"
        handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the block)
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise HomeError(
                    f"{lock_path}: another build is running ({holder}); wait for it to finish"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} since {utc_now():%Y-%m-%d %H:%M:%S} UTC")
            handle.flush()
            yield
        finally:
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
            handle.close()

    # -- the state store -----------------------------------------------------------------
    @contextlib.contextmanager
    def state(self, retry_seconds: float = 10.0, read_only: bool = False) -> Iterator:
        """A short-lived connection to ``state.duckdb`` with its tables created.

        Writers retry for ``retry_seconds`` while another process holds the file, then raise
        ``HomeError`` naming the holder.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        if read_only and not self.state_path.exists():
            con = duckdb.connect(":memory:")
            try:
                for ddl in STATE_DDL:
                    con.execute(ddl)
                yield con
            finally:
                con.close()
            return
        deadline = time.monotonic() + retry_seconds
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(
                    str(self.state_path),
                    read_only=read_only,
                    config={
                        "autoinstall_known_extensions": "false",
                        "autoload_known_extensions": "false",
                    },
                )
                con.execute("set TimeZone = 'UTC'")
                break
            except duckdb.IOException as exc:
                if time.monotonic() >= deadline:
                    holder = re.search(r"PID (\d+)", str(exc))
                    who = f"process {holder.group(1)}" if holder else "another process"
                    raise HomeError(
                        f"{self.state_path}: held by {who}; close it (the app never holds it) "
                        "and retry"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        try:
            if not read_only:
                for ddl in STATE_DDL:
                    con.execute(ddl)
            yield con
        finally:
            con.close()
