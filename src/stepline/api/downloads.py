"""Streaming downloads of attachments, with the UTF-8 name in Content-Disposition."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import StreamingResponse

from stepline.engine.deps import Engine
from stepline.engine.errors import NotFound
from stepline.store import attachments as attachment_store


def content_disposition(name: str) -> str:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


async def attachment_download(
    engine: Engine, tenant_id: str, owner_kind: str, owner_id: str, name: str
) -> StreamingResponse:
    async with engine.db.read() as conn:
        row = await attachment_store.get_attachment(conn, tenant_id, owner_kind, owner_id, name)
    if row is None:
        raise NotFound("ATTACHMENT_NOT_FOUND", f"attachment {name!r} not found on {owner_kind} '{owner_id}'")
    return StreamingResponse(
        engine.blobs.open(row["blob_key"]),
        media_type=row["content_type"] or "application/octet-stream",
        headers={"Content-Disposition": content_disposition(name), "Content-Length": str(row["size"])},
    )
