"""The demo term: courses and deadlines around today."""
