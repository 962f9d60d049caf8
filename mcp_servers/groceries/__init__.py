"""Groceries: a plan for the next days that meets the owner's macro goals, solved as a MILP."""
