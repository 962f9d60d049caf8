"""Demo mailbox data."""
