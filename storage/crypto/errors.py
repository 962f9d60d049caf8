"""Crypto errors, split by who can fix them.

CryptoError
 ├── DecryptionFailed     data was tampered with, moved, or belongs to another context (nobody can fix)
 ├── KeyUnavailable       the key id is unknown, retired, or not granted to this process (operator)
 └── MasterKeyError       the master key file is missing, malformed or unsafe (operator)
"""


class CryptoError(Exception):
    pass


class DecryptionFailed(CryptoError):
    pass


class KeyUnavailable(CryptoError):
    pass


class MasterKeyError(CryptoError):
    pass
