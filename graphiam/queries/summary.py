"""The compact security summary of a database state: what `graphiam diff` compares, kept with every import.

It is not a copy of the data. It holds, as plain JSON:

- `entities`: every account, user, group, role, policy (managed and inline), instance profile, organization
  unit and SCP, each as a few facets: `attributes` (scalars: path, boundary, default version, credential
  facts …) and lists (groups, attached policies, inline policies, tags, versions, statements); policy and
  trust statements by digest (`graphiam.policy.normal`: key order, a string against a list of one and the
  like are not changes), their text once in `statements`;
- `admins` (administrator now: allowed every action on `*`, or can make itself so in one step) and
  `escalations` (not administrator, can become one: one shortest path, at most `PATH_DEPTH` steps);
- `assume`: every CAN_ASSUME edge, per role (sources by index into `nodes`, grouped by the AssumeReason that
  holds the deciding statements and conditions; `reasons` holds those), and `externals`: the kind and account
  of every principal outside the loaded accounts that can assume a role;
- `findings`: per policy and risk category, the severity, the number of actions and the first few;
- `sensitive`: for each action of the sensitive list (`DEFAULT_SENSITIVE`; configurable), who may do it on
  `*` (as the escalation deriver decides: conditions the principal can meet count).

`summarise(db)` computes it from the database as it is (inside the caller's transaction, if any);
`encode`/`decode` turn it into the text the `Import` table keeps (gzip, then base64).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

import graphiam
from graphiam.catalog import Catalog
from graphiam.derive.findings.analyse import Analyser
from graphiam.derive.findings.rules import SEVERITY, default_rules
from graphiam.errors import InputError
from graphiam.graph.snapshot import Snapshot, build_snapshot
from graphiam.model import AWS_MANAGED, INLINE
from graphiam.policy.normal import normalised_statements, statements_of
from graphiam.queries.escalation_paths import EscalationIndex, build_index
from graphiam.queries.sensitive import DEFAULT_SENSITIVE as DEFAULT_SENSITIVE
from graphiam.queries.sensitive import SensitiveSpec as SensitiveSpec
from graphiam.queries.sensitive import parse_sensitive as parse_sensitive
from graphiam.queries.sensitive import read_config as read_config
from graphiam.queries.sensitive import read_sensitive as read_sensitive
from graphiam.queries.sensitive import sensitive_actions as sensitive_actions
from graphiam.queries.sensitive import sensitive_section
from graphiam.store import Database, reader
from graphiam.store import history_store as H
from graphiam.store.assume_store import read_reasons
from graphiam.store.org_store import read_organization

FORMAT = 1
PATH_DEPTH = 5  # as whatif's paths: one shortest path to administrator of at most this many steps
FINDING_SAMPLE = 10  # actions kept per finding (with their number)

Summary = dict[str, Any]


# ---- administrators ----


def administrators(db: Database, snap: Snapshot) -> tuple[dict[str, Any], dict[str, Any]]:
    """Who is administrator now, and who can become one with one shortest path: the one place the summary
    asks what administrator means (`queries.escalation_paths`' index, as `isAdmin`, `escalationSummary` and
    what-if use it)."""
    index: EscalationIndex = build_index(db, snap)
    admins: dict[str, Any] = {}
    for arn in sorted(snap.principals):
        use = index.direct.get(arn)
        if use is not None:
            admins[arn] = {
                "reason": "allowed every action on `*`",
                "statements": list(use.statements),
                "needs": list(use.needs),
            }
        elif arn in index.graph.loops:
            step = index.graph.loops[arn][0]
            admins[arn] = {
                "reason": f"can make itself administrator with {step.technique}",
                "statements": [],
                "needs": list(step.needs),
            }
    escalations: dict[str, Any] = {}
    for arn in sorted(snap.principals):
        if arn in admins or index.graph.admin_dist.get(arn, 1 << 30) > PATH_DEPTH:
            continue
        found = index.graph.to_admin(arn, max_depth=PATH_DEPTH, limit=1)
        if found:
            escalations[arn] = {
                "steps": [[s.source, s.target, s.technique] for s in found[0].steps],
                "needs": list(found[0].needs),
            }
    return admins, escalations


# ---- the summary ----


def _digest(items: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]


class _Builder:
    def __init__(self) -> None:
        self.entities: dict[str, Any] = {}
        self.statements: dict[str, Any] = {}

    def digests(self, document: Any) -> list[str]:
        found = normalised_statements(document)
        self.statements.update(found)
        return list(found)

    def add(
        self, key: str, kind: str, account: str | None, attributes: Mapping[str, Any], **lists: Any
    ) -> None:
        entry: dict[str, Any] = {
            "kind": kind,
            "account": account,
            "attributes": dict(sorted(attributes.items())),
        }
        for name, values in lists.items():
            entry[name] = sorted(set(values))
        self.entities[key] = entry


def _tags(tags: Mapping[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in tags.items()]


def _entities(db: Database) -> tuple[dict[str, Any], dict[str, Any]]:
    b = _Builder()
    for a in reader.accounts(db):
        b.add(f"account:{a.id}", "account", a.id, {})
    users, roles, groups = reader.all_principal_rows(db)
    policies = reader.all_policies(db)
    attached: dict[str, list[str]] = {}
    inline: dict[str, list[str]] = {}
    for p in policies:
        if p.kind == INLINE and p.owner_arn:
            inline.setdefault(p.owner_arn, []).append(p.arn)
    for at in reader.all_attachments(db):
        if at.attached_as != "boundary" and at.attached_as != INLINE:
            attached.setdefault(at.target_arn, []).append(at.policy_arn)
    member: dict[str, list[str]] = {}
    for user_arn, group_arn in reader.all_memberships(db):
        member.setdefault(user_arn, []).append(group_arn)
    for u in users:
        attrs: dict[str, Any] = {"path": u.path, "id": u.user_id, "boundary": u.boundary_arn}
        if u.has_credential_report:
            attrs |= {
                "passwordEnabled": u.password_enabled,
                "mfaActive": u.mfa_active,
                "accessKeysActive": u.access_keys_active,
            }
        b.add(
            u.arn,
            "user",
            u.account,
            attrs,
            groups=member.get(u.arn, ()),
            attached=attached.get(u.arn, ()),
            inline=inline.get(u.arn, ()),
            tags=_tags(u.tags),
        )
    for g in groups:
        b.add(
            g.arn,
            "group",
            g.account,
            {"path": g.path, "id": g.group_id},
            attached=attached.get(g.arn, ()),
            inline=inline.get(g.arn, ()),
        )
    for r in roles:
        b.add(
            r.arn,
            "role",
            r.account,
            {
                "path": r.path,
                "id": r.role_id,
                "boundary": r.boundary_arn,
                "maxSessionDuration": r.max_session_duration,
                "description": r.description,
            },
            trust=b.digests(r.trust_policy),
            attached=attached.get(r.arn, ()),
            inline=inline.get(r.arn, ()),
            tags=_tags(r.tags),
        )
    versions: dict[str, list[str]] = {}
    for policy_arn, version_id, _default in H.version_ids(db):
        versions.setdefault(policy_arn, []).append(version_id)
    for p in policies:
        language, _ = statements_of(p.document)
        attrs = {"kind": p.kind, "path": p.path, "missing": p.missing, "language": language}
        if p.kind != INLINE:
            attrs |= {"id": p.policy_id, "defaultVersion": p.default_version}
        b.add(
            p.arn,
            "policy",
            p.account,
            attrs,
            statements=b.digests(p.document),
            versions=versions.get(p.arn, ()),
        )
    for profile, role_arn in reader.all_profiles(db):
        key = profile.arn
        have = b.entities.get(key)
        b.add(
            key,
            "instance-profile",
            profile.account,
            {"path": profile.path, "id": profile.profile_id},
            roles=[*(have["roles"] if have else ()), role_arn],
        )
    units, scps = read_organization(db)
    for unit in units:
        b.add(
            f"org-unit:{unit.id}",
            "org-unit",
            unit.id if unit.kind == "account" else None,
            {"kind": unit.kind, "name": unit.name, "parent": unit.parent, "management": unit.management},
        )
    for scp in scps:
        b.add(
            f"scp:{scp.id}",
            "scp",
            None,
            {"name": scp.name, "awsManaged": scp.aws_managed},
            statements=b.digests(scp.document),
            targets=scp.targets,
        )
    return dict(sorted(b.entities.items())), dict(sorted(b.statements.items()))


def _assume(db: Database) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """CAN_ASSUME per role: `{"nodes": [...], "roles": {role: {"digest", "groups": [[reason, action,
    [source index deltas]], ...]}}}`, the reasons they name and the external principals among the sources.
    Read as numbers (`history_store.AssumeEdges`) and sorted in Arrow by the ranks of the strings behind
    them, then walked a slice of roles at a time: at 10,000 principals there are over a million edges."""
    read = H.assume_edge_table(db)
    table = read.edges
    used = pc.unique(table["source"]).to_pylist()
    nodes = sorted(read.sources[c] for c in used)
    rank = {name: i for i, name in enumerate(nodes)}
    by_code: list[int | None] = [None] * len(read.sources)
    for c in used:
        by_code[c] = rank[read.sources[c]]
    position = pc.take(pa.array(by_code, pa.int32()), table["source"])
    target_names = sorted({read.targets[c] for c in pc.unique(table["target"]).to_pylist()})
    target_rank = {name: i for i, name in enumerate(target_names)}
    target = pc.take(pa.array([target_rank.get(name) for name in read.targets], pa.int32()), table["target"])
    actions, act = _ranks(pc.fill_null(table["action"], ""))
    reasons_, why = _ranks(pc.fill_null(table["reason"], ""))
    seen = {read.sources[c] for c in used if read.source_tables[c] == "ExternalPrincipal"}
    del read, table, used, by_code
    ranks = pa.table({"target": target, "reason": why, "action": act, "position": position})
    del target, why, act, position
    # groups: per role, per (reason, action), the sources in node order
    roles: dict[str, Any] = {name: {"digest": "", "groups": []} for name in target_names}
    grouped = ranks.take(pc.sort_indices(ranks, [(c, "ascending") for c in ranks.column_names]))
    for part in _slices(grouped):
        positions = part["position"].to_pylist()
        for (t, r, a), start, end in _runs(part, ("target", "reason", "action")):
            if end - start == 1:
                deltas = [positions[start]]
            else:
                sources = positions[start:end]
                deltas = [sources[0]] + [y - x for x, y in zip(sources, sources[1:], strict=False)]
            roles[target_names[t]]["groups"].append([reasons_[r], actions[a], deltas])
    del grouped
    # digests: per role, its sorted lines `source\taction\treason` joined by newlines. No field holds a
    # character sorting before the tab, so the lines sort as (source, action, reason)
    assert not any(min(v, default="\n") <= "\t" for v in (*nodes, *actions, *reasons_))
    keys = ("target", "position", "action", "reason")
    lined = ranks.take(pc.sort_indices(ranks, [(c, "ascending") for c in keys]))
    del ranks
    for part in _slices(lined):
        sources, acts, whys = (part[c].to_pylist() for c in keys[1:])
        for (t,), start, end in _runs(part, ("target",)):
            text = "\n".join(
                [
                    f"{nodes[p]}\t{actions[a]}\t{reasons_[r]}"
                    for p, a, r in zip(sources[start:end], acts[start:end], whys[start:end], strict=True)
                ]
            )
            roles[target_names[t]]["digest"] = _digest([text])
    stored = {
        rid: [statements, conditions] for rid, (statements, conditions) in sorted(read_reasons(db).items())
    }
    members = {u.id for u in read_organization(db)[0] if u.kind == "account"}
    externals = {}
    for arn, (kind, account) in sorted(H.external_principals(db).items()):
        if arn not in seen:
            continue
        outside = kind in ("everyone", "federated") or account is None or account not in members
        externals[arn] = {"kind": kind, "account": account, "outsideOrganization": outside}
    return {"nodes": nodes, "roles": roles}, stored, externals


def _slices(table: pa.Table, rows: int = 1 << 17) -> list[pa.Table]:
    """A table sorted by `target` cut into slices of about `rows` rows, never inside one target's rows."""
    out = []
    start = 0
    for _, _, end in _runs(table, ("target",)):
        if end - start >= rows:
            out.append(table.slice(start, end - start))
            start = end
    if start < table.num_rows:
        out.append(table.slice(start))
    return out


