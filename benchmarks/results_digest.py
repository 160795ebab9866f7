"""A digest of every derived fact and of some answers of a loaded database: "are the results unchanged?".

    .venv/bin/python benchmarks/results_digest.py digest --db PATH [--golden FILE] [--groups]
    .venv/bin/python benchmarks/results_digest.py record SPEC -o FILE    (SPEC: see `OrgSpec.parse`)
    .venv/bin/python benchmarks/results_digest.py check FILE [FILE ...]

`digest(db)` reads what a user can see of a load, in a form independent of HOW the derivation stores it, and
returns `{part: "<lines>:<sha256 prefix>"}` (`Digest.parts`):

- `can_assume`: every CAN_ASSUME edge: source (and its table), role, action, `needs_conditions`, and the
  content of its reason (the deciding statements and the conditions, JSON normalised; not the reason's id);
- `escalation`: every escalation edge EXPANDED, as the reading side returns them
  (`queries.escalation_paths.edge_rows`: explicit ESCALATES_TO edges, and each fan-out edge rendered as its
  per-target edges): source, target, technique, permissions and details (JSON normalised; no fan set ids);
- `names`: every NAMES edge (what the stored resource policies name), as `store.reader.names_of` reads them;
- `summary.*`: the import summary the history keeps (`queries.summary`): `admins`, `escalations` (one
  shortest path each), `findings`, `sensitive` (who may do each sensitive action on `*`, by action name; not
  the summary's fingerprints), `externals`, `entities`; `import.counts`: the import's counts;
- `answers.*`: GraphQL answers, asked in process with no time limit (as `bench_engines.py` does):
  `whoCan` for a few (action, resource) pairs (a chain's middle left out: `_chain_ends`), `escalationPaths`
  and `assumptionChains` (depth 6) from a few principals, and the findings report (`policyFindings`, every
  policy). The questions are chosen from the load (`choose_questions`) and kept with a golden, so a check
  asks the same ones.

Lines are grouped (by source, principal, policy or question); a part's digest is over its groups in key order,
each group's lines sorted, except answers, whose order is part of the answer. Nothing depends on row order,
set iteration order or ids an optimisation may change. `Digest.groups` keeps, per part, a digest per key
(parts of at most `PER_KEY` keys) or per bucket of keys (256 buckets by the key's hash), so a failed check
names the questions, or the keys of the buckets, that differ (`compare`).

The clock: time conditions (`aws:CurrentTime`; the generator writes `DateLessThan 2026-12-31`) are judged
against now, read by `graphiam.graph.context.environment` (the only place graphiam reads the clock for a
decision; derivers read it once). graphiam has no option to set it for a load, so `pinned_clock` replaces
the `datetime` that module reads: every golden here is recorded, and checked, at `CLOCK` (2026-06-01).

A golden file (`record`) holds the digest, the groups, the questions and how it was made (`made`: the
generator's arguments, the clock, the commit); `check` regenerates the org, loads it into a temporary
database and compares.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from graphiam.store import Database  # noqa: E402
from graphiam.store.engine import engine_name  # noqa: E402
from graphiam.store.schema import ensure_schema  # noqa: E402

CLOCK = datetime(2026, 6, 1, tzinfo=UTC)
PER_KEY = 64  # parts with at most this many keys keep a digest per key in a golden; larger ones per bucket
HASH = 16  # hex digits of a part's digest
GROUP_HASH = 10  # hex digits of a group's or bucket's digest
QUERY_TIMEOUT_MS = 3_600_000  # a 10,000-principal load or digest: no query is cut short
ESCALATION_BATCH = 200  # sources per read of expanded escalation edges (bounded memory at 10,000 principals)


# ---- the clock ----


@contextlib.contextmanager
def pinned_clock(moment: datetime = CLOCK) -> Iterator[None]:
    """While inside, graphiam's decisions see `moment` as now (see the module docstring)."""
    import graphiam.graph.context as context

    namespace = vars(context)
    real = namespace["datetime"]

    class Pinned(real):  # type: ignore[misc, valid-type]
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)

    namespace["datetime"] = Pinned
    try:
        yield
    finally:
        namespace["datetime"] = real


# ---- parts ----


