"""The LinkedIn integration: posting as the member, approved by the owner."""