def _ranks(column: pa.ChunkedArray) -> tuple[list[str], pa.Array]:
    """The distinct strings of a column, sorted, and each row's index among them."""
    values = sorted(pc.unique(column).to_pylist())
    return values, pc.index_in(column, value_set=pa.array(values, pa.string())).combine_chunks()


def _runs(table: pa.Table, columns: Sequence[str]) -> list[tuple[tuple[Any, ...], int, int]]:
    """The runs of equal values of `columns` in a sorted table: (their values, start, end)."""
    n = table.num_rows
    if n == 0:
        return []
    change = None
    for c in columns:
        col = table[c]
        differs = pc.not_equal(col.slice(1), col.slice(0, n - 1))
        change = differs if change is None else pc.or_(change, differs)
    assert change is not None
    starts = [0, *(i + 1 for i in pc.indices_nonzero(change).to_pylist()), n]
    at = pa.array(starts[:-1])
    values = list(zip(*(table[c].take(at).to_pylist() for c in columns), strict=True))
    return [(values[k], starts[k], starts[k + 1]) for k in range(len(values))]


def rules_fingerprint() -> str:
    """What the findings of a document depend on besides its text: graphiam's version, its risk rules and the
    size of the action catalogue. Findings are reused from an earlier summary only under the same one."""
    rules = default_rules()
    parts = [
        f"graphiam {graphiam.__version__} format {FORMAT} catalog {len(Catalog.default())}",
        *sorted(rules.data_exfiltration),
        "--",
        *sorted(rules.credentials_exposure),
        "--",
        *(f"{tid}:{','.join(sorted(acts))}" for tid, acts in sorted(rules.techniques)),
    ]
    return _digest(parts)


