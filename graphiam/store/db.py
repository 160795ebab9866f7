"""The one place graphiam opens the graph engine's databases and connections (kuzu or LadybugDB, chosen in
`graphiam.store.engine`).

Facts of kuzu 0.11.3 (and LadybugDB) this module guards (docs/ENGINE.md has them all): one `Database` per
path per process (a second open of the same directory silently drops kuzu's file lock); one `Connection` per
thread; writes serialised by one lock because a second writer fails instead of waiting; a connection whose
`BEGIN` failed is thrown away (the next query on it crashes the process); a bounded buffer pool (kuzu's
default is 80% of the host's RAM) and `max_db_size` (the default maps 8 TiB).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from graphiam.cancel import NEVER, Cancel
from graphiam.errors import StoreError
from graphiam.store import durability
from graphiam.store.engine import check_engine, engine_name, load_engine, write_marker

# GRAPHIAM_BUFFER_POOL_MB, else None: the engine's own default (`Engine.default_buffer_pool_mb`)
DEFAULT_BUFFER_POOL_MB: int | None = (
    int(os.environ["GRAPHIAM_BUFFER_POOL_MB"]) if os.environ.get("GRAPHIAM_BUFFER_POOL_MB") else None
)
QUERY_TIMEOUT_MS = 3000
FETCH_CHECK_ROWS = 4096  # rows fetched between two checks of the cancellation token
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_open_paths: set[str] = set()
_open_lock = threading.Lock()
T = TypeVar("T")


class _ReadWriteGate:
    """Readers share, a committing writer excludes (writer-preferring, so commits are not starved).

    kuzu checkpoints at COMMIT after a COPY (and whenever the WAL passes 16 MiB); the checkpoint waits ~5 s
    for every open read transaction and then raises although the write is committed. Holding reads back for
    the moment of a commit removes that failure.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._waiting = 0

    def acquire_read(self) -> None:
        with self._cond:
            while self._writing or self._waiting:
                self._cond.wait()
            self._readers += 1

    def release_read(self) -> None:
        with self._cond:
            self._readers -= 1
            if self._readers == 0:
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class Database:
    """A database opened once, handing out one connection per thread.

    `path=None` opens an in-memory database (tests). `read_only=True` is the seam for scaling reads out over
    a copy of a database directory; graphiam's own server opens read-write. `engine` is "kuzu" or "ladybug"
    (None: `GRAPHIAM_ENGINE`, else kuzu); a database made by the other engine is refused in one line.
    """

    def __init__(
        self,
        path: str | Path | None,
        *,
        read_only: bool = False,
        buffer_pool_mb: int | None = DEFAULT_BUFFER_POOL_MB,
        query_timeout_ms: int = QUERY_TIMEOUT_MS,
        engine: str | None = None,
    ) -> None:
        self.path = None if path is None else str(Path(path).resolve())
        if self.path is not None:  # before the engine loads: a database of the other one fails in one line
            check_engine(self.path, engine_name(engine))
        self.engine = load_engine(engine)
        self.buffer_pool_mb = self.engine.default_buffer_pool_mb if buffer_pool_mb is None else buffer_pool_mb
        self.read_only = read_only
        self.query_timeout_ms = query_timeout_ms
        created = False
        self._lock: int | None = None  # graphiam's lock on the file (store/durability.py)
        if self.path is not None:
            with _open_lock:
                if self.path in _open_paths:
                    raise StoreError(f"database `{self.path}` is already open in this process")
                _open_paths.add(self.path)
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                self._lock = self._take_lock(self.path, read_only)
            except BaseException:
                self._release_path()
                raise
            created = not Path(self.path).exists()
        try:
            self._db = self.engine.open(self.path, buffer_pool_mb=self.buffer_pool_mb, read_only=read_only)
        except RuntimeError as exc:
            self._release_path()
            raise StoreError(f"cannot open database `{self.path}`: {_first_line(exc)}") from None
        if self.path is not None and (created or not read_only):
            with contextlib.suppress(OSError):  # a marker we cannot write: the database is still usable
                write_marker(self.path, self.engine.name)
        self._local = threading.local()
        self._conns: list[tuple[threading.Thread, Any]] = []  # every open connection and its thread
        self._conns_lock = threading.Lock()
        self.write_lock = threading.RLock()
        self.gate = _ReadWriteGate()
        self.generation = 0  # bumped after every committed write; caches key on it
        # called (with this database) after each committed write, still holding `write_lock`, once the file
        # alone holds it (a file database): `store/publish.py` publishes the generation to reader processes.
        # A hook must not raise: the write is already committed.
        self.after_write: list[Callable[[Database], None]] = []
        self.queries_executed = 0  # counted for tests that bound round trips (DataLoaders)

    @staticmethod
    def _take_lock(path: str, read_only: bool) -> int | None:
        """graphiam's lock on the database (exclusive to write, shared to read, as the engine's), after which
        a write that a killed process left unfinished is undone (`durability.restore_previous`) before the
        engine reads the file."""
        unfinished = (
            Path(f"{path}{durability.PREVIOUS}").exists() or Path(f"{path}{durability.PARTIAL}").exists()
        )
        fd = durability.lock(path, exclusive=not read_only or unfinished)
        if fd is None:
            return None
        try:
            if unfinished or not read_only:
                durability.restore_previous(path)
            if read_only and unfinished:
                durability.relock(fd, exclusive=False)
        except BaseException:
            durability.unlock(fd)
            raise
        return fd

    def _release_path(self) -> None:
        if self._lock is not None:
            durability.unlock(self._lock)
            self._lock = None
        if self.path is not None:
            with _open_lock:
                _open_paths.discard(self.path)

    def connection(self) -> Any:
        """This thread's connection (the engine's `Connection`), opened on first use. Connections of threads
        that have ended are closed first: LadybugDB keeps buffer-pool memory for each until it is closed (a
        thread pool per request would otherwise fill the pool), and kuzu's are freed the same way."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._conns_lock:
                ended = [(t, c) for t, c in self._conns if not t.is_alive()]
                self._conns = [(t, c) for t, c in self._conns if t.is_alive()]
            for _, c in ended:
                with contextlib.suppress(Exception):  # its thread is gone; nothing else uses it
                    c.close()
            conn = self.engine.connect(self._db, query_timeout_ms=self.query_timeout_ms)
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append((threading.current_thread(), conn))
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._conns_lock:
                self._conns = [(t, c) for t, c in self._conns if c is not conn]
            with contextlib.suppress(Exception):  # the connection is being discarded anyway
                conn.close()

    def execute(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one statement with bound parameters and return its rows as dicts (the one choke point)."""

        def rows(result: Any) -> list[dict[str, Any]]:
            cols = result.get_column_names()
            cancel = self._cancel()
            if cancel is NEVER:
                return [dict(zip(cols, row, strict=True)) for row in result.get_all()]
            out = []
            while result.has_next():  # a large answer is fetched in Python: check between batches
                out.append(dict(zip(cols, result.get_next(), strict=True)))
                if len(out) % FETCH_CHECK_ROWS == 0:
                    cancel.check()
            return out

        return self._run(cypher, params, rows)

    def execute_arrow(
        self, cypher: str, params: Mapping[str, Any] | None = None, *, chunk_size: int = 100_000
    ) -> pa.Table:
        """As `execute`, the rows as a pyarrow Table: for reads of millions of rows, which as dicts would hold
        one Python object per value."""
        return self._run(cypher, params, lambda result: result.get_as_arrow(chunk_size=chunk_size))

    def _run(self, cypher: str, params: Mapping[str, Any] | None, fetch: Callable[[Any], T]) -> T:
        params = dict(params or {})
        wanted = set(_PARAM.findall(cypher))
        if wanted != set(params):
            # kuzu misbehaves on mismatched parameter names; catch it before the engine sees it
            raise StoreError(f"query parameters {sorted(params)} do not match the query's {sorted(wanted)}")
        self.queries_executed += 1
        cancel = self._cancel()
        cancel.check()
        gated = not (self.in_transaction or getattr(self._local, "in_read", False))
        if gated:
            self.gate.acquire_read()
        try:
            try:
                result = single_result(self.connection().execute(cypher, params))
            except RuntimeError as exc:
                cancel.check()  # interrupted by `interruptible`: say why
                raise StoreError(pool_hint(_first_line(exc), self.buffer_pool_mb)) from None
            try:
                return fetch(result)
            finally:
                result.close()
        finally:
            if gated:
                self.gate.release_read()

    def _cancel(self) -> Cancel:
        """The token of the `interruptible` block this thread is in (`NEVER` outside one)."""
        return getattr(self._local, "cancel", None) or NEVER

    @contextmanager
    def interruptible(self, cancel: Cancel) -> Iterator[Database]:
        """Within the block, this thread's queries stop when `cancel` is cancelled: one that is running is
        interrupted (the engine's `Connection.interrupt`), a large answer stops being fetched, and the next
        one does not start; each raises `Cancelled`. A token with a deadline also bounds each query's time
        by what is left of it. Blocks nest (the inner token rules until it ends)."""
        if cancel is NEVER:
            yield self
            return
        outer = getattr(self._local, "cancel", None)
        conn = self.connection()
        self._local.cancel = cancel
        try:
            with cancel.on_cancel(partial(_interrupt, conn)):
                left = cancel.remaining()
                if left is None:
                    yield self
                    return
                conn.set_query_timeout(max(1, min(self.query_timeout_ms, int(left * 1000))))
                try:
                    yield self
                finally:
                    with contextlib.suppress(RuntimeError):  # closed meanwhile (`_put_back_previous`)
                        conn.set_query_timeout(self.query_timeout_ms)
        finally:
            self._local.cancel = outer

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Serialised write transaction: all or nothing. Bumps `generation` on commit.

        A `transaction()` opened inside another one on the same thread joins it (kuzu cannot nest, and a
        second `BEGIN` on the connection would fail): the outer one commits or rolls back everything.

        kuzu 0.11.3 traps (tests/test_whatif.py shows both): rolling back a transaction that COPYed into a
        non-empty rel table drops every committed row of that table, and relationships CREATEd in a
        transaction come back with wrong endpoints from non-anchored scans inside it (they are right once
        committed). So a "dry run" is not a rolled-back transaction here: `graphiam.store.clone` copies the
        graph instead.

        The per-statement bound is for reads a client asks for. A write runs graphiam's own statements, and
        its COMMIT and checkpoints write the file: on a large load (10,000 principals on a busy machine) the
        COMMIT alone passed 3 s, and an interrupted COMMIT threw the whole load away after its work was done.
        So the write's statements run unbounded.
        """
        if self.read_only:
            raise StoreError("database is open read-only")
        if getattr(self._local, "in_tx", False):
            yield self
            return
        with self.write_lock:
            before = self.generation
            put_back = False  # the rollback cannot be trusted: the previous file goes back instead
            if self.path is not None:  # crash-atomic: the file as it is now stays beside it until the end
                self._checkpoint()
                durability.keep_previous(self.path)
            try:
                conn = self.connection()
                try:
                    conn.execute("BEGIN TRANSACTION")
                except RuntimeError as exc:
                    self._drop_connection()  # never reuse a connection whose BEGIN failed
                    raise StoreError(f"cannot start a write: {_first_line(exc)}") from None
                self._local.in_tx = True
                self._local.copied = False
                self.engine.set_timeout(conn, 0)
                try:
                    try:
                        yield self
                    except BaseException:
                        with contextlib.suppress(RuntimeError):  # a failed COPY has already rolled it back
                            conn.execute("ROLLBACK")
                        put_back = self.path is not None and self._local.copied
                        raise
                    try:
                        with self.gate.exclusive():  # no read transaction open while kuzu checkpoints
                            conn.execute("COMMIT")
                    except RuntimeError as exc:
                        self._drop_connection()
                        failure = pool_hint(_first_line(exc), self.buffer_pool_mb)
                        raise StoreError(f"commit failed: {failure}") from None
                    finally:
                        self.generation += 1
                finally:
                    self._local.in_tx = False
                    if getattr(self._local, "copied", False):
                        # the engine keeps what a COPY read until the connection closes (docs/ENGINE.md)
                        self._local.copied = False
                        self._drop_connection()
                    if getattr(self._local, "conn", None) is conn:  # not dropped after a failed commit
                        with contextlib.suppress(RuntimeError):
                            self.engine.set_timeout(conn, self.query_timeout_ms)
            finally:
                if put_back:
                    self._put_back_previous()
                elif self.path is not None:  # the file alone holds the outcome: the previous one can go
                    self._checkpoint()
                    durability.drop_previous(self.path)
            if self.generation != before:
                for hook in self.after_write:
                    hook(self)

    @property
    def rollback_restores(self) -> bool:
        """Whether a write transaction that fails leaves the database exactly as it was, whatever it wrote: a
        database file does, as `transaction` keeps its previous generation and puts it back after a failed
        write that COPYed (`_put_back_previous`). Neither engine rolls a COPY into non-empty tables back
        safely (kuzu 0.11.3 drops committed rows, LadybugDB 0.22 leaves a broken primary-key index), so a
        caller writing to an in-memory database that COPYs and may fail rehearses on a copy first
        (store/clone.py)."""
        return self.path is not None

    def _put_back_previous(self) -> None:
        """After a failed write that COPYed (whose rollback can drop committed rows, or break a primary-key
        index): close the engine, put the file kept before the write back (`durability.restore_previous`)
        and open it again. No read runs meanwhile (`gate`); every thread opens a new connection on its next
        query."""
        assert self.path is not None
        with self.gate.exclusive():
            with self._conns_lock:
                conns, self._conns = self._conns, []
            for _, c in conns:
                with contextlib.suppress(Exception):  # closed for good: the engine goes too
                    c.close()
            self._local = threading.local()
            self._db.close()
            durability.restore_previous(self.path)
            try:
                self._db = self.engine.open(self.path, buffer_pool_mb=self.buffer_pool_mb, read_only=False)
            except RuntimeError as exc:
                raise StoreError(f"cannot open database `{self.path}` again: {_first_line(exc)}") from None

    def checkpoint(self) -> None:
        """Move what the write-ahead log holds into the file, between writes (holding `write_lock`): after
        it, a copy of the file is a copy of the database (`store/publish.py`)."""
        if self.read_only or self.path is None:
            raise StoreError("only a database file open read-write can be checkpointed")
        with self.write_lock:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Move what the engine's write-ahead log holds into the database file (no read open meanwhile: a
        checkpoint waits for them, see `gate`), unbounded as the write's own statements are. Nothing to do
        after a COMMIT that COPYed (kuzu checkpoints then)."""
        assert self.path is not None
        if durability.pending_log(self.path):
            with self.gate.exclusive():
                conn = self.connection()
                self.engine.set_timeout(conn, 0)
                try:
                    conn.execute("CHECKPOINT")
                except RuntimeError as exc:
                    raise StoreError(f"checkpoint failed: {_first_line(exc)}") from None
                finally:
                    with contextlib.suppress(RuntimeError):
                        self.engine.set_timeout(conn, self.query_timeout_ms)

    @contextmanager
    def read_transaction(self) -> Iterator[Database]:
        """One consistent read view for several queries (joins the write transaction when inside one)."""
        if self.in_transaction or getattr(self._local, "in_read", False):
            yield self
            return
        conn = self.connection()
        self.gate.acquire_read()
        try:
            try:
                conn.execute("BEGIN TRANSACTION READ ONLY")
            except RuntimeError as exc:
                self._drop_connection()  # never reuse a connection whose BEGIN failed
                raise StoreError(f"cannot start a read: {_first_line(exc)}") from None
            self._local.in_read = True
            try:
                yield self
            finally:
                self._local.in_read = False
                try:
                    conn.execute("COMMIT")
                except RuntimeError:
                    self._drop_connection()
        finally:
            self.gate.release_read()

    @property
    def in_transaction(self) -> bool:
        """True on the thread that holds the open write transaction."""
        return bool(getattr(self._local, "in_tx", False))

    def copy_from(
        self, table: str, arrow_table: pa.Table, *, rel_pair: tuple[str, str] | None = None
    ) -> None:
        """Bulk-load a pyarrow table into `table` (COPY), inside the current transaction."""
        if not re.fullmatch(r"[A-Za-z_]+", table):
            raise StoreError(f"bad table name `{table}`")
        if arrow_table.num_rows == 0:
            return
        opts = ""
        if rel_pair is not None:
            a, b = rel_pair
            if not (re.fullmatch(r"[A-Za-z_]+", a) and re.fullmatch(r"[A-Za-z_]+", b)):
                raise StoreError("bad rel pair")
            opts = f" (from='{a}', to='{b}')"
        self.queries_executed += 1
        if self.in_transaction:
            self._local.copied = True
        try:
            self.connection().execute(f"COPY {table} FROM $t{opts}", {"t": _compact(arrow_table)})
        except RuntimeError as exc:
            failure = pool_hint(_first_line(exc), self.buffer_pool_mb)
            raise StoreError(f"bulk load of {table} failed: {failure}") from None

    def close(self) -> None:
        for _, conn in self._conns:
            with contextlib.suppress(Exception):
                conn.close()
        self._conns.clear()
        self._local = threading.local()
        self._db.close()
        self._release_path()


