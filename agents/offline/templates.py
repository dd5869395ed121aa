"""Log template mining: collapse variable parts so repeated errors count as one signal."""

from __future__ import annotations

import re
from collections import Counter

_VARIABLE = [
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ][\d:.,]+Z?\b"), "<time>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"\bi-[0-9a-f]{8,17}\b"), "<instance>"),
    (re.compile(r"(?:/[\w.@-]+){2,}"), "<path>"),
    (re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{8,}\b", re.IGNORECASE), "<hex>"),
    (re.compile(r"\b\d+(?:\.\d+)?(?:ms|s|%|MB|GB|KB)?\b"), "<num>"),
]
SIGNAL_WORDS = (
    "error",
    "fatal",
    "critical",
    "exception",
    "fail",
    "panic",
    "warn",
    "denied",
    "refused",
)


def template(message: str) -> str:
    """The message with numbers, ids, paths and addresses replaced by placeholders."""
    for pattern, placeholder in _VARIABLE:
        message = pattern.sub(placeholder, message)
    return " ".join(message.split())


def is_signal(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in SIGNAL_WORDS)


def top_templates(messages: list[str], limit: int = 8) -> list[tuple[str, int]]:
    """The most frequent templates among signal lines (errors, warnings), most frequent first."""
    counts = Counter(template(m) for m in messages if is_signal(m))
    return counts.most_common(limit)
