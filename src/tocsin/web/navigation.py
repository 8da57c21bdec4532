"""The main navigation: one entry per area of the web pages.

An area added later (schedules, services, status page, reports) appends its
entry to NAVIGATION where its router is included, so base.html needs no edit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str

    def current(self, path: str) -> bool:
        """Whether `path` is this area's page or one below it."""
        if self.url == "/":
            return path == "/"
        return path == self.url or path.startswith(self.url.rstrip("/") + "/")


NAVIGATION: list[NavItem] = [
    NavItem("Home", "/"),
    NavItem("Incidents", "/incidents"),
]
