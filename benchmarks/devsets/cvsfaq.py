"""The CVS FAQ (plain text in Debian's cvs package) as a dev set.

The file is the FAQ-O-Matic export: "Category: /Top/Sub/" lines with a quoted title, then
numbered questions ("    4. How do I ...?", possibly wrapped), each answered up to its
"Last modified:" line. Each top category becomes a file, each sub-category a `##` heading.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from devset import Answer, DevSet, FaqDocument, Section, extract_deb, neutralise_code

__all__ = ["PACKAGE", "VERSION", "build"]

PACKAGE = "cvs"
VERSION = "2:1.12.13+real-28+deb12u1"
FAQ_FILE = "usr/share/doc/cvs/FAQ.gz"
_CATEGORY = re.compile(r"^\s*Category: /([^/]+)_/(?:([^/]+)/)?\s*$")
_QUESTION = re.compile(r"^    \d+\. (.*)$")
_END = re.compile(r"^\s*Last modified:")
_CODE_INDENT = 4  # lines this much deeper than the answer's text are an example
# Top categories and sub-categories whose titles are themselves questions get plain names.
_TOP_TITLES = {
    "Advanced_Topics": "Advanced Topics",
    "Commands": "Commands",
    "Past__Future": "Past and Future",
    "User_Tasks": "User Tasks",
    "What_is_CVS": "About CVS",
}
_SUB_TITLES = {
    "How does CVS differ from other, similar software?": "Comparisons with other software",
    "What do you mean by . . .? (Definitions)": "Definitions",
    "What is CVS? What's it for? Why CVS?": "Overview",
    "Where do I find CVS? Where can I find Help?": "Getting CVS and finding help",
}

SOURCE = """# cvsfaq: the CVS FAQ

- Package: Debian `{package}` {version} (bookworm, main), file `/{faq_file}`: the CVS FAQ
  begun by David Grubbs (1995) and continued on Pascal Molli's FAQ-O-Matic (1997-2004).
- Licence: GNU General Public License. The file's own header: "CVS is Copyright (C)
  1989-2005 The Free Software Foundation, Inc. CVS is free software; you can redistribute it
  and/or modify it under the terms of the GNU General Public License as published by the Free
  Software Foundation; either version 1, or (at your option) any later version." Debian's
  `/usr/share/doc/cvs/copyright` gives the package as GPL-2.0-or-later.
- Domain: version control with CVS (branching and merging, repository administration,
  commands, error messages).
- Size: {{documents}} documents, {{entries}} FAQ entries, {{questions}} questions kept (median
  {{median_question_words:g}} words), {{corpus_bytes}} bytes of Markdown.

## Conversion

`python benchmarks/devsets/build.py cvsfaq` downloads the package with `apt-get download`,
extracts it with `dpkg-deb -x` and converts the text:

- one Markdown file per top category (`branching` questions are in `advanced-topics.md`), one
  `##` heading per sub-category; titles that are questions themselves ("What is CVS? What's it
  for? Why CVS?") get plain names ("Overview"); the FAQ-O-Matic's own entries (category "/")
  are left out;
- every numbered question is removed, and so are the "Last modified" lines; the answer's
  paragraphs are kept, lines indented deeper than its text become code blocks;
- where an answer quotes another entry's question, the quote is replaced by "a related
  question in this FAQ";
- a question is kept when its answer has at least 15 words of prose and a paragraph of at least
  8 words to quote ("See 4C.8" stubs are dropped); its evidence is the first 20 words (40 if 20
  are not unique in the file) of that paragraph.
"""


def _sub_title(raw: str) -> str:
    title = raw.strip().strip('"').strip().removeprefix("+ ").strip()
    if title.startswith('"'):  # a command and its aliases: "add", "ad", "new"
        names = [name.strip('" ') for name in title.split(",")]
        return f"The {names[0]} command ({', '.join(names)})"
    return _SUB_TITLES.get(title, title)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _answer_blocks(lines: list[str]) -> list[str]:
    """Paragraphs of an answer; those indented deeper than its text are code."""
    text = [line.rstrip() for line in lines]
    base = min((_indent(line) for line in text if line.strip()), default=0)
    blocks: list[str] = []
    paragraph: list[str] = []
    for line in [*text, ""]:
        if line.strip():
            paragraph.append(line)
            continue
        if paragraph and all(_indent(p) >= base + _CODE_INDENT for p in paragraph):
            code = [neutralise_code(p[base + _CODE_INDENT :]) for p in paragraph]
            blocks.append("```\n" + "\n".join(code) + "\n```")
        elif paragraph:
            blocks.append(neutralise_code(" ".join(p.strip() for p in paragraph)))
        paragraph = []
    return blocks


def _read(text: str) -> list[FaqDocument]:
    documents: dict[str, FaqDocument] = {}
    section: Section | None = None
    question: list[str] | None = None
    answer: list[str] | None = None
    lines = text.splitlines()
    for index, line in enumerate(lines):
        category = _CATEGORY.match(line)
        if category and category.group(1) in _TOP_TITLES:
            top = _TOP_TITLES[category.group(1)]
            slug = re.sub(r"[^a-z0-9]+", "-", top.lower()).strip("-")
            document = documents.setdefault(top, FaqDocument(f"{slug}.md", f"CVS: {top}", [], []))
            if category.group(2):
                section = Section(_sub_title(lines[index + 2]))
                document.sections.append(section)
            question = answer = None
        elif section is None:
            continue
        elif question is None and answer is None and _QUESTION.match(line):
            question = [_QUESTION.match(line).group(1).strip()]  # type: ignore[union-attr]
        elif question is not None and answer is None:
            if line.strip():
                question.append(line.strip())
            else:
                answer = []
        elif answer is not None and _END.match(line):
            section.answers.append(Answer(" ".join(question or []), _answer_blocks(answer)))
            question = answer = None
        elif answer is not None:
            answer.append(line)
    return list(documents.values())


def build(cache: Path) -> DevSet:
    """Download cvs and read its FAQ into a DevSet."""
    path = extract_deb(PACKAGE, VERSION, cache) / FAQ_FILE
    documents = _read(gzip.decompress(path.read_bytes()).decode("latin-1"))
    notes = SOURCE.format(package=PACKAGE, version=VERSION, faq_file=FAQ_FILE)
    return DevSet("cvsfaq", documents, notes)
