"""What the HTTP channels share: a guarded client, and failures as DeliveryError.

Every request goes through tocsin.outbound, so a Slack, Teams, webhook or Twilio
address can only reach hosts the settings allow.
"""

from __future__ import annotations

from typing import Any

import httpx

from tocsin.channels.base import DeliveryError
from tocsin.config import Settings
from tocsin.outbound import (
    AnswerTooLarge,
    OutboundRefused,
    guarded_client,
    read_capped,
)

# Enough of an error reply to explain it on the timeline, not a whole page.
_SHOWN = 300

# The most of an answer read, unpacked. Providers answer with a little JSON; a
# webhook receiver is whoever typed the URL, and could answer without end.
LARGEST_ANSWER = 1_000_000


class HttpSender:
    """One guarded client per channel, reused between messages."""

    def __init__(self, settings: Settings, provider: str) -> None:
        self.provider = provider
        self.client = guarded_client(settings)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST and return a 2xx response; anything else raises DeliveryError
        with the provider's own words, so the timeline says what went wrong."""
        try:
            response = self._post(url, **kwargs)
        except OutboundRefused as refused:
            raise DeliveryError(f"{self.provider}: {refused.detail}") from refused
        except httpx.TimeoutException as error:
            raise DeliveryError(
                f"{self.provider}: {type(error).__name__}: {error}", timed_out=True
            ) from error
        except httpx.HTTPError as error:
            raise DeliveryError(
                f"{self.provider}: {type(error).__name__}: {error}"
            ) from error

        if not response.is_success:
            text = " ".join(response.text.split())[:_SHOWN]
            raise DeliveryError(
                f"{self.provider} answered {response.status_code}: {text}"
            )
        return response

    def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST and read at most LARGEST_ANSWER bytes of the answer."""
        with self.client.stream("POST", url, **kwargs) as streamed:
            try:
                body = read_capped(streamed, LARGEST_ANSWER)
            except AnswerTooLarge as error:
                raise DeliveryError(f"{self.provider} answered {error}") from error
        # Decoded already: the copy must not claim to be gzip any more.
        headers = {
            name: value
            for name, value in streamed.headers.items()
            if name not in ("content-encoding", "content-length")
        }
        return httpx.Response(
            streamed.status_code,
            headers=headers,
            content=body,
            request=streamed.request,
        )

    def close(self) -> None:
        self.client.close()
