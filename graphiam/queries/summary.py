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
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

import graphiam
from graphiam.catalog import Catalog
from graphiam.derive.escalation.decide import Use
from graphiam.derive.escalation.paths import PathGraph
from graphiam.derive.findings.analyse import Analyser
from graphiam.derive.findings.rules import SEVERITY, default_rules
from graphiam.errors import InputError
from graphiam.graph.snapshot import Snapshot, build_snapshot
from graphiam.model import AWS_MANAGED, INLINE
from graphiam.policy.document import parse_stored
from graphiam.policy.normal import normalised_statements, statements_of
from graphiam.queries.escalation_paths import direct_admins, path_graph
from graphiam.queries.sensitive import DEFAULT_SENSITIVE as DEFAULT_SENSITIVE
from graphiam.queries.sensitive import SensitiveSpec as SensitiveSpec
from graphiam.queries.sensitive import parse_sensitive as parse_sensitive
from graphiam.queries.sensitive import read_config as read_config
from graphiam.queries.sensitive import read_sensitive as read_sensitive
from graphiam.queries.sensitive import sensitive_actions as sensitive_actions
from graphiam.queries.sensitive import sensitive_section
from graphiam.store import Database, reader
from graphiam.store import history_store as H
from graphiam.store import partial as P
from graphiam.store.assume_store import read_reasons
from graphiam.store.org_store import read_organization

FORMAT = 1
PATH_DEPTH = 5  # as whatif's paths: one shortest path to administrator of at most this many steps
FINDING_SAMPLE = 10  # actions kept per finding (with their number)

Summary = dict[str, Any]


# ---- administrators ----


DIRECT_ADMIN = "allowed every action on `*`"


def administrators(db: Database, snap: Snapshot) -> tuple[dict[str, Any], dict[str, Any]]:
    """Who is administrator now, and who can become one with one shortest path: the one place the summary
    asks what administrator means (`queries.escalation_paths`' rule and path graph, as `isAdmin`,
    `escalationSummary` and what-if use it)."""
    direct = {arn: _direct_entry(use) for arn, use in direct_admins(snap).items()}
    return _admins(path_graph(db, direct), sorted(snap.principals), direct)


def _direct_entry(use: Use) -> dict[str, Any]:
    return {"reason": DIRECT_ADMIN, "statements": list(use.statements), "needs": list(use.needs)}


def _admins(
    graph: PathGraph, principals: Sequence[str], direct: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`administrators` given the path graph, every principal (sorted) and the entries of those allowed every
    action now."""
    admins: dict[str, Any] = {}
    for arn in principals:
        if arn in direct:
            admins[arn] = direct[arn]
        elif arn in graph.loops:
            step = graph.loops[arn][0]
            admins[arn] = {
                "reason": f"can make itself administrator with {step.technique}",
                "statements": [],
                "needs": list(step.needs),
            }
    escalations: dict[str, Any] = {}
    for arn in principals:
        if arn in admins or graph.admin_dist.get(arn, 1 << 30) > PATH_DEPTH:
            continue
        found = graph.to_admin(arn, max_depth=PATH_DEPTH, limit=1)
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


def _entities(db: Database, accounts: frozenset[str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every entity and the statements they hold; with `accounts`, only the accounts, users, groups, roles,
    policies and instance profiles of those accounts (no organization)."""
    b = _Builder()
    if accounts is None:
        account_rows = reader.accounts(db)
        users, roles, groups = reader.all_principal_rows(db)
        policies = reader.all_policies(db)
        attachments = reader.all_attachments(db)
        memberships = reader.all_memberships(db)
        version_rows = H.version_ids(db)
        profile_rows = reader.all_profiles(db)
    else:
        wanted = sorted(accounts)
        # every Account node, filtered here: a load MERGEs (CREATEs) them, and kuzu 0.11.3 reads nodes
        # CREATEd in the open transaction back wrong through an `IN` filter (docs/ENGINE.md)
        account_rows = [a for a in reader.accounts(db) if a.id in accounts]
        users, roles = P.principal_rows(db, accounts=wanted, arns=[])
        groups = P.groups(db, accounts=wanted, arns=[])
        policies = P.policies_of(db, wanted)
        attachments = P.attachments(
            db, [*(u.arn for u in users), *(r.arn for r in roles), *(g.arn for g in groups)]
        )
        memberships = P.memberships(db, [u.arn for u in users])
        version_rows = P.version_ids(db, [p.arn for p in policies])
        profile_rows = P.profiles_of(db, wanted)
    for a in account_rows:
        b.add(f"account:{a.id}", "account", a.id, {})
    attached: dict[str, list[str]] = {}
    inline: dict[str, list[str]] = {}
    for p in policies:
        if p.kind == INLINE and p.owner_arn:
            inline.setdefault(p.owner_arn, []).append(p.arn)
    for at in attachments:
        if at.attached_as != "boundary" and at.attached_as != INLINE:
            attached.setdefault(at.target_arn, []).append(at.policy_arn)
    member: dict[str, list[str]] = {}
    for user_arn, group_arn in memberships:
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
    for policy_arn, version_id, _default in version_rows:
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
    for profile, role_arn in profile_rows:
        key = profile.arn
        have = b.entities.get(key)
        b.add(
            key,
            "instance-profile",
            profile.account,
            {"path": profile.path, "id": profile.profile_id},
            roles=[*(have["roles"] if have else ()), role_arn],
        )
    units, scps = read_organization(db) if accounts is None else ([], [])
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
    attached = P.attached_aws_managed(db)
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
    changed: frozenset[str] | None = None,
) -> Summary:
    """The security summary of the database as the caller's transaction (or one read view) sees it;
    `previous` (an earlier summary) spares the analysis of the policy documents it already analysed.

    `changed`: `previous` is the summary of this database just before a write that changed only what belongs
    to these accounts (their entities, the escalation edges of their principals, CAN_ASSUME edges into and
    out of them), and `snap` holds at least their principals (`graph.partial`): what is per account (entities,
    who is administrator now, the sensitive actions, the findings of their policies) is computed for them
    alone and taken from `previous` for the others (`_update`)."""
    if changed is not None and previous is not None and snap is not None and _updatable(previous, sensitive):
        updated = _update(db, snap, previous, sensitive, changed)
        if updated is not None:
            return updated
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


