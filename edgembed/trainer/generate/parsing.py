"""Getting a list of questions out of whatever an LLM answered.

Small models wrap JSON in code fences, rename keys, return one object per question, fall back
to numbered or bulleted lists, add chatter before and after, or refuse. `parse_items` accepts
all of these and says which case it met; the filters judge each item afterwards.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ParsedItems", "parse_items"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_LIST_ITEM = re.compile(
    r"^\s*(?:(?:Q(?:uestion)?|Paraphrase)\s*\d*\s*[:.)-]|\(?\d{1,2}[.):]|[-*•+])\s*(.+)$",
    re.IGNORECASE,
)
_ANSWER_TAIL = re.compile(r"\s+(?:A|Answer)\s*[:.-]\s.*$", re.IGNORECASE)
_REFUSAL = re.compile(
    r"\b(I'?m sorry|I am sorry|I apologi[sz]e|I can(?:no|')t|I am unable|I'm unable|"
    r"as an AI|I (?:won't|will not) )",
    re.IGNORECASE,
)
_TEXT_KEYS = ("question", "query", "paraphrase", "text", "q")
# A complete JSON string holding a question, inside JSON cut short by the token limit.
_QUOTED_QUESTION = re.compile(r'"((?:[^"\\\n]|\\.){8,}?\?)"')


@dataclass(frozen=True)
class ParsedItems:
    """What `parse_items` found.

    Attributes:
        items: the strings found, cleaned, in order.
        status: ``ok``; ``refusal`` when the model declined; ``unparseable`` when nothing
            list-like was found.
    """

    items: tuple[str, ...]
    status: Literal["ok", "refusal", "unparseable"]


def parse_items(text: str, key: str) -> ParsedItems:
    """Extract a list of strings from an LLM answer.

    Args:
        text: the raw answer.
        key: the JSON key the prompt asked for (``questions``, ``paraphrases``).
    """
    items = _from_json(text, key) or _from_truncated_json(text) or _from_lines(text)
    cleaned = tuple(c for c in (_clean(item) for item in items) if c)
    if cleaned:
        return ParsedItems(cleaned, "ok")
    status: Literal["refusal", "unparseable"] = (
        "refusal" if _REFUSAL.search(text) else "unparseable"
    )
    return ParsedItems((), status)


def _json_candidates(text: str) -> list[str]:
    """The whole text, each fenced block, and the outermost {...} or [...] span."""
    candidates = [text.strip(), *(block.strip() for block in _FENCE.findall(text))]
    for opener, closer in ("{}", "[]"):
        start, end = text.find(opener), text.rfind(closer)
        if 0 <= start < end:
            candidates.append(text[start : end + 1])
    return candidates


def _from_json(text: str, key: str) -> list[str]:
    for candidate in _json_candidates(text):
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        items = _strings(data, key)
        if items:
            return items
    return []


def _from_truncated_json(text: str) -> list[str]:
    """The complete question strings of JSON that was cut off before its end."""
    if not text.lstrip().startswith(("{", "[", "```")):
        return []
    return [json.loads(f'"{item}"') for item in _QUOTED_QUESTION.findall(text)]


def _strings(data: Any, key: str) -> list[str]:
    """Strings out of the JSON shapes models produce for "a list of questions"."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, list):
        return [s for element in data for s in _strings_of_element(element)]
    if not isinstance(data, dict):
        return []
    for name in (key, key.rstrip("s"), "questions", "queries", "paraphrases", "items"):
        if name in data:
            return _strings(data[name], key)
    lists = [value for value in data.values() if isinstance(value, list)]
    if lists:
        return _strings(lists[0], key)
    # {"1": "...", "2": "..."} or {"question1": "...", ...}
    return [value for value in data.values() if isinstance(value, str)]


def _strings_of_element(element: Any) -> list[str]:
    if isinstance(element, str):
        return [element]
    if isinstance(element, dict):
        for name in _TEXT_KEYS:
            if isinstance(element.get(name), str):
                return [element[name]]
        texts = [value for value in element.values() if isinstance(value, str)]
        return texts[:1]
    return []


def _from_lines(text: str) -> list[str]:
    """Numbered or bulleted items; failing that, lines that are questions."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    marked = [m.group(1) for m in map(_LIST_ITEM.match, lines) if m]
    if marked:
        return marked
    return [line for line in lines if line.endswith("?")]


def _clean(item: str) -> str:
    """Strip quotes, markdown emphasis, list punctuation and an appended answer."""
    text = " ".join(item.split())
    text = _ANSWER_TAIL.sub("", text)
    text = re.sub(r"^(?:Q(?:uestion)?\s*\d*\s*[:.)-])\s*", "", text, flags=re.IGNORECASE)
    text = text.replace("**", "").replace("__", "")
    text = text.strip().strip("\"'`“”‘’").strip()
    return text.rstrip(",;").strip()
