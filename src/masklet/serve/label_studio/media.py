"""Downloading a task's image or video from Label Studio.

Label Studio puts paths of its own in task data (`/data/upload/1/abc-photo.jpg`,
`/data/local-files/?d=...`): they are fetched from the Label Studio server with the API token.
Full http(s) URLs are fetched as they are, with the token only when they point to that server.
The token is a legacy API token (sent as `Authorization: Token ...`) or a personal access token
(a JWT, exchanged at /api/token/refresh/ for an access token sent as `Bearer ...`).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from masklet.serve.errors import ApiError, BadRequest

TIMEOUT_S = 60.0
CHUNK = 2**20


class MediaUnavailable(ApiError):
    """The task's media could not be fetched (502: the problem is between the servers)."""

    status = 502


def _is_jwt(token: str) -> bool:
    return token.count(".") == 2


class LabelStudioServer:
    """Where Label Studio runs (`url`, e.g. http://localhost:8080) and the token to use there."""

    def __init__(self, url: str | None, token: str | None) -> None:
        self.url = url.rstrip("/") + "/" if url else None
        self.token = token or None
        self._access: str | None = None  # a personal access token's current access token
        self._lock = threading.Lock()

    def full_url(self, location: str) -> str:
        """The URL to fetch a task's media from."""
        if not isinstance(location, str) or not location:
            raise BadRequest(f"the task's media field holds {location!r}, not a URL or a Label Studio path")
        if urlsplit(location).scheme in ("http", "https"):
            return location
        if urlsplit(location).scheme:
            raise BadRequest(f"cannot fetch {location!r}: Masklet fetches http(s) URLs and Label Studio's own "
                             "paths (uploads, local files); for cloud storage let Label Studio serve the files")
        if self.url is None:
            raise BadRequest(f"the task's media is a Label Studio path ({location}) but the Label Studio URL is not known: "
                             "connect the backend in Label Studio (its /setup call tells it), or start "
                             "`masklet label-studio` with --label-studio-url and --label-studio-token")
        path = location if location.startswith(("/", "data/")) else "/data/" + location  # "upload/1/x.jpg"
        return urljoin(self.url, path.lstrip("/"))

    def _headers(self, url: str) -> dict:
        if not self.token or self.url is None or urlsplit(url).netloc != urlsplit(self.url).netloc:
            return {}
        if not _is_jwt(self.token):
            return {"Authorization": f"Token {self.token}"}
        with self._lock:
            if self._access is None:
                self._access = self._refresh()
            return {"Authorization": f"Bearer {self._access}"}

    def _refresh(self) -> str:
        """A personal access token (a JWT refresh token) exchanged for an access token."""
        request = urllib.request.Request(urljoin(self.url or "", "api/token/refresh/"), method="POST",
                                         data=json.dumps({"refresh": self.token}).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return json.load(response)["access"]
        except (OSError, ValueError, KeyError) as e:
            raise MediaUnavailable(f"Label Studio at {self.url} did not take the personal access token ({e}): "
                                   "give a valid token with --label-studio-token") from None

    def download(self, location: str, folder: Path) -> Path:
        """The task's media saved into `folder`; its path."""
        url = self.full_url(location)
        name = Path(urlsplit(url).path).name or "media"
        target = folder / name
        for attempt in range(2):
            request = urllib.request.Request(url, headers=self._headers(url))
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, open(target, "wb") as out:
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                return target
            except urllib.error.HTTPError as e:
                if e.code == 401 and attempt == 0 and self.token and _is_jwt(self.token):
                    with self._lock:
                        self._access = None  # an expired access token: refresh it once
                    continue
                hint = " (check the Label Studio token: --label-studio-token)" if e.code in (401, 403) else ""
                raise MediaUnavailable(f"fetching {url} failed: HTTP {e.code} {e.reason}{hint}") from None
            except OSError as e:
                raise MediaUnavailable(f"fetching {url} failed: {e}") from None
        raise MediaUnavailable(f"fetching {url} failed: the token was refused twice")
