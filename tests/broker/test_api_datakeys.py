from __future__ import annotations

import pytest

from broker.client import BrokerClient, BrokerClientError
from broker.grants import fetch_keyring
from storage.crypto.errors import KeyUnavailable
from storage.crypto.field import FieldCipher, FieldContext
from tests.broker.conftest import Broker

pytestmark = pytest.mark.anyio
CTX = FieldContext("admin_account", "totp_secret", "1")


async def test_a_process_gets_only_the_domains_its_principal_may_read(broker: Broker) -> None:
    key = await broker.create_key("console", max_scopes=["datakeys.read"], max_resources=["domain:auth"])
    client = BrokerClient(broker.http)
    keyring = await fetch_keyring(client, key["api_key"], {"auth"})
    assert keyring.domains == {"auth"}

    # What the broker encrypts under the auth domain, the granted keyring decrypts.
    broker_side = FieldCipher(broker.state.keys().keyring)
    blob = broker_side.encrypt_text("auth", CTX, "JBSWY3DPEHPK3PXP")
    assert FieldCipher(keyring).decrypt_text("auth", CTX, blob) == "JBSWY3DPEHPK3PXP"
    mail_blob = broker_side.encrypt_text("mail", CTX, "body")
    with pytest.raises(KeyUnavailable):
        FieldCipher(keyring).decrypt_text("mail", CTX, mail_blob)

    with pytest.raises(BrokerClientError) as denied:
        await fetch_keyring(client, key["api_key"], {"mail"})
    assert denied.value.status == 403
    last = await broker.last_audit()
    assert (last["action"], last["result"], last["reason"]) == (
        "token.mint",
        "deny",
        "resource_exceeds_principal_ceiling",
    )
    grants = await broker.audit(action="datakeys.read", result="allow")
    assert len(grants) == 1 and grants[0]["resource"] == "domain:auth"


async def test_a_token_for_one_domain_cannot_fetch_another(broker: Broker) -> None:
    key = await broker.create_key("console", max_scopes=["datakeys.read"], max_resources=["domain:auth", "domain:mail"])
    minted = await broker.mint(key["api_key"], scopes=["datakeys.read"], resource="domain:auth")
    token = minted.json()["access_token"]
    r = await broker.http.get("/v1/datakeys/mail", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    assert "material" not in r.text
    last = await broker.last_audit()
    assert (last["action"], last["result"], last["reason"]) == ("datakeys.read", "deny", "resource_mismatch")
