"""A file the owner uploads from the console in pieces (manifest ``connect.upload``), e.g. a
years-long health export: each piece is one request (at most :data:`PIECE` bytes, within the
request guard's limit for ``/api/upload/*``), forwarded in order to the integration's ADMIN tool,
which parses it as it arrives. The page's script (static/upload.js) shows the progress."""

from __future__ import annotations

import base64
import re
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from web.data import console_data
from web.errors import NotFound
from web.guard import CurrentPrincipal
from web.routes.integrations import audit, integration

router = APIRouter()
PIECE: Final = 4 * 1024 * 1024
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def _bad(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers={"Cache-Control": "no-store"})


@router.post("/api/upload/{name}")
async def upload_piece(request: Request, name: str, principal: CurrentPrincipal) -> JSONResponse:
    manifest, data = integration(request, name), console_data(request)
    spec = manifest.connect.upload
    if spec is None:
        raise NotFound("this integration takes no uploads")
    upload, offset = request.headers.get("x-upload-id", ""), request.headers.get("x-upload-offset", "")
    last = request.headers.get("x-upload-last", "")
    if not UPLOAD_ID.match(upload) or not offset.isdigit() or last not in ("0", "1"):
        return _bad(400, "bad_headers", "send X-Upload-Id (32 hex), X-Upload-Offset and X-Upload-Last (0 or 1)")
    body = await request.body()
    if len(body) > PIECE or (not body and last != "1"):
        return _bad(413 if body else 400, "bad_piece", f"each piece is 1 to {PIECE} bytes")
    if data.tools is None:
        return _bad(503, "unavailable", "the agent is not running in this console")
    args = {"upload": upload, "offset": int(offset), "data": base64.b64encode(body).decode(), "last": last == "1"}
    result = await data.tools.console_only(spec.tool, args)
    if int(offset) == 0 or last == "1" or not result.ok:
        outcome = "ok" if result.ok else "fail"
        await audit(request, principal, "integration.upload", outcome, resource=f"integration:{name}", offset=offset)
    if not result.ok:
        message = (result.error or "refused").removeprefix(f"{manifest.name}: ")[:300]
        return _bad(409 if "offset" in message else 400, "refused", message)
    return JSONResponse(result.content, headers={"Cache-Control": "no-store"})