def _sha(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _norm(text: str | None) -> str:
    """JSON text with sorted keys and no spaces (stored JSON's key order and spacing are storage details)."""
    if text is None or text == "":
        return "null"
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


class Part:
    """Lines of one part, grouped by key; each group digested as it is added (its lines dropped unless
    `keep`)."""

    def __init__(self, name: str, *, keep: bool = False) -> None:
        self.name = name
        self.keep = keep
        self.groups: dict[str, tuple[int, str]] = {}
        self.lines: dict[str, list[str]] = {}

    def group(self, key: str, lines: Sequence[str], *, ordered: bool = False) -> None:
        """Add the lines of `key` (sorted first, unless their order is part of the answer)."""
        if key in self.groups:
            raise ValueError(f"{self.name}: key `{key}` added twice")
        body = list(lines) if ordered else sorted(lines)
        self.groups[key] = (len(body), _sha("\n".join(body), 64))
        if self.keep:
            self.lines[key] = body

    def value(self) -> str:
        count = sum(n for n, _ in self.groups.values())
        text = "\n".join(f"{k}\t{n}\t{h}" for k, (n, h) in sorted(self.groups.items()))
        return f"{count}:{_sha(text, HASH)}"

    def detail(self) -> dict[str, str]:
        """Per key (a small part) or per bucket of keys: `"<lines>:<digest>"`."""
        if len(self.groups) <= PER_KEY:
            return {k: f"{n}:{h[:GROUP_HASH]}" for k, (n, h) in sorted(self.groups.items())}
        buckets: dict[str, list[str]] = {}
        for k, (n, h) in self.groups.items():
            buckets.setdefault(bucket(k), []).append(f"{k}\t{n}\t{h}")
        out = {}
        for b, entries in sorted(buckets.items()):
            entries.sort()
            lines = sum(int(e.split("\t")[1]) for e in entries)
            out[b] = f"{lines}:{_sha(chr(10).join(entries), GROUP_HASH)}"
        return out


def bucket(key: str) -> str:
    return "~" + _sha(key, 2)


@dataclass
class Digest:
    parts: dict[str, str]
    groups: dict[str, dict[str, str]]
    questions: dict[str, Any]
    keys: dict[str, dict[str, int]] = field(default_factory=dict)  # part -> key -> lines (for `compare`)
    lines: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # with `keep`: part -> key -> lines


# ---- derived facts ----


def can_assume_part(db: Database, keep: bool) -> Part:
    """CAN_ASSUME edges and their reasons, read as Arrow (`store.clone.table_copies`: a million edges at
    10,000 principals)."""
    import pyarrow.compute as pc

    from graphiam.store.clone import table_copies

    part = Part("can_assume", keep=keep)
    by_source: dict[str, list[str]] = {}
    reasons: dict[str, str] = {}
    edges = []
    with db.read_transaction():
        for table, pair, data in table_copies(db):
            if table == "AssumeReason":
                for r in data.to_pylist():
                    content = _norm(r["statements"]) + "\t" + _norm(r["conditions"])
                    reasons[r["id"]] = _sha(content, 20)
            elif table == "CAN_ASSUME" and pair is not None and data.num_rows:
                edges.append((pair[0], data))
    for source_table, data in edges:
        cols = {}
        for name in ("from", "to", "action", "reason", "needs_conditions"):
            enc = pc.dictionary_encode(data.column(name)).combine_chunks()
            cols[name] = (enc.indices.to_pylist(), enc.dictionary.to_pylist())
        (fi, fv), (ti, tv), (ai, av), (ri, rv), (ni, nv) = (cols[c] for c in cols)
        why = [reasons.get(r, f"missing reason {r}") for r in rv]
        for f, t, a, r, n in zip(fi, ti, ai, ri, ni, strict=True):
            by_source.setdefault(fv[f], []).append(f"{source_table}\t{tv[t]}\t{av[a]}\t{nv[n]}\t{why[r]}")
        del cols
    for key in sorted(by_source):
        part.group(key, by_source.pop(key))
    return part


def escalation_part(db: Database, principals: Sequence[str], keep: bool) -> Part:
    """Escalation edges, fan-out edges expanded, as `edge_rows` returns them, `ESCALATION_BATCH` sources at a
    time."""
    from graphiam.queries.escalation_paths import edge_rows

    part = Part("escalation", keep=keep)
    ordered = sorted(principals)
    details: dict[str, str] = {}  # a few thousand distinct details for a hundred thousand edges
    with db.read_transaction():
        for i in range(0, len(ordered), ESCALATION_BATCH):
            batch = ordered[i : i + ESCALATION_BATCH]
            found: dict[str, list[str]] = {}
            if len(details) > 100_000:
                details.clear()
            for r in edge_rows(db, batch):
                d = details.get(r["details"])
                if d is None:
                    d = details[r["details"]] = _norm(r["details"])
                found.setdefault(r["from"], []).append(
                    f"{r['to']}\t{r['technique']}\t{_norm(r['permissions'])}\t{d}"
                )
            for key in sorted(found):
                part.group(key, found[key])
    return part


def names_part(db: Database, keep: bool) -> Part:
    from graphiam.store import reader

    part = Part("names", keep=keep)
    with db.read_transaction():
        arns = sorted(r.arn for r in reader.all_resources(db))
        for arn, named in reader.names_of(db, arns).items():
            if named:
                part.group(
                    arn,
                    [
                        f"{n.table}\t{n.kind}\t{n.value}\t{n.effect}\t{n.conditional}\t{n.principal_kind}\t"
                        f"{n.not_principal}"
                        for n in named
                    ],
                )
    return part


def summary_parts(db: Database, keep: bool) -> tuple[list[Part], dict[str, Any]]:
    """The newest import's stored summary (the parts named in the module docstring), and the summary."""
    from graphiam.queries import history

    newest = history.latest(db)
    if newest is None:
        raise SystemExit("the database has no recorded import (load it with graphiam load / load_files)")
    info, summary = newest
    parts = []
    for name in ("admins", "escalations", "findings", "externals", "entities"):
        part = Part(f"summary.{name}", keep=keep)
        for key, value in summary[name].items():
            part.group(key, [_json(value)])
        parts.append(part)
    sensitive = Part("summary.sensitive", keep=keep)
    actions = summary["sensitive"]["actions"]
    for arn, hits in summary["sensitive"]["allowed"].items():
        sensitive.group(arn, [actions[i] for i in hits])
    parts.append(sensitive)
    counts = Part("import.counts", keep=keep)
    counts.group("counts", [_json(info.counts)])
    parts.append(counts)
    return parts, summary


# ---- answers ----

WHO_CAN = """query($a: String!, $r: String!, $chains: Boolean!) {
  whoCan(action: $a, resource: $r, viaChains: $chains, maxDepth: 3) {
    principalArn kind account via decision conditional missingContextKeys chain chainConditions unknown
    incomplete outsideOrganization public rcpDenied
    requiredConditions { key operator values role policyArn statementIndex }
    matchedStatements { policyArn policyName kind appliesVia viaName statementIndex sid effect }
  } }"""
ESCALATION_PATHS = """query($f: String!) {
  escalationPaths(from: $f, maxDepth: 5, limit: 100) {
    length reachesAdmin conditions incomplete
    steps { from to technique techniqueName statements conditions assumptions makesAdmin
      permissions { action resource statements conditions } }
  } }"""
CHAINS = """query($f: String!) {
  assumptionChainPage(from: $f, maxDepth: 6, first: 100) {
    totalCount truncated hasNextPage warnings
    chains { length needsConditions incomplete
      hops { from to action needsConditions
        statements { policyArn statementIndex effect sid appliesVia }
        requiredConditions { key operator values role policyArn statementIndex } } }
  } }"""
FINDINGS = """query($after: String) {
  policyFindings(first: 100, after: $after) {
    totalCount policiesAnalysed warnings pageInfo { hasNextPage endCursor }
    summary { category severity policies actions principals }
    nodes { policyArn policyName policyKind account owner reachesAdmin boundaryOf
      findings { category severity actions actionCount techniques statements conditional conditions }
      principals { arn kind name account via isAdmin canBecomeAdmin } }
  } }"""


class Asker:
    """GraphQL in process over `db`, with no time limit (the engine's answer is what is compared)."""

    def __init__(self, db: Database) -> None:
        from graphiam.api.context import Services
        from graphiam.api.schema import build_schema

        self.services = Services(db=db, executor=ThreadPoolExecutor(2))
        self.schema = build_schema(time_limit=None)
        self.loop = asyncio.new_event_loop()

    def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        from graphiam.api.context import Context, Loaders

        ctx = Context(services=self.services, loaders=Loaders(self.services))
        r = self.loop.run_until_complete(
            self.schema.execute(query, variable_values=variables, context_value=ctx)
        )
        if r.errors:
            raise RuntimeError(f"GraphQL error: {r.errors[0]} (variables {variables})")
        assert r.data is not None
        return r.data

    def close(self) -> None:
        self.loop.close()
        self.services.executor.shutdown()


def _spread(items: Sequence[str], n: int) -> list[str]:
    """`n` items spread evenly over `items` (sorted), first and last included."""
    items = sorted(items)
    if len(items) <= n:
        return list(items)
    if n == 1:
        return [items[len(items) // 2]]
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def choose_questions(
    principals: Sequence[str],
    summary: dict[str, Any],
    assume_sources: Iterable[str],
    resources: Sequence[str],
) -> dict[str, Any]:
    """The questions a golden keeps: chosen from the load, so that they have answers worth comparing."""
    users = sorted(a for a in principals if ":user/" in a)
    roles = sorted(a for a in principals if ":role/" in a)
    pairs: list[list[Any]] = [["s3:GetObject", "*", False], ["iam:PassRole", "*", False]]
    if users:
        pairs.append(["iam:CreateAccessKey", users[len(users) // 2], False])
    if roles:
        pairs.append(["sts:AssumeRole", roles[len(roles) // 2], False])
        pairs.append(["iam:PutRolePolicy", roles[len(roles) // 3], True])
    buckets = sorted(r for r in resources if r.startswith("arn:aws:s3:::"))
    if buckets:
        pairs.append(["s3:GetObject", buckets[len(buckets) // 2] + "/report.csv", False])
    climbers = sorted(summary["escalations"])
    starts = _spread(climbers, 4) + _spread(sorted(set(principals) - set(climbers)), 1)
    chains = _spread([s for s in set(assume_sources) if s in set(principals)], 5)
    return {"whoCan": pairs, "escalationPaths": starts, "assumptionChains": chains}


def _chain_ends(row: dict[str, Any]) -> dict[str, Any]:
    """A whoCan row with a chain (viaChains), without what depends on WHICH shortest chain it shows: main
    takes one shortest chain per (principal, allowed role) pair from kuzu's `SHORTEST`, and when several
    chains are equally short the one returned follows the order the CAN_ASSUME edges were written in, which
    differs between two loads of the same files run with different PYTHONHASHSEED; the chain kept is then the
    least by its ARNs, so its middle, its last role and that role's decision, statements and conditions can
    all change. Kept: the principal, that it is reached by a chain, and the chain's length."""
    chain = row.get("chain")
    if not chain:
        return row
    kept = ("principalArn", "kind", "account", "unknown", "incomplete", "outsideOrganization", "public")
    return {**{k: row.get(k) for k in kept}, "chainLength": len(chain), "chainFrom": chain[0]}


def answer_parts(db: Database, questions: dict[str, Any], keep: bool) -> list[Part]:
    ask = Asker(db)
    try:
        who = Part("answers.whoCan", keep=keep)
        for action, resource, chains in questions["whoCan"]:
            rows = ask(WHO_CAN, a=action, r=resource, chains=chains)["whoCan"]
            lines = [_json(_chain_ends(r)) for r in rows]
            who.group(f"{action} {resource} viaChains={chains}", lines, ordered=True)
        paths = Part("answers.escalationPaths", keep=keep)
        for arn in questions["escalationPaths"]:
            found = ask(ESCALATION_PATHS, f=arn)["escalationPaths"]
            paths.group(arn, [_json(p) for p in found], ordered=True)
        chains_part = Part("answers.assumptionChains", keep=keep)
        for arn in questions["assumptionChains"]:
            page = ask(CHAINS, f=arn)["assumptionChainPage"]
            head = {k: v for k, v in page.items() if k != "chains"}
            chains_part.group(arn, [_json(head)] + [_json(c) for c in page["chains"]], ordered=True)
        findings = Part("answers.policyFindings", keep=keep)
        report = ask(FINDINGS, after=None)["policyFindings"]
        nodes = report.pop("nodes")
        info = report.pop("pageInfo")
        while info["hasNextPage"]:
            page = ask(FINDINGS, after=info["endCursor"])["policyFindings"]
            nodes += page.pop("nodes")
            info = page.pop("pageInfo")
            if page != report:
                raise RuntimeError("policyFindings: the report changed between pages")
        findings.group("(report)", [_json(report), _json([n["policyArn"] for n in nodes])], ordered=True)
        for n in nodes:
            findings.group(n["policyArn"], [_json(n)])
        return [who, paths, chains_part, findings]
    finally:
        ask.close()


# ---- the digest ----


def digest(db: Database, questions: dict[str, Any] | None = None, *, keep: bool = False) -> Digest:
    """The digest of the loaded database `db` (see the module docstring); `questions` from a golden (None:
    chosen here). `keep`: keep every part's lines (small orgs: the failure message of a check shows some)."""
    from graphiam.store import reader

    with db.read_transaction():
        users, roles, _groups = reader.all_principal_rows(db)
        principals = sorted([u.arn for u in users] + [r.arn for r in roles])
        resources = sorted(r.arn for r in reader.all_resources(db))
    parts = [can_assume_part(db, keep), escalation_part(db, principals, keep), names_part(db, keep)]
    summary_list, summary = summary_parts(db, keep)
    parts += summary_list
    if questions is None:
        questions = choose_questions(principals, summary, parts[0].groups, resources)
    parts += answer_parts(db, questions, keep)
    return Digest(
        parts={p.name: p.value() for p in parts},
        groups={p.name: p.detail() for p in parts},
        questions=questions,
        keys={p.name: {k: n for k, (n, _) in p.groups.items()} for p in parts},
        lines={p.name: p.lines for p in parts} if keep else {},
    )


def compare(golden: dict[str, Any], got: Digest, *, show: int = 5) -> list[str]:
    """What differs between a golden (`record`'s JSON) and `got`, one message per part (empty: the same)."""
    out = []
    want_parts: dict[str, str] = golden["digest"]
    for name in sorted(set(want_parts) | set(got.parts)):
        want, have = want_parts.get(name), got.parts.get(name)
        if want == have:
            continue
        msg = f"{name}: golden {want}, now {have}"
        before = golden.get("groups", {}).get(name, {})
        after = got.groups.get(name, {})
        differ = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        if differ and not differ[0].startswith("~"):  # keys (questions, principals)
            msg += "; differing: " + ", ".join(
                f"{k} (golden {before.get(k)}, now {after.get(k)})" for k in differ[:show]
            )
        elif differ and not all(k.startswith("~") for k in [*before, *after]):
            msg += "; the golden and this run group the part differently (one keeps keys, one buckets)"
        elif differ:  # buckets of keys: name the keys they hold now
            keys = sorted(k for k in got.keys.get(name, {}) if bucket(k) in set(differ))
            if not keys:
                msg += (
                    f"; {len(differ)} bucket(s) differ, holding only keys the golden has and this run lacks"
                )
                out.append(msg)
                continue
            msg += (
                f"; {len(differ)} of {max(len(before), len(after))} buckets differ, holding now: "
                + ", ".join(f"{k} ({got.keys[name][k]} lines)" for k in keys[:show])
            )
            if len(keys) > show:
                msg += f" and {len(keys) - show} more"
            lines = got.lines.get(name, {})
            if keys and keys[0] in lines:
                msg += f"; the lines of {keys[0]} now begin: " + " | ".join(
                    line[:200] for line in lines[keys[0]][:3]
                )
        out.append(msg)
    return out


# ---- generated orgs, golden files ----


@dataclass(frozen=True)
class OrgSpec:
    """A generated org: `benchmarks/generate_org.py` arguments (per account) and resources."""

    users: int
    roles: int
    policies: int
    accounts: int = 1
    seed: int = 7
    resources: int = 0
    shape: str = "default"
    groups: int | None = None

    @classmethod
    def parse(cls, text: str) -> OrgSpec:
        """`users=600,roles=400,policies=300,accounts=1,seed=7[,resources=N][,shape=wide][,groups=N]`."""
        values: dict[str, Any] = {}
        for item in text.split(","):
            key, _, value = item.partition("=")
            values[key.strip()] = value.strip() if key.strip() == "shape" else int(value)
        return cls(**values)

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @property
    def principals(self) -> int:
        return (self.users + self.roles) * self.accounts


def generator() -> Any:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import generate_org

    return generate_org


def write_org(spec: OrgSpec, out: Path) -> list[Path]:
    """The org's GAAD files (one per account) and, with resources, its iam-collect store, under `out`."""
    gen = generator()
    kwargs: dict[str, Any] = {
        "users": spec.users,
        "roles": spec.roles,
        "policies": spec.policies,
        "accounts": spec.accounts,
        "seed": spec.seed,
        "groups": spec.groups,
    }
    if spec.shape != "default":
        kwargs["shape"] = spec.shape
    out.mkdir(parents=True, exist_ok=True)
    files = []
    exports = []
    for export in gen.iter_org(**kwargs):
        path = out / f"{gen.account_of(export)}.json"
        path.write_text(json.dumps(export))
        files.append(path)
        if spec.resources:  # resources are spread over every account: keep them
            exports.append(export)
    if spec.resources:
        store = gen.write_resource_store(
            out / "resources", gen.generate_resources(exports, resources=spec.resources, seed=spec.seed)
        )
        files.append(store)
    return files


def load_and_digest(
    spec: OrgSpec,
    questions: dict[str, Any] | None = None,
    *,
    keep: bool = False,
    clock: datetime = CLOCK,
    db_path: Path | None = None,
) -> tuple[Digest, float | None]:
    """Generate `spec`, load it into a temporary database (a file, on the chosen engine) at `clock`, digest
    it; and the load's seconds. `db_path`: load into this database and keep it, or, when it exists, only
    digest it (the seconds are then None)."""
    from graphiam.changes.load import load_files

    with tempfile.TemporaryDirectory() as tmp, pinned_clock(clock):
        path = db_path or Path(tmp) / "db"
        loaded = path.exists()
        db = open_db(path)
        try:
            seconds = None
            if not loaded:
                files = write_org(spec, Path(tmp) / "org")
                started = time.perf_counter()
                load_files(db, files)
                seconds = time.perf_counter() - started
            return digest(db, questions, keep=keep), seconds
        finally:
            db.close()


def open_db(path: Path) -> Database:
    """The database at `path` on the chosen engine (`GRAPHIAM_ENGINE`, else kuzu; the goldens were recorded
    on kuzu and hold on either), opened as `graphiam load` opens it, with no practical query timeout."""
    db = Database(path, query_timeout_ms=QUERY_TIMEOUT_MS)
    try:
        ensure_schema(db)
    except BaseException:
        db.close()
        raise
    return db


def commit(*paths: str) -> str:
    """The newest commit (short hash) of the checkout, or the newest that changed `paths`."""
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", *paths],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def golden_of(spec: OrgSpec, got: Digest, seconds: float | None, command: str) -> dict[str, Any]:
    return {
        "made": {
            "org": spec.as_json(),
            "principals": spec.principals,
            "clock": CLOCK.isoformat(),
            "commit": commit(),
            "graphiam_commit": commit("graphiam"),  # the last change to the code whose results these are
            "engine": engine_name(),
            "command": command,
            "load_seconds": None if seconds is None else round(seconds, 1),
        },
        "questions": got.questions,
        "digest": got.parts,
        "groups": got.groups,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("digest", help="digest a loaded database (prints JSON)")
    d.add_argument("--db", type=Path, required=True)
    d.add_argument("--golden", type=Path, help="ask this golden's questions and compare with it")
    d.add_argument("--groups", action="store_true", help="print the groups too")
    r = sub.add_parser("record", help="generate an org, load it at the pinned clock, write its golden")
    r.add_argument("spec", help="users=600,roles=400,policies=300,accounts=1,seed=7[,resources=N][,shape=S]")
    r.add_argument("-o", "--out", type=Path, required=True)
    r.add_argument("--db", type=Path, help="load into this database and keep it (when it exists: digest it)")
    c = sub.add_parser(
        "check", help="regenerate and load each golden's org, compare (exit 1 on a difference)"
    )
    c.add_argument("golden", type=Path, nargs="+")
    args = ap.parse_args(argv)
    if args.command == "digest":
        golden = json.loads(args.golden.read_text()) if args.golden else None
        db = open_db(args.db)
        try:
            with pinned_clock():
                got = digest(db, golden["questions"] if golden else None)
        finally:
            db.close()
        print(json.dumps({"digest": got.parts, **({"groups": got.groups} if args.groups else {})}, indent=1))
        if golden is not None:
            problems = compare(golden, got)
            for p in problems:
                print(p, file=sys.stderr)
            return 1 if problems else 0
        return 0
    if args.command == "record":
        spec = OrgSpec.parse(args.spec)
        got, seconds = load_and_digest(spec, db_path=args.db)
        command = f"python benchmarks/results_digest.py record {args.spec} -o {args.out}"
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(golden_of(spec, got, seconds, command), indent=1, sort_keys=True) + "\n"
        )
        took = "" if seconds is None else f", load {seconds:.1f} s"
        print(f"{args.out}: {spec.principals} principals{took}", file=sys.stderr)
        return 0
    status = 0
    for path in args.golden:
        golden = json.loads(path.read_text())
        spec = OrgSpec(**golden["made"]["org"])
        got, seconds = load_and_digest(spec, golden["questions"], keep=spec.principals <= 5000)
        problems = compare(golden, got)
        print(f"{path}: {'same' if not problems else 'DIFFERENT'} (load {seconds or 0:.1f} s)")
        for p in problems:
            print("  " + p)
        status |= bool(problems)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
