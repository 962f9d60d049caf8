"""Demo Plaid sandbox data."""
