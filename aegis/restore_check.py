"""``python -m aegis.restore_check``: after a restore, prove the data is whole.

Run with the restored stack's settings (same environment as ``aegis up``/``aegis broker serve``):
it reads the master key the broker would read, decrypts every encrypted value once and walks the
audit hash chain. Exit 0 only when both succeed. Prints counts and locations, never a value.
"""

from __future__ import annotations

import asyncio
import sys

from aegis.broker_root import master_key_path
from aegis.runtime import build_context
from storage.audit import ChainKey, verify_chain
from storage.crypto.check import decrypt_everything
from storage.crypto.errors import CryptoError
from storage.crypto.keystore import load_keyring
from storage.crypto.master import KeyEncryptionKey, load_master_key
from storage.models import encrypted_columns


async def run() -> int:
    ctx = build_context()
    db = ctx.database()
    try:
        kek = KeyEncryptionKey(load_master_key(master_key_path(ctx)))
        report = await decrypt_everything(db, kek, encrypted_columns())
        async with db.transaction() as session:
            keyring = await load_keyring(session, kek)
            chain = await verify_chain(session, key=ChainKey.of(keyring))  # the chain is keyed
    except CryptoError as exc:
        sys.stderr.write(f"the master key does not open this data: {exc}\n")
        return 1
    finally:
        await db.dispose()
    for failure in report.failures[:20]:
        sys.stderr.write(f"does not decrypt: {failure}\n")
    sys.stdout.write(f"decrypted {report.values} encrypted values in {len(report.per_column)} columns\n")
    if chain.ok:
        sys.stdout.write(f"audit chain intact: {chain.rows} rows\n")
    else:
        sys.stderr.write(f"audit chain BROKEN at row {chain.first_bad_seq}: {chain.problem}\n")
    return 0 if report.ok and chain.ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(run()))
