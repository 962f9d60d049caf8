"""``python -m aegis.restore_check [--checkpoints FILE]``: after a restore, prove the data is whole.

Run with the restored stack's settings (same environment as ``aegis up``/``aegis broker serve``):
it reads the master key the broker would read, decrypts every encrypted value once and walks the
audit hash chain up to the latest signed checkpoint: the backup's ``FILE`` if given (then installed
in the data folder, where the broker appends to it), otherwise the data folder's. Exit 0 only when
all of it succeeds. Prints counts and locations, never a value.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from pathlib import Path

from aegis.broker_root import master_key_path
from aegis.runtime import build_context
from storage.audit import ChainKey, verify_chain
from storage.audit_checkpoint import FILE_NAME, CheckpointError, CheckpointFile
from storage.crypto.check import decrypt_everything
from storage.crypto.errors import CryptoError
from storage.crypto.keystore import load_keyring
from storage.crypto.master import KeyEncryptionKey, load_master_key
from storage.models import encrypted_columns


async def run(checkpoints: Path | None = None) -> int:
    ctx = build_context()
    installed = ctx.settings.data_dir / FILE_NAME
    source = checkpoints or installed
    db = ctx.database()
    try:
        kek = KeyEncryptionKey(load_master_key(master_key_path(ctx)))
        report = await decrypt_everything(db, kek, encrypted_columns())
        async with db.transaction() as session:
            keyring = await load_keyring(session, kek)
            key = ChainKey.of(keyring)  # the chain is keyed
            checkpoint = CheckpointFile(source, key).latest()
            chain = await verify_chain(session, key=key, checkpoint=checkpoint)
    except CryptoError as exc:
        sys.stderr.write(f"the master key does not open this data: {exc}\n")
        return 1
    except CheckpointError as exc:
        sys.stderr.write(f"audit checkpoints BROKEN: {exc}\n")
        return 1
    finally:
        await db.dispose()
    for failure in report.failures[:20]:
        sys.stderr.write(f"does not decrypt: {failure}\n")
    sys.stdout.write(f"decrypted {report.values} encrypted values in {len(report.per_column)} columns\n")
    if not chain.ok:
        sys.stderr.write(f"audit chain BROKEN at row {chain.first_bad_seq}: {chain.problem}\n")
    elif checkpoint is None:
        sys.stdout.write(f"audit chain intact: {chain.rows} rows (no signed checkpoint to check them against)\n")
    else:
        sys.stdout.write(
            f"audit chain intact: {chain.rows} rows, matching the signed checkpoint of row {checkpoint.seq}\n"
        )
        if checkpoints is not None:
            _install(checkpoints, installed)
    return 0 if report.ok and chain.ok else 1


def _install(checkpoints: Path, installed: Path) -> None:
    """The backup's checkpoints become the data folder's, unless it has its own."""
    if checkpoints.resolve() != installed.resolve() and not installed.exists():
        installed.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(checkpoints, installed)
        installed.chmod(0o600)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m aegis.restore_check")
    parser.add_argument("--checkpoints", type=Path, help="the backup's signed audit checkpoints")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.checkpoints))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
