"""The main navigation: one entry per area of the web pages.

An area added later (schedules, services, status page, reports) appends its
entry to NAVIGATION where its router is defined, so base.html needs no edit.
Entries show in `order`, not in the order modules happen to be imported.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    order: int = 50

    def current(self, path: str) -> bool:
        """Whether `path` is this area's page or one below it."""
        if self.url == "/":
            return path == "/"
        return path == self.url or path.startswith(self.url.rstrip("/") + "/")


NAVIGATION: list[NavItem] = [
    NavItem("Home", "/", order=0),
    NavItem("Incidents", "/incidents", order=10),
    NavItem("Reports", "/reports", order=15),
]
