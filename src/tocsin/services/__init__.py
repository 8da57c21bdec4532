"""Use cases. The only layer that writes; each call is one transaction."""
