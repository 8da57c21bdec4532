"""The status page as an Atom feed (RFC 4287): one entry per public incident and
per maintenance window, newest change first.

Ids are `urn:uuid:` names derived from the base URL and the record, so they stay
the same however often the feed is read (RFC 4287, 4.2.6). Content is HTML
carried as escaped text (`type="html"`): every message is escaped once as HTML
and once more as XML by the serialiser, so no message can add markup or break
the document.
"""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from tocsin.services import status_reads
from tocsin.services.context import Context
from tocsin.services.status_reads import PublicIncidentRead, StatusMaintenanceRead

ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(ctx: Context) -> bytes:
    incidents, maintenance = status_reads.feed_entries(ctx)
    base = ctx.settings.base_url.rstrip("/") + "/status"
    title = ctx.settings.status_page_title

    entries = [_incident_entry(base, incident) for incident in incidents]
    now = ctx.clock.now()
    entries += [_maintenance_entry(base, window, now) for window in maintenance]
    entries.sort(key=lambda entry: entry[0], reverse=True)
    updated = entries[0][0] if entries else now

    ET.register_namespace("", ATOM)
    feed = ET.Element(_tag("feed"))
    _text(feed, "id", _urn(base))
    _text(feed, "title", title)
    _text(feed, "updated", _stamp(updated))
    author = ET.SubElement(feed, _tag("author"))
    _text(author, "name", title)
    _link(feed, base + "/feed.atom", rel="self", kind="application/atom+xml")
    _link(feed, base, rel="alternate", kind="text/html")
    for _, entry in entries:
        feed.append(entry)

    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document


def _incident_entry(
    base: str, incident: PublicIncidentRead
) -> tuple[datetime, ET.Element]:
    url = f"{base}/incidents/{incident.id}"
    entry = ET.Element(_tag("entry"))
    _text(entry, "id", _urn(url))
    _text(entry, "title", incident.title)
    _text(entry, "published", _stamp(incident.created_at))
    _text(entry, "updated", _stamp(incident.updated_at))
    _link(entry, url, rel="alternate", kind="text/html")

    parts = []
    if incident.components:
        parts.append(f"<p>Affected: {html.escape(', '.join(incident.components))}</p>")
    for update in reversed(incident.updates):
        parts.append(
            f"<p><strong>{html.escape(update.stage.capitalize())}</strong> "
            f"({_stamp(update.at)}): {html.escape(update.message)}</p>"
        )
    content = _text(entry, "content", "\n".join(parts))
    content.set("type", "html")
    return incident.updated_at, entry


def _maintenance_entry(
    base: str, window: StatusMaintenanceRead, now: datetime
) -> tuple[datetime, ET.Element]:
    entry = ET.Element(_tag("entry"))
    _text(entry, "id", _urn(f"{base}/maintenance/{window.id}"))
    _text(entry, "title", f"Maintenance: {window.title}")
    # The entry changes when the window is made, starts, ends or is cancelled.
    edges = [window.created_at, window.starts_at, window.ends_at]
    if window.cancelled_at is not None:
        edges = [window.created_at, window.cancelled_at]
    updated = max(edge for edge in edges if edge <= now)
    _text(entry, "published", _stamp(window.created_at))
    _text(entry, "updated", _stamp(updated))
    _link(entry, base, rel="alternate", kind="text/html")

    parts = [
        f"<p>{html.escape(window.phase.value.replace('_', ' ').capitalize())}: "
        f"{_stamp(window.starts_at)} to {_stamp(window.ends_at)}</p>"
    ]
    if window.components:
        parts.append(f"<p>Affected: {html.escape(', '.join(window.components))}</p>")
    if window.description:
        parts.append(f"<p>{html.escape(window.description)}</p>")
    content = _text(entry, "content", "\n".join(parts))
    content.set("type", "html")
    return updated, entry


def _tag(name: str) -> str:
    return f"{{{ATOM}}}{name}"


def _text(parent: ET.Element, name: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, _tag(name))
    element.text = value
    return element


def _link(parent: ET.Element, href: str, *, rel: str, kind: str) -> None:
    ET.SubElement(parent, _tag("link"), {"rel": rel, "href": href, "type": kind})


def _urn(url: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, url).urn


def _stamp(instant: datetime) -> str:
    """An RFC 3339 date-time in UTC, as Atom wants (section 3.3)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
