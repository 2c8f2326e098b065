"""Request body limits, enforced before a body is parsed: uploads up to the upload limit,
every other request up to the JSON limit. A declared Content-Length over the limit is refused
at once (413); a body without one is counted as it arrives and cut off past the limit
(413 too, whatever the app would have answered)."""

from __future__ import annotations

import json
import re

from masklet.serve.errors import PayloadTooLarge

UPLOAD_PATH = re.compile(r"^/api/projects/[^/]+/media/?$")


async def _refuse(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: `upload_bytes` for POST /api/projects/{id}/media, `json_bytes` elsewhere."""

    def __init__(self, app, upload_bytes: int, json_bytes: int) -> None:
        self.app, self.upload_bytes, self.json_bytes = app, upload_bytes, json_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        upload = scope["method"] == "POST" and UPLOAD_PATH.match(scope["path"])
        limit = self.upload_bytes if upload else self.json_bytes
        what = "an upload" if upload else "a request body"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return await _refuse(send, 400, f"Content-Length {declared[:40].decode(errors='replace')!r} is not a number")
            if int(declared) > limit:
                return await _refuse(send, 413, f"{what} is {int(declared)} bytes, more than this server's {limit}")
        received, refused = 0, False
        message_413 = f"{what} is more than this server's {limit} bytes"

        async def counted():
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    raise PayloadTooLarge(message_413)
            return message

        answered = False

        async def replaced(message):
            """Once the body was cut off, whatever the app answers becomes the 413."""
            nonlocal answered
            if not refused:
                return await send(message)
            if not answered:
                answered = True
                await _refuse(send, 413, message_413)

        try:
            await self.app(scope, counted, replaced)
        except PayloadTooLarge:
            if not answered:
                answered = True
                await _refuse(send, 413, message_413)
