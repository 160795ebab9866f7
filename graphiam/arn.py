"""Amazon Resource Names: parse, format, and the principal helpers IAM needs; pure.

Implements the ARN layout of the AWS General Reference ("Amazon Resource Names (ARNs)"):
``arn:partition:service:region:account-id:resource`` where the resource part may itself
contain ``:`` and ``/``. IAM principal forms (IAM User Guide, "IAM identifiers"):

    arn:aws:iam::123456789012:root                            the account (root user)
    arn:aws:iam::123456789012:user/path/name                  an IAM user
    arn:aws:iam::123456789012:role/path/name                  an IAM role
    arn:aws:sts::123456789012:assumed-role/name/session       a role session (no path)

Every ARN is split here, by `_split`. Two readings of the fields: `parse_iam_arn` checks the full grammar
of an IAM entity ARN (what the importer and the mutations accept); the `is_*` predicates only look at the
service and the resource type, as policy evaluation compares principal ARNs exactly as written.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from graphiam.errors import ArnError

_ACCOUNT_ID = re.compile(r"\d{12}")

# the partitions an IAM entity ARN may name by default: the commercial, China and GovCloud (US) ones and the
# isolated aws-iso and aws-iso-b
IAM_PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b")
# the IAM resource types that carry a path and a name (IAM User Guide, "IAM identifiers")
IAM_KINDS = ("user", "group", "role", "policy", "instance-profile")
# the account of an IAM entity: a 12-digit id, or `aws` for AWS-managed policies
_IAM_ACCOUNT = re.compile(r"\d{12}|aws")
# `<kind><path><name>`: the path is `/` or `/…/` of printable ASCII, the name IAM's name characters
_IAM_RESOURCE = re.compile(r"(user|group|role|policy|instance-profile)((?:/[\x21-\x7e]*)?/)([\w+=,.@-]+)")


@dataclass(frozen=True, kw_only=True, slots=True)
class Arn:
    """The five fields of an ARN; `resource` keeps everything after the fifth colon."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


@dataclass(frozen=True, kw_only=True, slots=True)
class IamArn:
    """An IAM entity ARN `arn:<partition>:iam::<account>:<kind><path><name>`."""

    partition: str
    account: str  # a 12-digit account id, or `aws` (AWS-managed policies)
    kind: str  # user | group | role | policy | instance-profile
    path: str  # `/` or `/…/`
    name: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:{self.kind}{self.path}{self.name}"


def _split(text: str) -> list[str] | None:
    """The six fields of `arn:partition:service:region:account:resource` (the resource keeps its colons), or
    None when `text` does not have that shape."""
    parts = text.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return None
    return parts


def parse_arn(text: str) -> Arn:
    """Split an ARN into its fields; raise `ArnError` naming what is wrong.

    >>> parse_arn("arn:aws:s3:::bucket/key").resource
    'bucket/key'
    """
    if not isinstance(text, str):
        raise ArnError(f"not an ARN: expected a string, got {type(text).__name__}")
    parts = _split(text)
    if parts is None:
        raise ArnError(f"not an ARN: `{text}`: expected `arn:partition:service:region:account:resource`")
    _, partition, service, region, account, resource = parts
    if not partition:
        raise ArnError(f"invalid ARN `{text}`: empty partition")
    if not service:
        raise ArnError(f"invalid ARN `{text}`: empty service")
    if not resource:
        raise ArnError(f"invalid ARN `{text}`: empty resource")
    return Arn(partition=partition, service=service, region=region, account=account, resource=resource)


