"""Channels send messages; each knows only its provider's protocol."""
