"""Optional token auth, checked on every route (the API, the UI's files, the OpenAPI schema)
when the server has a token (then, and only then, the schema declares it).

With `--token` set, a request carries it as `Authorization: Bearer <token>`, an
`X-Masklet-Token` header, the `masklet_token` cookie, or a `token` query parameter (for the
first page load: the page then sets the cookie, so frame images and event streams carry it).
Tokens are compared in constant time.
"""

from __future__ import annotations

import secrets

from fastapi import Request, Security
from fastapi.security import (
    APIKeyCookie,
    APIKeyHeader,
    APIKeyQuery,
    HTTPAuthorizationCredentials,
    HTTPBearer,
)

from masklet.serve.errors import Forbidden, Unauthorized

COOKIE = "masklet_token"

bearer = HTTPBearer(auto_error=False, description="the server's --token")
header = APIKeyHeader(name="X-Masklet-Token", auto_error=False)
cookie = APIKeyCookie(name=COOKIE, auto_error=False)
query = APIKeyQuery(name="token", auto_error=False)


def presented(request: Request) -> str | None:
    """The token `request` carries (first of bearer, header, cookie, query), if any."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-masklet-token") or request.cookies.get(COOKIE) or request.query_params.get("token")


def require_token(
    request: Request,
    _b: HTTPAuthorizationCredentials | None = Security(bearer),
    _h: str | None = Security(header),
    _c: str | None = Security(cookie),
    _q: str | None = Security(query),
) -> None:
    expected: str | None = request.app.state.settings.token
    if expected is None:
        return
    given = presented(request)
    if given is None:
        raise Unauthorized("this server needs a token: send 'Authorization: Bearer <token>' (or open the page with ?token=...)")
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("the token is wrong; use the one the server was started with (--token)")


def same_origin(request: Request) -> None:
    """A browser's request that changes something must come from this server's own page: a
    cross-site form or script (say, a web page posting to a server on localhost without a
    token) is refused by its Origin header."""
    origin = request.headers.get("origin")
    if request.method in ("GET", "HEAD", "OPTIONS") or origin is None:
        return
    host = request.headers.get("host", "")
    if origin.split("://", 1)[-1].rstrip("/") != host:
        raise Forbidden(f"a request from {origin[:100]!r} is refused: changes come from this server's own page ({host})")