def parse_iam_arn(
    text: str, *, partitions: Collection[str] = IAM_PARTITIONS, kinds: Collection[str] = IAM_KINDS
) -> IamArn | None:
    """The fields of an IAM entity ARN, or None when `text` is not one of a partition in `partitions` and a
    kind in `kinds` (a caller narrows what it accepts with these; the default accepts all of them).

    >>> parse_iam_arn("arn:aws:iam::123456789012:role/app/worker").path
    '/app/'
    >>> parse_iam_arn("arn:aws-iso:iam::123456789012:user/a", partitions=("aws",)) is None
    True
    """
    parts = _split(text)
    if parts is None:
        return None
    _, partition, service, region, account, resource = parts
    if partition not in partitions or service != "iam" or region or not _IAM_ACCOUNT.fullmatch(account):
        return None
    m = _IAM_RESOURCE.fullmatch(resource)
    if m is None or m.group(1) not in kinds:
        return None
    return IamArn(partition=partition, account=account, kind=m.group(1), path=m.group(2), name=m.group(3))


def is_account_id(text: str) -> bool:
    """True for a 12-digit AWS account id."""
    return _ACCOUNT_ID.fullmatch(text) is not None


def account_of(text: str) -> str | None:
    """The account id an ARN (or a bare account id) names; None when it names none (S3, `*`)."""
    if is_account_id(text):
        return text
    parts = _split(text)
    if parts is None or not parts[4]:
        return None
    return parts[4]


def account_root(account: str, partition: str = "aws") -> str:
    """`arn:aws:iam::ID:root`, the ARN that stands for a whole account in a Principal element."""
    return f"arn:{partition}:iam::{account}:root"


def _iam_resource(text: str, service: str) -> str | None:
    """The resource field of an ARN of `service`, else None."""
    parts = _split(text)
    if parts is None or parts[2] != service:
        return None
    return parts[5]


def is_account_root(text: str) -> bool:
    """True for `arn:<partition>:iam::<account>:root`."""
    return _iam_resource(text, "iam") == "root"


def is_user_arn(text: str) -> bool:
    """True for an IAM user ARN."""
    resource = _iam_resource(text, "iam")
    return resource is not None and resource.startswith("user/")


def is_role_arn(text: str) -> bool:
    """True for an IAM role ARN (not a role session)."""
    resource = _iam_resource(text, "iam")
    return resource is not None and resource.startswith("role/")


def is_service_linked_role(text: str) -> bool:
    """True for a service-linked role: a role whose path starts `/aws-service-role/`."""
    resource = _iam_resource(text, "iam")
    return resource is not None and resource.startswith("role/aws-service-role/")


def is_assumed_role_arn(text: str) -> bool:
    """True for an STS role-session ARN `arn:aws:sts::ID:assumed-role/name/session`."""
    resource = _iam_resource(text, "sts")
    return resource is not None and resource.startswith("assumed-role/")


def role_name(role_arn: str) -> str:
    """The role's name: the last path segment of a role ARN, or the name in a session ARN."""
    if is_assumed_role_arn(role_arn):
        return parse_arn(role_arn).resource.split("/")[1]
    if not is_role_arn(role_arn):
        raise ArnError(f"not a role ARN: `{role_arn}`")
    return parse_arn(role_arn).resource.rsplit("/", 1)[1]


def assumed_role_arn(role_arn: str, session_name: str) -> str:
    """The session ARN STS gives a role; the role's path is dropped, as STS does."""
    arn = parse_arn(role_arn)
    if not is_role_arn(role_arn):
        raise ArnError(f"not a role ARN: `{role_arn}`")
    return f"arn:{arn.partition}:sts::{arn.account}:assumed-role/{role_name(role_arn)}/{session_name}"


def role_arn_of_session(session_arn: str, path: str = "/") -> str:
    """The role ARN behind a session ARN; the path is not in the session ARN, so pass it if known."""
    if not is_assumed_role_arn(session_arn):
        raise ArnError(f"not an assumed-role session ARN: `{session_arn}`")
    arn = parse_arn(session_arn)
    if not (path.startswith("/") and path.endswith("/")):
        raise ArnError(f"invalid IAM path `{path}`: must start and end with `/`")
    return f"arn:{arn.partition}:iam::{arn.account}:role{path}{role_name(session_arn)}"


