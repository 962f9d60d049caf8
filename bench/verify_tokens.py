"""Token verification throughput: broker.verify.verify_token against a bare PyJWT ES256 decode.

Run with ``uv run python bench/verify_tokens.py``. Both sides verify the same ES256 tokens with the
same pre-loaded public key object; raw PyJWT checks signature, aud, iss, exp/iat/nbf and required
claims, ours adds the header allowlist, duplicate-key JSON, typ, kid pinning and claim grammar.
Prints the median ops/s of each over several rounds and the ratio ours/raw (goal: >= 0.8).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jwt

from broker.tokens import SigningKey, jwks, mint_token
from broker.verify import REQUIRED_CLAIMS, KeySet, verify_token

TOKENS = 2000
ROUNDS = 7
GOAL = 0.8
ISS = "http://127.0.0.1:8421"
AUD = "aegis"


def _rate(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return TOKENS / (time.perf_counter() - start)


def main() -> None:
    now = int(time.time())
    key = SigningKey.generate(now)
    keys = KeySet.from_jwks(jwks([key]))
    public = key.private_key.public_key()
    tokens = [
        mint_token(
            key, issuer=ISS, subject=f"principal-{i % 7}", client_id="0123456789abcdef", audience=AUD,
            scopes=["secrets.read", "mail.send"], resource="host:server1", ttl_seconds=1800,
            txn=f"trace-{i}", now=now,
        )[0]
        for i in range(TOKENS)
    ]  # fmt: skip
    options: jwt.types.Options = {"require": list(REQUIRED_CLAIMS)}

    def raw() -> None:
        for token in tokens:
            jwt.decode(token, public, algorithms=["ES256"], audience=AUD, issuer=ISS, options=options)

    def ours() -> None:
        for token in tokens:
            verify_token(token, keys=keys, issuer=ISS, audience=AUD)

    raw()
    ours()  # warm up, and prove every token verifies on both sides
    raw_rates: list[float] = []
    our_rates: list[float] = []
    for i in range(ROUNDS):
        pair = [(raw_rates, raw), (our_rates, ours)]
        for rates, fn in pair if i % 2 == 0 else reversed(pair):
            rates.append(_rate(fn))
    raw_med, our_med = statistics.median(raw_rates), statistics.median(our_rates)
    ratio = our_med / raw_med
    print(f"tokens per round: {TOKENS}, rounds: {ROUNDS}")
    print(f"raw PyJWT decode ES256 : {raw_med:10,.0f} ops/s (median)")
    print(f"broker verify_token    : {our_med:10,.0f} ops/s (median)")
    print(f"ratio ours/raw         : {ratio:.3f} (goal >= {GOAL}) {'OK' if ratio >= GOAL else 'BELOW GOAL'}")


if __name__ == "__main__":
    main()