def _document_key(entity: Mapping[str, Any]) -> str:
    """A policy's document as the summary knows it: language version and statement digests."""
    return f"{entity['attributes'].get('language')}|{','.join(entity.get('statements', ()))}"


def _findings(
    db: Database, snap: Snapshot, entities: Mapping[str, Any], previous: Summary | None
) -> tuple[dict[str, Any], str]:
    """policy ARN -> {risk category -> {severity, count, actions (the first few), digest}} for every policy
    the report analyses (`queries.findings`: customer-managed, inline, and AWS-managed ones attached as
    identity policies); a policy without findings has `{}`. The findings of a document depend on its text
    alone (Cloudsplaining judges one policy at a time), so a document `previous` analysed under the same
    rules is not analysed again."""
    fingerprint = rules_fingerprint()
    known: dict[str, Any] = {}
    if previous is not None and previous.get("rules") == fingerprint:
        old = previous["entities"]
        for arn, found in previous["findings"].items():
            if arn in old:
                known[_document_key(old[arn])] = found
    attached = {a.policy_arn for a in reader.all_attachments(db) if a.attached_as != "boundary"}
    analyser: Analyser | None = None
    digests: dict[int, tuple[tuple[str, ...], str]] = {}  # id(actions) -> (actions, digest): sets repeat

    def digest(actions: tuple[str, ...]) -> str:
        hit = digests.get(id(actions))
        if hit is None or hit[0] is not actions:
            if len(digests) >= 1024:
                digests.clear()
            hit = digests[id(actions)] = (actions, _digest(actions))
        return hit[1]

    out: dict[str, Any] = {}
    for arn in sorted(snap.policies):
        p = snap.policies[arn]
        doc = snap.documents.get(arn)
        if doc is None or arn not in entities or (p.kind == AWS_MANAGED and arn not in attached):
            continue
        key = _document_key(entities[arn])
        found = known.get(key)
        if found is None:
            analyser = analyser or Analyser(Catalog.default(), default_rules())
            found = known[key] = {
                f.category.value: {
                    "severity": SEVERITY[f.category],
                    "count": len(f.actions),
                    "actions": list(f.actions[:FINDING_SAMPLE]),
                    "digest": digest(f.actions),
                }
                for f in analyser.findings(doc)
            }
            analyser.forget()  # `known` keeps what the summary needs of each document
        out[arn] = found
    return out, fingerprint


