"""Adapters that turn monitoring payloads into alert events."""
