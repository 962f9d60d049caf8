"""The broker anchors the audit chain: it signs a checkpoint of the head at a regular interval and
when it stops, in a file outside the database (see storage/audit_checkpoint.py)."""

from __future__ import annotations

import asyncio

from broker.state import BrokerState
from storage.audit import ChainKey
from storage.audit_checkpoint import Checkpointer, CheckpointFile


def start_checkpoints(state: BrokerState) -> Checkpointer | None:
    """Start the periodic checkpoints once unsealed (the chain key needs the master key)."""
    path = state.config.checkpoint_path
    if path is None or state.sealed:
        return None
    key = ChainKey.of(state.keys().keyring)
    checkpointer = Checkpointer(state.db, key, CheckpointFile(path, key))
    task = asyncio.get_running_loop().create_task(checkpointer.run(state.config.checkpoint_seconds))
    state.background.add(task)
    task.add_done_callback(state.background.discard)
    return checkpointer