def summarise(
    db: Database,
    *,
    snap: Snapshot | None = None,
    previous: Summary | None = None,
    sensitive: Sequence[SensitiveSpec] = DEFAULT_SENSITIVE,
) -> Summary:
    """The security summary of the database as the caller's transaction (or one read view) sees it;
    `previous` (an earlier summary) spares the analysis of the policy documents it already analysed."""
    with db.read_transaction():
        snap = snap or build_snapshot(db)
        entities, statements = _entities(db)
        admins, escalations = administrators(db, snap)
        assume, reasons, externals = _assume(db)
        findings, rules = _findings(db, snap, entities, previous)
    return {
        "format": FORMAT,
        "rules": rules,
        "accounts": sorted(e["account"] for e in entities.values() if e["kind"] == "account"),
        "entities": entities,
        "statements": statements,
        "admins": admins,
        "escalations": escalations,
        "assume": assume,
        "reasons": reasons,
        "externals": externals,
        "findings": findings,
        "sensitive": sensitive_section(snap, sensitive, rules, previous),
    }


def counts(summary: Summary) -> dict[str, int]:
    """What `graphiam history` shows of a summary."""
    kinds: dict[str, int] = {}
    for e in summary["entities"].values():
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    edges = sum(len(g[2]) for role in summary["assume"]["roles"].values() for g in role["groups"])
    return {
        "accounts": kinds.get("account", 0),
        "users": kinds.get("user", 0),
        "groups": kinds.get("group", 0),
        "roles": kinds.get("role", 0),
        "policies": kinds.get("policy", 0),
        "admins": len(summary["admins"]),
        "canBecomeAdmin": len(summary["escalations"]),
        "assumeEdges": edges,
        "externalPrincipals": len(summary["externals"]),
        "findings": sum(len(f) for f in summary["findings"].values()),
    }


def encode(summary: Summary) -> str:
    text = json.dumps(summary, sort_keys=True, separators=(",", ":"))
    return base64.b64encode(gzip.compress(text.encode(), compresslevel=6, mtime=0)).decode("ascii")


def decode(text: str) -> Summary:
    try:
        data = json.loads(gzip.decompress(base64.b64decode(text)))
    except (ValueError, OSError) as exc:
        raise InputError(f"a stored import summary cannot be read: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(
            f"a stored import summary has format {data.get('format') if isinstance(data, dict) else '?'}, "
            f"this graphiam reads {FORMAT}"
        )
    return data
