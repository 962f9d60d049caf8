"""The news integration: NewsAPI, the owner's feeds and iCalendar event feeds."""
