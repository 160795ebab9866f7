"""`resources` / `resource`: stored resources with their policies, what each policy names, and whether it is
open to anyone.

"Open to anyone" (`public`): an Allow statement whose Principal is `*` / `{"AWS": "*"}` (or a NotPrincipal)
with no condition limiting the caller to an account, organization, source, network or principal
(`graphiam.graph.resources.LIMITING_KEYS`, tested positively and without IfExists). A Principal `*` with
aws:PrincipalOrgID is not public. Decided from the policy alone: what RCPs, SCPs or S3 Block Public Access
settings add on top is not taken into account here.
"""

from __future__ import annotations

from graphiam.graph.resources import public_statements
from graphiam.policy.document import parse_stored


def public_statement_indexes(policy: str | None, *, where: str = "resource policy") -> list[int]:
    """The indexes of the statements of `policy` (stored JSON) that open it to anyone; [] without a policy."""
    if not policy:
        return []
    return [st.index for st in public_statements(parse_stored(policy, where=where))]


def is_public(policy: str | None, *, where: str = "resource policy") -> bool:
    return bool(public_statement_indexes(policy, where=where))
