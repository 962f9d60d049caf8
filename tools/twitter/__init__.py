"""X (Twitter) API v2 through tweepy's async client."""
