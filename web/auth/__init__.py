"""Authentication primitives of the console: TOTP, passphrases, recovery codes, tokens, the account."""
