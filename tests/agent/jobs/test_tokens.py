"""JobTokens against the real broker: a parent token of the scheduler principal is exchanged
(RFC 8693) for a narrower, shorter-lived token; the exchange's audit row names the job."""

from __future__ import annotations

import pytest

from agent.jobs.ports import JobError
from agent.jobs.tokens import Grant, JobTokens, minting_parent
from broker.client import BrokerClient
from tests.broker.conftest import Broker
from tests.broker.test_api_support import details, unverified, verify

pytestmark = pytest.mark.anyio
CEILING = ["tokens.exchange", "mail.read", "finance.read"]


async def test_a_sync_job_gets_a_narrowed_token_naming_the_job(broker: Broker) -> None:
    key = (await broker.create_key("scheduler", max_scopes=CEILING))["api_key"]
    client = BrokerClient(broker.http)
    tokens = JobTokens(client, minting_parent(client, key), ttl_seconds=120)
    with pytest.raises(JobError, match="audience_not_allowed"):  # RFC 8693: only audiences it may act for
        await tokens.for_job("sync_emails", "gmail")
    admin = BrokerClient(broker.http, admin_token=broker.admin_token)
    await admin.set_policy("scheduler", CEILING, None, may_act_for=["mcp-gmail", "mcp-plaid"])

    token = await tokens.for_job("sync_emails", "gmail")
    claims = await verify(broker, token, "mcp-gmail")
    assert claims["scope"] == "mail.read"
    assert claims["resource"] == "mcp:gmail"
    assert claims["act"] == {"sub": claims["sub"]}  # the authenticated caller; the job is in the audit row
    assert claims["exp"] - int(broker.clock()) <= 120
    rows = await broker.audit(action="token.exchange")
    assert rows[0]["result"] == "allow"
    assert details(rows[0])["label"] == "job:sync_emails"
    parent_jti = details(rows[0])["parent_jti"]
    assert parent_jti != claims["jti"]

    finance = await tokens.for_job("sync_finances", "plaid")
    _, fclaims = unverified(finance)
    assert (fclaims["aud"], fclaims["scope"], fclaims["act"]) == (
        "mcp-plaid",
        "finance.read",
        {"sub": fclaims["sub"]},
    )


async def test_a_refusal_becomes_a_job_error_without_the_token(broker: Broker) -> None:
    key = (await broker.create_key("scheduler", max_scopes=["tokens.exchange", "mail.read"]))["api_key"]
    client = BrokerClient(broker.http)
    tokens = JobTokens(client, minting_parent(client, key))
    with pytest.raises(JobError, match="the broker refused the job token") as err:
        await tokens.for_job("sync_finances", "plaid")  # finance.read is above the principal's ceiling
    assert key not in str(err.value)
    with pytest.raises(JobError, match="no token grant configured for integration 'calendar'"):
        await tokens.for_job("sync_calendar", "calendar")


async def test_the_parent_cannot_be_widened_by_the_grant(broker: Broker) -> None:
    key = (await broker.create_key("scheduler", max_scopes=CEILING))["api_key"]
    client = BrokerClient(broker.http)
    narrow_parent = minting_parent(client, key)

    async def parent_without_finance(grant: Grant) -> str:
        return await narrow_parent(Grant(grant.audience, grant.resource, ("mail.read",)))

    tokens = JobTokens(
        client, parent_without_finance, grants={"finance": Grant("mcp-plaid", "mcp:plaid", ("finance.read",))}
    )
    with pytest.raises(JobError, match="scope_not_narrowing"):
        await tokens.for_job("sync_finances", "finance")
