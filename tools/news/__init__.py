"""News and events: NewsAPI, the owner's RSS/Atom and iCalendar feeds, article text extraction."""