def _compact(table: pa.Table) -> pa.Table:
    """`table` with each string column that repeats its values dictionary-encoded: the engine keeps every
    table a COPY reads until the connection closes (docs/ENGINE.md), and a column of a million edges' role
    ARNs is then a few thousand strings and an index per row."""
    columns = []
    changed = False
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            encoded = column.dictionary_encode()
            if sum(len(chunk.dictionary) for chunk in encoded.chunks) * 2 < len(column):
                columns.append(encoded)
                changed = True
                continue
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names) if changed else table


def single_result(result: Any) -> Any:
    """The result of one statement: kuzu answers a string of several statements with a list of results, and
    graphiam always sends one statement at a time."""
    if isinstance(result, list):
        for r in result:
            r.close()
        raise StoreError(f"expected one statement, got {len(result)}")
    return result


def _interrupt(conn: Any) -> None:
    """Stop the query running on `conn` (called from another thread; nothing when none runs)."""
    with contextlib.suppress(Exception):  # a connection closed meanwhile has nothing to stop
        conn.interrupt()


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


POOL_FULL = "buffer pool is full"


def pool_hint(message: str, buffer_pool_mb: int) -> str:
    """`message` with what to do when it says the engine's buffer pool ran out: the pool is a fixed size
    set when the database opens (docs/ENGINE.md), so the same work fails again until it is given more."""
    if POOL_FULL not in message.lower():
        return message
    return (
        f"{message} (the database's buffer pool is {buffer_pool_mb:,} MiB: open it with a larger one, "
        f"GRAPHIAM_BUFFER_POOL_MB or `graphiam load --buffer-pool-mb`)"
    )
