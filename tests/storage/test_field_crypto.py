from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.crypto.errors import DecryptionFailed, KeyUnavailable
from storage.crypto.field import FieldCipher, FieldContext, kid_of, open_sealed, seal
from storage.crypto.keyring import ACTIVE, DECRYPT_ONLY, RETIRED, DataKey, Keyring

# McGrew & Viega GCM test cases 13-16 (AES-256), as published with NIST's GCM specification.
K0 = "00" * 32
KF = "feffe9928665731c6d6a8f9467308308" * 2
P64 = (
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
)
C64 = (
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
)
VECTORS = [
    (K0, "00" * 12, "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"),
    (K0, "00" * 12, "00" * 16, "", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"),
    (KF, "cafebabefacedbaddecaf888", P64, "", C64, "b094dac5d93471bdec1a502270e3cc6c"),
    (
        KF,
        "cafebabefacedbaddecaf888",
        P64[:120],
        "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        C64[:120],
        "76fc6ece0f4e1768cddf8853bb2d551b",
    ),
]


@pytest.mark.parametrize(("key", "iv", "pt", "aad", "ct", "tag"), VECTORS)
def test_known_answer_vectors_round_trip_through_the_format(
    key: str, iv: str, pt: str, aad: str, ct: str, tag: str
) -> None:
    aead = AESGCM(bytes.fromhex(key))
    blob = seal(aead, "mail.enc.v1", bytes.fromhex(aad), bytes.fromhex(pt), nonce=bytes.fromhex(iv))
    header = bytes((1, len("mail.enc.v1"))) + b"mail.enc.v1"
    assert blob == header + bytes.fromhex(iv) + bytes.fromhex(ct + tag)
    assert open_sealed(aead, "mail.enc.v1", bytes.fromhex(aad), blob) == bytes.fromhex(pt)


def _keyring(*keys: tuple[str, str]) -> Keyring:
    return Keyring([DataKey(kid, os.urandom(32), state) for kid, state in keys])


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(_keyring(("mail.enc.v1", ACTIVE), ("finance.enc.v1", ACTIVE)))


CTX = FieldContext("messages", "body", "row-1", "owner-1")


def test_round_trip_and_format_names_the_key(cipher: FieldCipher) -> None:
    blob = cipher.encrypt_text("mail", CTX, "hello")
    assert blob[0] == 1
    assert kid_of(blob) == "mail.enc.v1"
    assert b"hello" not in blob
    assert cipher.decrypt_text("mail", CTX, blob) == "hello"


def test_same_plaintext_encrypts_differently(cipher: FieldCipher) -> None:
    assert cipher.encrypt_text("mail", CTX, "x") != cipher.encrypt_text("mail", CTX, "x")


@pytest.mark.parametrize("position", [0, 2, 14, 30, -17, -1])
def test_a_flipped_bit_is_rejected(cipher: FieldCipher, position: int) -> None:
    blob = bytearray(cipher.encrypt_text("mail", CTX, "account 12345678"))
    blob[position] ^= 0x01
    with pytest.raises((DecryptionFailed, KeyUnavailable)):
        cipher.decrypt_text("mail", CTX, bytes(blob))


@pytest.mark.parametrize("cut", [1, 5, 16, 20])
def test_a_truncated_ciphertext_is_rejected(cipher: FieldCipher, cut: int) -> None:
    blob = cipher.encrypt_text("mail", CTX, "account 12345678")
    with pytest.raises(DecryptionFailed):
        cipher.decrypt_text("mail", CTX, blob[:-cut])
    with pytest.raises(DecryptionFailed):
        cipher.decrypt_text("mail", CTX, blob[:cut])


@pytest.mark.parametrize(
    "moved",
    [
        FieldContext("messages", "body", "row-2", "owner-1"),  # row swap
        FieldContext("messages", "subject", "row-1", "owner-1"),  # column swap
        FieldContext("notes", "body", "row-1", "owner-1"),  # table swap
        FieldContext("messages", "body", "row-1", "owner-2"),  # owner swap
    ],
)
def test_a_ciphertext_moved_to_another_context_is_rejected(cipher: FieldCipher, moved: FieldContext) -> None:
    blob = cipher.encrypt_text("mail", CTX, "secret body")
    with pytest.raises(DecryptionFailed):
        cipher.decrypt_text("mail", moved, blob)


def test_a_substituted_key_id_is_rejected() -> None:
    material = os.urandom(32)
    ring = Keyring([DataKey("mail.enc.v1", material, DECRYPT_ONLY), DataKey("mail.enc.v2", material, ACTIVE)])
    cipher = FieldCipher(ring)
    blob = cipher.encrypt_text("mail", CTX, "secret")
    assert kid_of(blob) == "mail.enc.v2"
    # Same key bytes under another id: only the authenticated key id stops the substitution.
    forged = blob.replace(b"mail.enc.v2", b"mail.enc.v1", 1)
    with pytest.raises(DecryptionFailed):
        cipher.decrypt_text("mail", CTX, forged)


def test_one_domain_key_cannot_read_another_domain(cipher: FieldCipher) -> None:
    blob = cipher.encrypt_text("finance", CTX, "balance 100")
    with pytest.raises(DecryptionFailed):
        cipher.decrypt_text("mail", CTX, blob)
    mail_only = FieldCipher(_keyring(("mail.enc.v1", ACTIVE)))
    with pytest.raises(KeyUnavailable):
        mail_only.decrypt_text("finance", CTX, blob)


def test_retired_keys_no_longer_decrypt() -> None:
    material = os.urandom(32)
    old = FieldCipher(Keyring([DataKey("mail.enc.v1", material, ACTIVE)]))
    blob = old.encrypt_text("mail", CTX, "x")
    still = FieldCipher(Keyring([DataKey("mail.enc.v1", material, DECRYPT_ONLY)]))
    assert still.decrypt_text("mail", CTX, blob) == "x"
    gone = FieldCipher(Keyring([DataKey("mail.enc.v1", material, RETIRED)]))
    with pytest.raises(KeyUnavailable, match="retired"):
        gone.decrypt_text("mail", CTX, blob)


def test_restricted_keyring_holds_only_granted_domains() -> None:
    ring = _keyring(("mail.enc.v1", ACTIVE), ("finance.enc.v1", ACTIVE), ("mail.idx.v1", ACTIVE))
    sub = ring.restricted_to({"mail"})
    assert sub.domains == {"mail"}
    with pytest.raises(KeyUnavailable):
        sub.encryption_key("finance")


def test_blind_index_is_keyed_deterministic_and_domain_separated() -> None:
    ring = _keyring(("mail.idx.v1", ACTIVE), ("finance.idx.v1", ACTIVE))
    a = ring.blind_index("mail", "alice@example.com")
    assert a == ring.blind_index("mail", "alice@example.com")
    assert a != ring.blind_index("mail", "bob@example.com")
    assert a != ring.blind_index("finance", "alice@example.com")
    other = _keyring(("mail.idx.v1", ACTIVE))
    assert other.blind_index("mail", "alice@example.com") != a


def test_a_context_holding_the_separator_is_refused_on_encrypt_and_never_authenticates(
    cipher: FieldCipher,
) -> None:
    with pytest.raises(ValueError, match="separator"):
        cipher.encrypt_text("mail", FieldContext("messages", "body", "row\x1f1", "owner-1"), "x")
    blob = cipher.encrypt_text("mail", FieldContext("messages", "body", "row", "owner-1"), "x")
    # Moving a boundary keeps the same characters but adds a separator: the AAD can never match.
    shifted = FieldContext("messages", "body\x1frow", "owner-1", "")
    with pytest.raises(DecryptionFailed):
        cipher.decrypt_text("mail", shifted, blob)
