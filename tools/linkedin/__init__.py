"""LinkedIn: Sign In with OpenID Connect and the Posts API, as the member (see API-NOTES §9)."""
