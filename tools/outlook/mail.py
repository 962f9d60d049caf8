"""Outlook mail over Graph: delta rounds per folder (inbox, sent items), search, conversations,
reply drafts and sending.

A mail delta round starts at ``/me/mailFolders/{folder}/messages/delta`` with its ``$select`` (query
options only on the first request), follows ``@odata.nextLink`` and ends on the page with
``@odata.deltaLink``. ``@removed`` entries were deleted or moved out of the folder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from tools.outlook.graph import GraphBase
from tools.outlook.models import GraphMessage, MessagePage

FOLDERS = ("inbox", "sentitems")
MESSAGE_FIELDS = (
    "id,subject,from,toRecipients,ccRecipients,receivedDateTime,isRead,isDraft,bodyPreview,"
    "conversationId,parentFolderId,webLink"
)
FULL_FIELDS = MESSAGE_FIELDS + ",body"
TEXT_BODY = {"Prefer": 'outlook.body-content-type="text"'}


def recipients(addresses: Sequence[str]) -> list[dict[str, Any]]:
    return [{"emailAddress": {"address": a}} for a in addresses]


class GraphMail(GraphBase):
    async def _message_page(self, url: str, params: Any = None, headers: dict[str, str] | None = None) -> MessagePage:
        return MessagePage.model_validate(await self.get_json(url, params, headers))

    async def mail_delta(self, folder: str, *, delta_link: str | None = None) -> AsyncIterator[MessagePage]:
        """Every page of one mail round of ``folder`` (a new round when ``delta_link`` is None)."""
        if delta_link is None:
            url = self.url(f"me/mailFolders/{folder}/messages/delta")
            page = await self._message_page(url, {"$select": MESSAGE_FIELDS})
        else:
            page = await self._message_page(delta_link)
        while True:
            yield page
            if page.delta_link or not page.next_link:
                return
            page = await self._message_page(page.next_link)

    async def search(self, query: str, limit: int) -> list[GraphMessage]:
        """Messages matching Graph's ``$search`` (KQL, e.g. ``from:dana budget``), most relevant first."""
        quoted = '"' + query.replace("\\", " ").replace('"', " ") + '"'
        params = {"$search": quoted, "$top": str(limit), "$select": MESSAGE_FIELDS}
        return list((await self._message_page(self.url("me/messages"), params)).value)[:limit]

    async def conversation(self, conversation_id: str, limit: int = 50) -> list[GraphMessage]:
        escaped = conversation_id.replace("'", "''")
        params = {"$filter": f"conversationId eq '{escaped}'", "$select": FULL_FIELDS, "$top": str(limit)}
        page = await self._message_page(self.url("me/messages"), params, TEXT_BODY)
        return sorted(page.value, key=lambda m: (m.received is None, m.received))

    async def get_message(self, message_id: str) -> GraphMessage:
        doc = await self.get_json(self.url(f"me/messages/{message_id}"), {"$select": FULL_FIELDS}, TEXT_BODY)
        return GraphMessage.model_validate(doc)

    async def create_reply(self, message_id: str, comment: str) -> GraphMessage:
        """A reply draft in Drafts (nothing is sent), with ``comment`` above the quoted message."""
        r = await self.request(
            "POST", self.url(f"me/messages/{message_id}/createReply"), json={"comment": comment}, idempotent=False
        )
        return GraphMessage.model_validate(r.json())

    async def send_mail(
        self, *, to: Sequence[str], cc: Sequence[str], bcc: Sequence[str], subject: str, body: str
    ) -> None:
        """``POST /me/sendMail``: 202 Accepted, saved to Sent Items; nothing comes back."""
        message = {
            "subject": subject,
            "body": {"contentType": "Text", "content": body},
            "toRecipients": recipients(to),
            "ccRecipients": recipients(cc),
            "bccRecipients": recipients(bcc),
        }
        await self.request(
            "POST", self.url("me/sendMail"), json={"message": message, "saveToSentItems": True}, idempotent=False
        )