def _updatable(previous: Summary, sensitive: Sequence[SensitiveSpec]) -> bool:
    """`previous` was made by these rules, for these sensitive actions."""
    return (
        previous.get("format") == FORMAT
        and previous.get("rules") == rules_fingerprint()
        and previous.get("sensitive", {}).get("actions") == sensitive_actions(sensitive)
    )


_PER_ACCOUNT = frozenset({"account", "user", "group", "role", "policy", "instance-profile"})


def _update(
    db: Database, snap: Snapshot, previous: Summary, specs: Sequence[SensitiveSpec], changed: frozenset[str]
) -> Summary | None:
    """`summarise` after a write that changed only what belongs to the `changed` accounts (see there): the
    entities and findings of those accounts are read again; who is administrator now and the sensitive
    actions are decided again for the principals of the snapshot of those accounts (those of other accounts,
    and those of changed accounts the snapshot does not hold, whose policies the write left alone, keep their
    answers). None when `previous` lacks a principal it should hold (the caller then summarises anew)."""

    def kept(entity: Mapping[str, Any]) -> bool:
        return entity["kind"] not in _PER_ACCOUNT or entity["account"] not in changed

    with db.read_transaction():
        mine, new_statements = _entities(db, changed)
        entities = dict(sorted(({k: v for k, v in previous["entities"].items() if kept(v)} | mine).items()))
        used = {d for e in entities.values() for d in (*e.get("statements", ()), *e.get("trust", ()))}
        texts = {**previous["statements"], **new_statements}
        statements = {d: texts[d] for d in sorted(used)}
        principals = sorted(a for a, e in entities.items() if e["kind"] in ("user", "role"))
        own = replace(snap, principals={a: p for a, p in snap.principals.items() if p.account in changed})
        others = [a for a in principals if a not in own.principals]
        if any(a not in previous["sensitive"]["fingerprints"] for a in others):
            return None
        direct = {a: _direct_entry(use) for a, use in direct_admins(own).items()}
        direct |= {a: e for a in others if (e := previous["admins"].get(a)) and e["reason"] == DIRECT_ADMIN}
        admins, escalations = _admins(path_graph(db, direct), principals, direct)
        assume, reasons, externals = _assume(db)
        rows = {p.arn: p for p in P.policies_of(db, sorted(changed))}
        documents = {a: parse_stored(p.document, where=a) for a, p in rows.items() if p.document is not None}
        policy_snap = Snapshot(generation=snap.generation, principals={}, policies=rows, documents=documents)
        found, rules = _findings(db, policy_snap, mine, previous)
    findings = {a: f for a, f in previous["findings"].items() if a in entities and kept(entities[a])}
    findings = dict(sorted((findings | found).items()))
    theirs = sensitive_section(own, specs, rules, previous)
    before = previous["sensitive"]
    allowed = {a: before["allowed"][a] for a in others if a in before["allowed"]} | theirs["allowed"]
    prints = {a: before["fingerprints"][a] for a in others} | theirs["fingerprints"]
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
        "sensitive": {
            "actions": theirs["actions"],
            "allowed": dict(sorted(allowed.items())),
            "fingerprints": dict(sorted(prints.items())),
        },
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
