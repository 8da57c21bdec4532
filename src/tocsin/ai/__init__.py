"""Offline triage help: suggestions of severity, incident type and owning
service, similar past incidents, and drafts, all computed on this machine.

The package is pure: it turns plain values into plain values and never touches
the database. `tocsin.services.suggestions` feeds it and stores what it says.
"""
