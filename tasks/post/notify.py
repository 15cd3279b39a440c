"""Notifications through Apprise: the day's message, cut to each service's limit, and sending.

Apprise speaks to each service from one URL that holds its tokens or password. Such a URL is
read from the settings where it is used, is known to the record only by a hash of it, and is
shown only in Apprise's redacted form (`url(privacy=True)`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import date

import apprise
from apprise import NotifyFormat

from tasks.errors import ConfigError, DigestError, TransientError

# Apprise's own lines can name a service's URL with its token (its debug lines show the POST
# URL): they never reach the process's handlers, only the capture that `deliver` redacts.
logging.getLogger("apprise").propagate = False

TRANSIENT = re.compile(r"\b(429|50[0-9])\b|timed? ?out|connection|temporar", re.IGNORECASE)


class DeliveryError(DigestError):
    """A channel refused the day's message; the reason is Apprise's, with secrets masked."""


class TransientDeliveryError(TransientError):
    """A channel failed in a way a retry may cure: 429, 5xx, a timeout, a lost connection."""


@dataclass(frozen=True)
class Item:
    """One paper as a message lists it."""

    title: str
    one_line: str
    link: str


@dataclass(frozen=True)
class Digest:
    """What a message says about one topic's day."""

    topic: str
    day: date
    items: tuple[Item, ...]
    post_url: str = ""
    note: str = ""

    @property
    def title(self) -> str:
        count = f"{len(self.items)} paper" + ("" if len(self.items) == 1 else "s")
        return f"{self.topic}: arXiv batch of {self.day:%a} {self.day}, {count}"


@dataclass(frozen=True)
class Channel:
    """One Apprise URL: its position in the list, a hash to record it by, its redacted form."""

    index: int
    fingerprint: str
    shown: str
    service: str


def fingerprint(url: str) -> str:
    """Return the hash the record knows a channel by (never the URL, which holds secrets)."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def plugin_for(url: str, index: int) -> apprise.plugins.NotifyBase:
    """Return Apprise's service for `url`, the `index`th (from 1) of the notify URLs."""
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise ConfigError(
            f"notify URL number {index} is not an Apprise URL that Apprise can read; check its "
            "scheme and fields against https://github.com/caronc/apprise/wiki"
        )
    return plugin


def channel(url: str, index: int) -> Channel:
    """Return what may be shown and recorded of the `index`th notify URL."""
    plugin = plugin_for(url, index)
    return Channel(index, fingerprint(url), plugin.url(privacy=True), str(plugin.service_name))


def post_url(site_url: str, url_format: str, day: date, name: str) -> str:
    """Return the post's address under `site_url` (Hexo's `:year/:month/:day/:title/`)."""
    if not site_url:
        return ""
    path = url_format.format(year=f"{day:%Y}", month=f"{day:%m}", day=f"{day:%d}", name=name)
    return site_url.rstrip("/") + "/" + path.lstrip("/")


def _line(item: Item, markdown: bool) -> str:
    if markdown:
        title = re.sub(r"([\\`*_\[\]])", r"\\\1", item.title)
        return f"- [{title}]({item.link}): {item.one_line}".rstrip(": ")
    return f"- {item.title}: {item.one_line}\n  {item.link}".replace(": \n", "\n")


def body(digest: Digest, markdown: bool, limit: int) -> str:
    """Return the message body, its list cut with "and N more" to stay within `limit`."""
    head = [digest.note] if digest.note else []
    if digest.post_url:
        link = f"<{digest.post_url}>" if markdown else digest.post_url
        head.append(f"The post: {link}")
    lines = [_line(item, markdown) for item in digest.items]
    for shown in range(len(lines), -1, -1):
        more = len(lines) - shown
        tail = [f"… and {more} more" + (" in the post" if digest.post_url else "")] if more else []
        text = "\n\n".join(filter(None, ["\n".join(head), "\n".join(lines[:shown] + tail)]))
        if len(text) <= limit:
            return text
    return text[:limit]


def _limit(plugin: apprise.plugins.NotifyBase, title: str) -> int:
    """Return the characters the body may use, the title included where the service joins them."""
    if plugin.title_maxlen <= 0:
        return plugin.body_maxlen - len(title) - 4
    return plugin.body_maxlen


def redact(text: str, url: str, shown: str) -> str:
    """Return `text` without the parts of `url` that its redacted form `shown` hides."""
    for part in sorted(set(re.split(r"[/:@?&=,#]+", url)), key=len, reverse=True):
        if len(part) >= 4 and part not in shown:
            text = text.replace(part, "****")
    return text


def deliver(url: str, index: int, digest: Digest) -> None:
    """Send `digest` to one channel; raise DeliveryError with Apprise's reason if refused.

    Markdown goes to services that render it (or HTML: Apprise converts), plain text to the
    others.
    """
    plugin = plugin_for(url, index)
    markdown = plugin.resolve_format(NotifyFormat.MARKDOWN) in (
        NotifyFormat.MARKDOWN,
        NotifyFormat.HTML,
    )
    text = body(digest, markdown, _limit(plugin, digest.title))
    fmt = NotifyFormat.MARKDOWN if markdown else NotifyFormat.TEXT
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        sent = plugin.notify(body=text, title=digest.title, body_format=fmt)
    if sent:
        return
    said = " ".join(captured.getvalue().split()) or "Apprise gave no reason"
    reason = redact(said, url, plugin.url(privacy=True))
    error = TransientDeliveryError if TRANSIENT.search(reason) else DeliveryError
    raise error(f"{plugin.service_name} refused the message: {reason}")
