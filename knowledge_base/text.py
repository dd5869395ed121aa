"""Words for lexical search: metric names split, lowercased, numbers kept."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z0-9]+")
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+[A-Za-z]*")


def tokenize(text: str) -> list[str]:
    """Lowercase words, splitting snake_case and CamelCase names into their parts.

    `disk_used_percent` gives `disk used percent`; `CPUUtilization` gives `cpu utilization`;
    `HTTPCode_Target_5XX_Count` gives `http code target 5xx count`; numbers are kept.

    Args:
        text: any text: alarm descriptions, log lines, runbook prose.

    Returns:
        The words in order.
    """
    words: list[str] = []
    for word in _WORD.findall(text):
        words += [part.lower() for part in _PART.findall(word)]
    return words


def matching_lines(text: str, query: str, limit: int = 3) -> list[str]:
    """The lines of a text that share the most words with a query, in the text's order.

    Args:
        text: a chunk of a runbook.
        query: the search query.
        limit: at most this many lines.

    Returns:
        Stripped lines that share at least one word with the query.
    """
    wanted = set(tokenize(query))
    scored = []
    for position, line in enumerate(text.splitlines()):
        shared = len(wanted.intersection(tokenize(line)))
        if shared and line.strip():
            scored.append((-shared, position, line.strip()))
    best = sorted(scored)[:limit]
    return [line for _, _, line in sorted(best, key=lambda item: item[1])]
