"""Everything the console's routes need, built once by ``create_app`` and kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates

from broker.ratelimit import RateLimiter
from integrations.catalog import SERVERS_DIR
from storage.audit import AuditLog, ChainKey
from storage.audit_writer import AuditWriter
from storage.crypto.keyring import Keyring
from storage.db import Database
from web import charts
from web.auditing import Auditor
from web.auth.account import Account
from web.auth.passkeys import Passkeys, RelyingParty
from web.auth.sessions import Sessions
from web.auth.tokens import TokenKeys
from web.config import ConsoleConfig
from web.markdown import ChatMarkdown

TEMPLATES = Path(__file__).parent / "templates"


def template_loader() -> jinja2.BaseLoader:
    """The console's templates, and each integration's own pages as ``<name>/<page>.html`` (from
    ``mcp_servers/<name>/console/``)."""
    own = {d.parent.name: jinja2.FileSystemLoader(d) for d in sorted(SERVERS_DIR.glob("*/console")) if d.is_dir()}
    return jinja2.ChoiceLoader([jinja2.FileSystemLoader(TEMPLATES), jinja2.PrefixLoader(own)])


@dataclass
class Console:
    db: Database
    config: ConsoleConfig
    keys: TokenKeys
    account: Account
    passkeys: Passkeys
    sessions: Sessions
    auditor: Auditor
    templates: Jinja2Templates
    auth_limiter: RateLimiter
    api_limiter: RateLimiter
    chain_key: ChainKey

    def now(self) -> float:
        return self.config.clock()

    @classmethod
    def build(cls, db: Database, keyring: Keyring, config: ConsoleConfig) -> Console:
        keys = TokenKeys(keyring)
        env = jinja2.Environment(loader=template_loader(), autoescape=True)
        charts.register(env)
        env.filters["markdown"] = ChatMarkdown().render
        chain_key = ChainKey.of(keyring)
        audit_log = AuditLog(
            lambda v: keyring.blind_index("audit", v), clock=lambda: _utc(config.clock()), key=chain_key
        )
        return cls(
            db=db,
            config=config,
            keys=keys,
            account=Account(keyring, config),
            passkeys=Passkeys(RelyingParty.from_url(config.public_url)),
            sessions=Sessions(keys, config),
            auditor=Auditor(audit_log, AuditWriter(db, audit_log)),
            templates=Jinja2Templates(env=env),
            auth_limiter=RateLimiter(config.auth_rate[0], config.auth_rate[1], config.clock),
            api_limiter=RateLimiter(config.api_rate[0], config.api_rate[1], config.clock),
            chain_key=chain_key,
        )


def console(request: Request) -> Console:
    found = request.app.state.console
    assert isinstance(found, Console)
    return found


def _utc(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)
