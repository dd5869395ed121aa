"""Untrusted text in Slack mrkdwn: escaped so it cannot mention anyone or forge a link, and
cut to Block Kit's limits."""

from __future__ import annotations

import re

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def escape(text: str, limit: int) -> str:
    """Escape untrusted text for mrkdwn (`&`, `<`, `>`) and cut the result to `limit`."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return clip(escaped, limit)


def clip(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters with an ellipsis, never inside an `&…;` entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def one_line(text: str) -> str:
    """Whitespace, newlines included, folded to single spaces."""
    return " ".join(text.split())


def quoted(lines: list[str], limit: int) -> str:
    """Lines from logs or the account as a mrkdwn quote, escaped, each on one line."""
    return "\n".join(f"> {escape(one_line(line), limit)}" for line in lines)


def mention(user: str) -> str:
    """A Slack mention for a user id; anything else (a CLI name) as escaped text."""
    return f"<@{user}>" if _USER_ID.fullmatch(user) else escape(user, 60)
