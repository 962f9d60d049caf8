"""Model servers faked at the network edge, shaped like the real APIs: an OpenAI-compatible server
(``GET /models``, streamed chat completions) and Anthropic's model list (through the SDK's httpx2)."""

from __future__ import annotations

import json

import httpx
import httpx2


def openai_server(models: list[str], *, key: str | None = None, seen: list[str] | None = None) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(f"{request.method} {request.url} {request.headers.get('authorization', '')}")
        if key is not None and request.headers.get("authorization") != f"Bearer {key}":
            return httpx.Response(401, json={"error": {"message": "invalid api key"}})
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"object": "list", "data": [{"id": m, "object": "model"} for m in models]})
        body = json.loads(request.content)
        text = f"hello from {body['model']}"
        chunks = [
            {"id": "c1", "object": "chat.completion.chunk", "model": body["model"],
             "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]},
            {"id": "c1", "object": "chat.completion.chunk", "model": body["model"],
             "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]  # fmt: skip
        sse = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"
        return httpx.Response(200, content=sse, headers={"content-type": "text/event-stream"})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def anthropic_server(models: list[str], key: str) -> httpx2.AsyncClient:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.headers.get("authorization") != f"Bearer {key}":  # what the 2.x SDK sends (API-NOTES §15a)
            body = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
            return httpx2.Response(401, json=body)
        assert request.url.path == "/v1/models"
        data = [{"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"} for m in models]
        return httpx2.Response(
            200, json={"data": data, "has_more": False, "first_id": models[0], "last_id": models[-1]}
        )

    return httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
