"""Drafts of a stakeholder update, the incident summary and the postmortem
summary, written from the incident and its timeline.

The template draft is always made, on this machine. When an administrator
configures an OpenAI-compatible endpoint (`TOCSIN_AI_DRAFT_URL`, off by
default), it is asked to write the draft instead, from only the fields the
administrator allows (`TOCSIN_AI_DRAFT_FIELDS`); any timeout, refusal or
malformed answer falls back to the template draft, saying why. Drafts are
never sent by themselves: people edit and post them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from tocsin import outbound
from tocsin.config import Settings

log = logging.getLogger(__name__)

KINDS = ("update", "summary", "postmortem")
# The fields the endpoint may be sent; `timeline` and `description` are the
# ones most likely to hold customer data, so they are opt-in.
DRAFT_FIELDS = (
    "title",
    "severity",
    "status",
    "stage",
    "service",
    "description",
    "timeline",
)
MAX_TIMELINE = 40
MAX_ANSWER = 20_000
# The most of an endpoint's answer read: the draft's text and the JSON around it.
MAX_BODY = 1_000_000


@dataclass(frozen=True)
class IncidentStory:
    """What a draft is written from."""

    number: int
    title: str
    severity: str
    status: str
    stage: str
    service: str
    description: str
    timeline: Sequence[str]


@dataclass(frozen=True)
class Draft:
    kind: str
    text: str
    # template | endpoint
    source: str
    # Why the endpoint's draft was not used, when it was asked.
    fallback_reason: str = ""


class DraftError(Exception):
    """The endpoint gave no usable draft."""


def template_draft(kind: str, story: IncidentStory) -> str:
    """The draft Tocsin writes itself."""
    recent = list(story.timeline[-5:])
    if kind == "update":
        lines = [
            f"Update on incident #{story.number}: {story.title}",
            "",
            f"Status: {story.stage or story.status}. Severity: {story.severity}. "
            f"Service: {story.service}.",
        ]
        if recent:
            lines += ["", "Latest:", *(f"- {line}" for line in recent)]
        lines += ["", "We will send the next update when we know more."]
        return "\n".join(lines)

    if kind == "summary":
        lines = [
            f"Incident #{story.number} ({story.severity}, {story.status}) on "
            f"{story.service}: {story.title}",
        ]
        if story.description:
            lines += ["", story.description]
        lines += ["", "Timeline:", *(f"- {line}" for line in story.timeline)]
        return "\n".join(lines)

    lines = [
        f"Postmortem summary: #{story.number} {story.title}",
        "",
        f"Impact: {story.severity} on {story.service}.",
        "",
        "What happened:",
        *(f"- {line}" for line in story.timeline),
        "",
        "Root cause: (to be written)",
        "Action items: (to be written)",
    ]
    return "\n".join(lines)


def allowed_facts(story: IncidentStory, allowed: Sequence[str]) -> dict[str, object]:
    """Only the fields the administrator lets leave; the number never does."""
    facts: dict[str, object] = {
        "title": story.title,
        "severity": story.severity,
        "status": story.status,
        "stage": story.stage,
        "service": story.service,
        "description": story.description,
        "timeline": list(story.timeline[-MAX_TIMELINE:]),
    }
    return {name: facts[name] for name in DRAFT_FIELDS if name in allowed}


_ASK = {
    "update": "a short, calm stakeholder update",
    "summary": "a factual incident summary",
    "postmortem": "a blameless postmortem summary",
}


def endpoint_draft(settings: Settings, kind: str, facts: Mapping[str, object]) -> str:
    """The endpoint's draft; raises DraftError on a timeout, an error status,
    a refused host or an answer without text."""
    lines = "\n".join(f"{name}: {value}" for name, value in facts.items())
    body = {
        "model": settings.ai_draft_model,
        "temperature": 0.2,
        "messages": [
            {
                "role": "system",
                "content": "You write incident communications. Use only the "
                "facts given; do not invent causes.",
            },
            {"role": "user", "content": f"Write {_ASK[kind]} from:\n{lines}"},
        ],
    }
    headers = {}
    if settings.ai_draft_api_key:
        headers["Authorization"] = f"Bearer {settings.ai_draft_api_key}"
    url = settings.ai_draft_url.rstrip("/") + "/chat/completions"

    try:
        with (
            outbound.guarded_client(
                settings, timeout=settings.ai_draft_timeout, headers=headers
            ) as client,
            client.stream("POST", url, json=body) as response,
        ):
            status = response.status_code
            answer = outbound.read_capped(response, MAX_BODY)
    except outbound.AnswerTooLarge as error:
        raise DraftError("the draft endpoint's answer is too large") from error
    except httpx.TimeoutException as error:
        # The guarded client bounds the whole request, answer included, so an
        # endpoint sending a byte at a time cannot stretch it.
        timeout = settings.ai_draft_timeout
        message = f"the draft endpoint failed: it took longer than {timeout:g} s"
        raise DraftError(message) from error
    except (httpx.HTTPError, outbound.OutboundRefused) as error:
        raise DraftError(f"the draft endpoint failed: {error}") from error
    if status != 200:
        raise DraftError(f"the draft endpoint answered {status}")

    try:
        text = json.loads(answer)["choices"][0]["message"]["content"]
    # RecursionError: JSON nested deeper than Python's decoder goes.
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as error:
        raise DraftError("the draft endpoint's answer has no text") from error
    if not isinstance(text, str) or not text.strip():
        raise DraftError("the draft endpoint's answer has no text")
    return text.strip()[:MAX_ANSWER]


def draft(settings: Settings, kind: str, story: IncidentStory) -> Draft:
    """The endpoint's draft when one is configured and answers well, else the
    template draft."""
    template = template_draft(kind, story)
    if not settings.ai_draft_url:
        return Draft(kind, template, "template")

    facts = allowed_facts(story, settings.ai_draft_fields)
    try:
        return Draft(kind, endpoint_draft(settings, kind, facts), "endpoint")
    except DraftError as error:
        log.warning("draft endpoint not used: %s", error)
        return Draft(kind, template, "template", fallback_reason=str(error))
