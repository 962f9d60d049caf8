"""The content engine: a daily draft for each network the owner posts on, held for the owner."""
