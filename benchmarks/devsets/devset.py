"""What every dev set builder shares: the FAQ model, package download, and writing a set.

A builder parses one FAQ into `FaqDocument`s; `write_devset` turns them into the folder that
edgembed reads: `docs/*.md` holding the answers under non-question headings, `questions.jsonl`
holding each question with a verbatim excerpt from the start of its answer, and `SOURCE.md`.
The question headings are left out of the documents (and any place an answer quotes another
question is reworded), or the set would measure string matching instead of retrieval.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Answer",
    "DevSet",
    "FaqDocument",
    "Section",
    "extract_deb",
    "write_devset",
]

MIN_ANSWER_WORDS = 15
_EVIDENCE_WORDS = (8, 20, 40)  # fewest words, usual length, most words when not unique
_WS = re.compile(r"\s+")
_MD_INLINE = re.compile(r"(\*\*|__|`)")  # what edgembed's Markdown loader strips
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_MD_HEADING_LIKE = re.compile(r"^(\s*)(#{1,6})\s")
_ATTRIBUTION = re.compile(r"^\(?(contributed|written|updated) by\b", re.IGNORECASE)
_CROSS_REFERENCE = "a related question in this FAQ"


@dataclass
class Answer:
    """One FAQ entry: the question people asked and the blocks that answer it.

    Blocks are Markdown paragraphs; a block starting with ``` is a code block.
    """

    question: str
    blocks: list[str]


@dataclass
class Section:
    """A group of answers under one `##` heading (an empty heading means none)."""

    heading: str
    answers: list[Answer] = field(default_factory=list)


@dataclass
class FaqDocument:
    """One file of the corpus."""

    file_name: str
    title: str
    intro: list[str]
    sections: list[Section]


@dataclass
class DevSet:
    """A whole set, with what SOURCE.md says about where it came from."""

    name: str
    documents: list[FaqDocument]
    source_notes: str


def extract_deb(package: str, version: str, cache: Path) -> Path:
    """Download one Debian package (without installing it) and extract it under `cache`.

    Returns:
        The folder the package's files were extracted into.
    """
    target = cache / f"{package}_{version}"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=cache, check=True)
    debs = sorted(cache.glob(f"{package}_*.deb"))
    if not debs:
        raise FileNotFoundError(f"apt-get download left no {package}_*.deb in {cache}")
    subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(target)], check=True)
    return target


def normalise(text: str) -> str:
    """Whitespace-collapsed, lower-case: how edgembed matches evidence against chunks."""
    return _WS.sub(" ", text).strip().lower()


def plain(block: str) -> str:
    """A Markdown block as edgembed's loader will read it."""
    return _MD_INLINE.sub("", _MD_LINK.sub(r"\1", block))


def neutralise_code(line: str) -> str:
    """A code line that would read as a Markdown heading once stripped ("# comment").

    edgembed's Markdown loader does not know code fences, so `# note` inside one would become
    a heading; dropping the space after the hashes keeps the comment and loses the heading.
    """
    return _MD_HEADING_LIKE.sub(r"\1\2", line)


def _prose_words(answer: Answer) -> int:
    return sum(len(plain(b).split()) for b in answer.blocks if not b.startswith("```"))


def _evidence_block(answer: Answer) -> str | None:
    for block in answer.blocks:
        text = _WS.sub(" ", plain(block)).strip()
        if block.startswith(("```", "- ")) or _ATTRIBUTION.match(text):
            continue
        if len(text.split()) >= _EVIDENCE_WORDS[0]:
            return text
    return None


def _evidence(answer: Answer, document_text: str) -> str | None:
    """The first words of the answer's first prose paragraph, long enough to be unique."""
    block = _evidence_block(answer)
    if block is None:
        return None
    words = block.split()
    fewest, usual, most = _EVIDENCE_WORDS
    for size in (min(usual, len(words)), min(most, len(words))):
        excerpt = " ".join(words[:size])
        if size >= fewest and document_text.count(normalise(excerpt)) == 1:
            return excerpt
    return None


def _question_pattern(question: str) -> re.Pattern[str]:
    core = question.strip().rstrip("?.!:").strip()
    words = [re.escape(w) for w in core.split()]
    # the answer may set a word of the question in code (`int()`) where the question has none
    return re.compile(r"\"?`?" + r"`?\s+`?".join(words) + r"`?\??\"?", re.IGNORECASE)


def _remove_question_quotes(blocks: list[str], patterns: list[re.Pattern[str]]) -> list[str]:
    """Answers that cite another entry by its question: the citation, reworded."""
    out = []
    for block in blocks:
        if not block.startswith("```"):
            for pattern in patterns:
                block = pattern.sub(_CROSS_REFERENCE, block)
        out.append(block)
    return out


def _render(document: FaqDocument) -> str:
    lines = [f"# {document.title}", ""]
    for block in document.intro:
        lines += [block, ""]
    for section in document.sections:
        if section.heading:
            lines += [f"## {section.heading}", ""]
        for answer in section.answers:
            for block in answer.blocks:
                lines += [block, ""]
    return "\n".join(lines).rstrip() + "\n"


def _keep(answer: Answer) -> bool:
    return _prose_words(answer) >= MIN_ANSWER_WORDS and _evidence_block(answer) is not None


def write_devset(devset: DevSet, folder: Path) -> dict[str, float]:
    """Write docs/, questions.jsonl and SOURCE.md for one set; return its counts.

    Raises:
        ValueError: a question still appears verbatim in the corpus.
    """
    answers = [a for d in devset.documents for s in d.sections for a in s.answers]
    patterns = [_question_pattern(a.question) for a in answers if len(a.question.split()) >= 3]
    for answer in answers:
        answer.blocks = _remove_question_quotes(answer.blocks, patterns)
    for document in devset.documents:
        document.intro = _remove_question_quotes(document.intro, patterns)
    docs = folder / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for old in docs.glob("*.md"):
        old.unlink()
    rows: list[dict[str, str]] = []
    corpus = []
    for document in devset.documents:
        text = _render(document)
        (docs / document.file_name).write_text(text, encoding="utf-8")
        flat = normalise(plain(text))
        corpus.append(flat)
        for section in document.sections:
            for answer in section.answers:
                evidence = _evidence(answer, flat) if _keep(answer) else None
                if evidence:
                    rows.append(
                        {
                            "question": answer.question,
                            "doc": document.file_name,
                            "evidence": evidence,
                        }
                    )
    _check_no_leak(rows, " ".join(corpus))
    with (folder / "questions.jsonl").open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts = {
        "documents": len(devset.documents),
        "entries": len(answers),
        "questions": len(rows),
        "median_question_words": statistics.median(len(r["question"].split()) for r in rows),
        "corpus_bytes": sum(f.stat().st_size for f in docs.glob("*.md")),
    }
    (folder / "SOURCE.md").write_text(devset.source_notes.format(**counts), encoding="utf-8")
    return counts


def _check_no_leak(rows: list[dict[str, str]], corpus: str) -> None:
    for row in rows:
        core = normalise(row["question"]).rstrip("?.!: ")
        if len(core.split()) >= 3 and core in corpus:
            raise ValueError(f"question appears verbatim in the corpus: {row['question']!r}")
