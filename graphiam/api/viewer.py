"""`viewer` (who am I: a dashboard shows it and hides admin actions for readers) and `apiTokens`
(admins only: the tokens that can reach this server, with their expiry and last use, never the tokens
themselves)."""

from __future__ import annotations

import enum

import strawberry
from strawberry.types import Info

from graphiam.api.fields import field
from graphiam.api.security import admin_field, identity_of


@strawberry.enum(description="What a token may do: `READER` runs queries, `ADMIN` also runs mutations.")
class ApiRole(enum.Enum):
    READER = "reader"
    ADMIN = "admin"


@strawberry.type(description="The caller of this request.")
class Viewer:
    role: ApiRole
    name: str = strawberry.field(description="The token's name; `anonymous` without a token.")
    token_id: str | None = strawberry.field(description="The token's public id; null without a token.")
    authenticated: bool = strawberry.field(
        description="False for anonymous reads and for a server run without authentication."
    )


@strawberry.type(description="An API token as the token file records it (only a hash of the secret is kept).")
class ApiToken:
    id: str
    name: str
    role: ApiRole
    created: str = strawberry.field(description="UTC, ISO 8601.")
    expires: str | None = strawberry.field(description="When it stops working (UTC, ISO 8601); null: never.")
    expired: bool = strawberry.field(description="Whether `expires` has passed: the token is refused.")
    last_used: str | None = strawberry.field(
        description="When it last authenticated a request (UTC, to the minute on disk; null: never)."
    )


@strawberry.type
class ViewerQuery:
    @field(description="Who this request acts as.")
    def viewer(self, info: Info) -> Viewer:
        identity = identity_of(info.context)
        if identity is None:  # a context made outside the HTTP layer; permissions refuse it too
            return Viewer(role=ApiRole.READER, name="none", token_id=None, authenticated=False)
        return Viewer(
            role=ApiRole(identity.role.value),
            name=identity.name,
            token_id=identity.token_id,
            authenticated=identity.token_id is not None,
        )

    @admin_field(
        description="The API tokens of this server (admins only). Empty when it runs without authentication."
    )
    def api_tokens(self, info: Info) -> list[ApiToken] | None:  # nullable: a refusal spares the rest
        auth = getattr(info.context, "auth", None)
        if auth is None:
            return []
        used = auth.store.last_used()
        return [
            ApiToken(
                id=r.id,
                name=r.name,
                role=ApiRole(r.role),
                created=r.created,
                expires=r.expires,
                expired=r.expired(),
                last_used=used.get(r.id),
            )
            for r in auth.store.records()
        ]