def principal_type_of(arn: str) -> str:
    """The `Request.principal_type` an IAM principal ARN stands for.

    `User` for users, `AssumedRole` for roles and role sessions (a role acts through a session,
    `aws:PrincipalType` is `AssumedRole`), `Account` for an account root; anything else
    (a service name, a provider ARN) raises `ArnError`.
    """
    if is_user_arn(arn):
        return "User"
    if is_role_arn(arn) or is_assumed_role_arn(arn):
        return "AssumedRole"
    if is_account_root(arn):
        return "Account"
    raise ArnError(f"not an IAM user, role or account root ARN: `{arn}`")


# how a caller that is not an IAM entity of an account is written (IAM User Guide, "AWS JSON policy elements:
# Principal"): a service principal `<name>.amazonaws.com`, a web identity provider, anonymous
_SERVICE_PRINCIPAL = re.compile(r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?")
WEB_IDENTITY_PROVIDERS = (
    "cognito-identity.amazonaws.com",
    "www.amazon.com",
    "graph.facebook.com",
    "accounts.google.com",
)
ANONYMOUS = ("*", "anonymous")


def caller_type(text: str) -> str:
    """The `Request.principal_type` of any caller: the one place a caller's kind is read from its spelling.

    ``arn:aws:iam::ID:user/…`` `User`; ``…:role/…`` and ``arn:aws:sts::ID:assumed-role/R/S`` `AssumedRole`;
    ``arn:aws:iam::ID:root`` `Account`; ``arn:aws:sts::ID:federated-user/N`` `FederatedUser`;
    ``…:saml-provider/N`` `SAML`; ``…:oidc-provider/…`` or a web identity provider name `WebIdentity`;
    ``events.amazonaws.com`` (a service principal) `Service`; ``*`` or ``anonymous`` `Anonymous`.
    Anything else raises `ArnError` naming the forms accepted.

    >>> caller_type("events.amazonaws.com"), caller_type("arn:aws:sts::123456789012:assumed-role/r/s")
    ('Service', 'AssumedRole')
    """
    if text in ANONYMOUS:
        return "Anonymous"
    if text in WEB_IDENTITY_PROVIDERS:
        return "WebIdentity"
    if _SERVICE_PRINCIPAL.fullmatch(text):
        return "Service"
    iam = _iam_resource(text, "iam")
    if iam is not None and iam.startswith("saml-provider/"):
        return "SAML"
    if iam is not None and iam.startswith("oidc-provider/"):
        return "WebIdentity"
    sts = _iam_resource(text, "sts")
    if sts is not None and sts.startswith("federated-user/"):
        return "FederatedUser"
    try:
        return principal_type_of(text)
    except ArnError:
        raise ArnError(
            f"unknown caller `{text}`: expected an IAM user, role or account root ARN, an assumed-role "
            "session (arn:aws:sts::ID:assumed-role/ROLE/SESSION), a federated user, a SAML or OIDC "
            "provider, a service principal (events.amazonaws.com) or `anonymous`"
        ) from None


def resource_type(arn: str) -> str:
    """`service:kind` from an ARN: `arn:aws:s3:::b` → s3:bucket, `arn:aws:sqs:r:a:q` → sqs:queue,
    `arn:aws:kms:r:a:key/id` → kms:key, `arn:aws:lambda:r:a:function:f` → lambda:function."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return "unknown"
    service, rest = parts[2], parts[5]
    if service == "s3":
        if parts[4] == "" and "/" not in rest:
            return "s3:bucket"
        if parts[4] == "" and "/" in rest:
            return "s3:object"
    implicit = {"sqs": "queue", "sns": "topic"}
    if service in implicit and "/" not in rest and ":" not in rest:
        return f"{service}:{implicit[service]}"
    for sep in ("/", ":"):
        if sep in rest:
            return f"{service}:{rest.split(sep, 1)[0]}"
    return service


def bucket_of(arn: str) -> str | None:
    """The bucket ARN an S3 object ARN (`arn:aws:s3:::bucket/key`) is in, else None."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "s3" and parts[3] == "" and parts[4] == "" and "/" in parts[5]:
        return ":".join(parts[:5]) + ":" + parts[5].split("/", 1)[0]
    return None
