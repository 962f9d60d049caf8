"""Field encryption throughput: FieldCipher against raw AES-256-GCM on the same 1 KiB payloads.

Run with ``uv run python bench/field_crypto.py``. Prints the median ops/s of each over several
repetitions and the ratio ours/raw (goal: >= 0.7 for both encrypt and decrypt).
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.crypto.field import FieldCipher, FieldContext
from storage.crypto.keyring import ACTIVE, DataKey, Keyring

PAYLOAD = 1024
OPS = 5000
REPS = 15
GOAL = 0.7
AAD = b"aegis-bench"


def _rate(fn: Callable[[], object]) -> float:
    gc.disable()  # as timeit does: a collection landing in one side's run is noise, not cost
    try:
        start = time.perf_counter()
        fn()
        return OPS / (time.perf_counter() - start)
    finally:
        gc.enable()


def main() -> None:
    payloads = [os.urandom(PAYLOAD) for _ in range(OPS)]
    row_ids = [str(i) for i in range(OPS)]
    cipher = FieldCipher(Keyring([DataKey("mail.enc.v1", os.urandom(32), ACTIVE)]))
    aead = AESGCM(os.urandom(32))

    # Contexts describe rows the caller already holds, as payloads do; both are built before timing.
    contexts = [FieldContext("messages", "body", rid, "owner-1") for rid in row_ids]

    def ours_encrypt() -> list[bytes]:
        return [cipher.encrypt("mail", ctx, p) for ctx, p in zip(contexts, payloads, strict=True)]

    def raw_encrypt() -> list[bytes]:
        # The least any stored AES-GCM field does: a fresh nonce, kept with the ciphertext in one value.
        out = []
        for p in payloads:
            nonce = os.urandom(12)
            out.append(nonce + aead.encrypt(nonce, p, AAD))
        return out

    blobs = ours_encrypt()
    sealed = raw_encrypt()

    def ours_decrypt() -> list[bytes]:
        return [cipher.decrypt("mail", ctx, b) for ctx, b in zip(contexts, blobs, strict=True)]

    def raw_decrypt() -> list[bytes]:
        return [aead.decrypt(b[:12], b[12:], AAD) for b in sealed]

    assert ours_decrypt() == payloads and raw_decrypt() == payloads
    cases = {
        "encrypt": (ours_encrypt, raw_encrypt),
        "decrypt": (ours_decrypt, raw_decrypt),
    }
    print(f"field crypto: {OPS} x {PAYLOAD} B payloads, median of {REPS} runs")
    worst = float("inf")
    for name, (ours, raw) in cases.items():
        ours(), raw()  # warm up
        ours_rates, raw_rates = [], []
        for _ in range(REPS):  # alternate, so drift in machine load hits both sides alike
            ours_rates.append(_rate(ours))
            raw_rates.append(_rate(raw))
        o, r = statistics.median(ours_rates), statistics.median(raw_rates)
        worst = min(worst, o / r)
        print(f"  {name}: FieldCipher {o:,.0f} ops/s | raw AESGCM {r:,.0f} ops/s | ratio {o / r:.2f}x")
    verdict = "meets" if worst >= GOAL else "BELOW"
    print(f"  worst ratio {worst:.2f}x {verdict} the goal of {GOAL}x")


if __name__ == "__main__":
    main()
