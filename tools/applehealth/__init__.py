"""Apple Health, pushed from the owner's phone: payload parsing and the demo phone."""
