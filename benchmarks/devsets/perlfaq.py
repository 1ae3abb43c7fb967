"""The Perl FAQ (perlfaq1-9, POD in Debian's perl-doc) as a dev set.

Each `=head2` is a question people asked; its paragraphs up to the next heading are the
answer. perlfaq4 groups its answers under `=head1` topics ("Data: Numbers"), which become `##`
headings; the other parts have none.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from devset import Answer, DevSet, FaqDocument, Section, extract_deb, neutralise_code

__all__ = ["PACKAGE", "VERSION", "build"]

PACKAGE = "perl-doc"
VERSION = "5.36.0-7+deb12u4"
POD_DIR = "usr/share/perl/5.36.0/pod"
_CODE = re.compile(r"([BCEFILSXZ])(<+)")
_SKIPPED_HEAD1 = {"NAME", "VERSION", "AUTHOR AND COPYRIGHT"}
_ESCAPES = {"lt": "<", "gt": ">", "verbar": "|", "sol": "/"}

SOURCE = """# perlfaq: the Perl FAQ

- Package: Debian `{package}` {version} (bookworm, main), files
  `/{pod_dir}/perlfaq1.pod` to `perlfaq9.pod` (perlfaq version 5.20210520).
- Licence: "This documentation is free; you can redistribute it and/or modify it under the
  same terms as Perl itself" (Artistic License 1.0 or GPL-1.0-or-later); the code examples are
  in the public domain. Copyright (c) 1997-2010 Tom Christiansen, Nathan Torkington, and other
  authors as noted (each part's "AUTHOR AND COPYRIGHT" section, left out of docs/).
- Domain: programming in Perl (data manipulation, files, regular expressions, networking, ...).
- Size: {{documents}} documents, {{entries}} FAQ entries, {{questions}} questions kept (median
  {{median_question_words:g}} words), {{corpus_bytes}} bytes of Markdown.

## Conversion

`python benchmarks/devsets/build.py perlfaq` downloads the package with `apt-get download`,
extracts it with `dpkg-deb -x` and converts the POD:

- one Markdown file per part (`perlfaq4-data-manipulation.md`), titled from its NAME line;
  perlfaq4's `=head1` topics are `##` headings; each part's DESCRIPTION is its introduction;
- every `=head2` question is removed: its answer's paragraphs follow the previous answer's;
- POD formatting becomes plain text or `code`; verbatim paragraphs become code blocks (a
  comment line `# x` is written `#x`, so edgembed's Markdown reader does not take it for a
  heading);
- where an answer cites another entry by its question ("see the answer to \\"Why is int()
  broken?\\""), the quoted question is replaced by "a related question in this FAQ";
- a question is kept when its answer has at least 15 words of prose and a paragraph of at least
  8 words to quote; its evidence is the first 20 words (40 if 20 are not unique in the file)
  of the answer's first such paragraph, skipping "(contributed by ...)" lines.
"""


def _matching_close(text: str, start: int) -> int:
    depth, index = 1, start
    while index < len(text):
        if _CODE.match(text, index) and text[index + 1] == "<":
            depth, index = depth + 1, index + 2
            continue
        if text[index] == ">":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return len(text)


def _link(content: str, markdown: bool) -> str:
    if "|" in content:
        return inline(content.split("|", 1)[0], markdown)
    if content.startswith(("http://", "https://", "ftp://")):
        return content
    page, _, section = content.partition("/")
    section = inline(section.strip('"'), markdown)
    if not section:
        return inline(page, markdown)
    return f'"{section}" in {page}' if page else f'"{section}"'


def _escape(content: str) -> str:
    if content.isdigit():
        return chr(int(content))
    return _ESCAPES.get(content) or html.unescape(f"&{content};")


def _apply(letter: str, content: str, markdown: bool) -> str:
    if letter == "C":
        code = inline(content, markdown=False).replace("`", "'")
        return f"`{code}`" if markdown and code.strip() else code
    if letter == "L":
        return _link(content, markdown)
    if letter == "E":
        return _escape(content)
    if letter in "XZ":
        return ""
    return inline(content, markdown)


def inline(text: str, markdown: bool = True) -> str:
    """POD formatting codes as Markdown (`code`) or as plain text."""
    out: list[str] = []
    index = 0
    while index < len(text):
        match = _CODE.match(text, index)
        if not match:
            out.append(text[index])
            index += 1
            continue
        letter, angles = match.group(1), len(match.group(2))
        if angles > 1:
            close = re.compile(r"\s" + ">" * angles).search(text, match.end())
            end = close.start() if close else len(text)
            content, index = text[match.end() : end].strip(), close.end() if close else end
        else:
            end = _matching_close(text, match.end())
            content, index = text[match.end() : end], end + 1
        out.append(_apply(letter, content, markdown))
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _paragraphs(pod: str) -> list[str]:
    return [p.strip("\n") for p in re.split(r"\n(?:[ \t]*\n)+", pod) if p.strip()]


def _code_block(lines: list[str]) -> str:
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    body = [neutralise_code(line[indent:].rstrip()) for line in lines]
    return "```\n" + "\n".join(body).strip("\n") + "\n```"


class _PodReader:
    """Walks one perlfaq part's paragraphs into a FaqDocument."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.title = name
        self.intro: list[str] = []
        self.sections: list[Section] = [Section("")]
        self.answer: Answer | None = None
        self.head1 = ""
        self.code: list[str] = []
        self.bullet = ""

    def _add(self, block: str) -> None:
        if self.head1 in _SKIPPED_HEAD1 and self.head1 != "NAME":
            return
        if self.head1 == "NAME":
            name, _, subject = block.partition(" - ")
            self.title = f"Perl FAQ {name.strip()[-1]}: {subject.strip()}"
        elif self.answer is not None:
            self.answer.blocks.append(block)
        else:
            self.intro.append(block)

    def _flush_code(self) -> None:
        if self.code:
            self._add(_code_block(self.code))
            self.code = []

    def _command(self, paragraph: str) -> None:
        command, _, rest = paragraph.partition(" ")
        rest = rest.strip()
        if command == "=head1":
            self.head1, self.answer = rest, None
            if rest not in _SKIPPED_HEAD1 and rest != "DESCRIPTION":
                self.sections.append(Section(inline(rest, markdown=False)))
        elif command == "=head2":
            self.answer = Answer(inline(rest, markdown=False), [])
            self.sections[-1].answers.append(self.answer)
        elif command == "=item":
            if rest == "*" or rest.rstrip(".").isdigit():
                self.bullet = "- " if rest == "*" else f"{rest.rstrip('.')}. "
            else:
                self._add("- " + inline(rest.lstrip("* ")))

    def read(self, pod: str) -> FaqDocument:
        for paragraph in _paragraphs(pod):
            if paragraph[0] in " \t":
                self.code += [*paragraph.split("\n"), ""]
                continue
            self._flush_code()
            if paragraph.startswith("="):
                self._command(paragraph.replace("\n", " "))
            else:
                block, self.bullet = self.bullet + inline(paragraph), ""
                self._add(neutralise_code(block))
        self._flush_code()
        subject = self.title.partition(": ")[2].lower()
        slug = re.sub(r"[^a-z0-9]+", "-", subject).strip("-")
        sections = [s for s in self.sections if s.answers]
        return FaqDocument(f"{self.name}-{slug}.md", self.title, self.intro, sections)


def build(cache: Path) -> DevSet:
    """Download perl-doc and read perlfaq1-9 into a DevSet."""
    root = extract_deb(PACKAGE, VERSION, cache) / POD_DIR
    documents = [
        _PodReader(f"perlfaq{part}").read((root / f"perlfaq{part}.pod").read_text("utf-8"))
        for part in range(1, 10)
    ]
    notes = SOURCE.format(package=PACKAGE, version=VERSION, pod_dir=POD_DIR)
    return DevSet("perlfaq", documents, notes)
