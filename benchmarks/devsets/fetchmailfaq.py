"""The fetchmail FAQ (HTML in Debian's fetchmail package) as a dev set.

After the contents, each `<h1>` is a chapter ("Runtime fatal errors") and each `<h2>` an entry
("R5. What does 'Cannot open /dev/ptmx' mean?"); its answer runs to the next heading of
either level. Chapters become files; the answers follow one another under the chapter title.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from devset import Answer, DevSet, FaqDocument, Section, extract_deb, neutralise_code

__all__ = ["PACKAGE", "VERSION", "build"]

PACKAGE = "fetchmail"
VERSION = "6.4.37-1"
FAQ_FILE = "usr/share/doc/fetchmail/fetchmail-FAQ.html"
_CHAPTER = re.compile(r"^<h1[^>]*>(.*?)</h1>", re.DOTALL | re.MULTILINE)
_ENTRY = re.compile(r"<h2[^>]*>(.*?)</h2>", re.DOTALL)
_ENTRY_CODE = re.compile(r"^[A-Z]\d+\.\s*")
_BLOCKS = {"p", "pre", "li", "dt", "dd", "blockquote", "h3", "h4", "tr", "ul", "ol", "dl"}
_CODE_TAGS = {"code", "tt", "kbd", "samp"}
_FIRST_CHAPTER = "General problems"

SOURCE = """# fetchmailfaq: the fetchmail FAQ

- Package: Debian `{package}` {version} (bookworm, main), file `/{faq_file}`
  (by Eric S. Raymond and Matthias Andree).
- Licence: GPL-2.0-or-later with an exception for linking OpenSSL: the package's
  `/usr/share/doc/fetchmail/copyright` puts every file not listed otherwise (the FAQ among
  them) under it; the FAQ itself says "Fetchmail is licensed under the GNU General Public
  License v2". Copyright 1993-2021 Carl E. Harris, Eric S. Raymond, Matthias Andree and others.
- Domain: retrieving e-mail over POP3/IMAP and handing it to an MTA (configuration, servers,
  ISPs, authentication, error messages, mangled mail).
- Size: {{documents}} documents, {{entries}} FAQ entries, {{questions}} questions kept (median
  {{median_question_words:g}} words), {{corpus_bytes}} bytes of Markdown.

## Conversion

`python benchmarks/devsets/build.py fetchmailfaq` downloads the package with `apt-get
download`, extracts it with `dpkg-deb -x` and converts the HTML:

- the two tables of contents are left out (they list every question); each chapter (`<h1>`)
  becomes one Markdown file titled with the chapter's name;
- every entry heading (`<h2>`, "R5. What does ... mean?") is removed: the answers follow one
  another; `<h3>` headings inside an answer stay `###`; paragraphs and list items become
  paragraphs, `<pre>` becomes a code block, `<code>`/`<tt>` become `code`;
- the 10 entries the FAQ marks obsolete (question struck through) are left out, question and
  answer: their answers mostly say "The information that used to be here ... was dropped";
- the entry's code ("R5.") is dropped from the question; many entries are a problem statement
  rather than a question ("Fetchmail always retains the first message in the mailbox."), as a
  user would type it;
- where an answer quotes another entry's question, the quote is replaced by "a related
  question in this FAQ";
- a question is kept when its answer has at least 15 words of prose and a paragraph of at least
  8 words to quote; its evidence is the first 20 words (40 if 20 are not unique in the file)
  of that paragraph.
"""


class _AnswerReader(HTMLParser):
    """An answer's HTML as Markdown blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.text: list[str] = []
        self.prefix = ""
        self.pre = 0

    def _flush(self) -> None:
        text = "".join(self.text)
        if self.pre:
            lines = [neutralise_code(line.rstrip()) for line in text.strip("\n").split("\n")]
            if any(line.strip() for line in lines):
                self.blocks.append("```\n" + "\n".join(lines) + "\n```")
        elif text.strip():
            self.blocks.append(neutralise_code(self.prefix + re.sub(r"\s+", " ", text).strip()))
        self.text, self.prefix = [], ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self._flush()
            self.prefix = {"li": "- ", "h3": "### ", "h4": "### "}.get(tag, "")
            self.pre += tag == "pre"
        elif tag in _CODE_TAGS and not self.pre:
            self.text.append("`")
        elif tag == "br":
            self.text.append("\n" if self.pre else " ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._flush()
            self.pre -= tag == "pre"
        elif tag in _CODE_TAGS and not self.pre:
            self.text.append("`")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def read(self, html: str) -> list[str]:
        self.feed(html)
        self.close()
        self._flush()
        # an empty `code` pair, or one around spaces only, would leave stray backticks
        return [b if b.startswith("```") else re.sub(r"`\s*`", " ", b) for b in self.blocks]


def _plain(html: str) -> str:
    reader = _AnswerReader()
    return re.sub(r"\s+", " ", " ".join(reader.read(html))).strip()


def _chapter(title: str, body: str) -> FaqDocument:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    section = Section("")
    parts = _ENTRY.split(body)  # [before, heading, answer, heading, answer, ...]
    for heading, answer in zip(parts[1::2], parts[2::2], strict=True):
        if "<strike" in heading:  # obsolete: "The information that used to be here ..."
            continue
        question = _ENTRY_CODE.sub("", _plain(heading))
        section.answers.append(Answer(question, _AnswerReader().read(answer)))
    return FaqDocument(f"{slug}.md", f"Fetchmail: {title}", [], [section])


def _read(html: str) -> list[FaqDocument]:
    body = html.split("</body>")[0].rsplit("<hr", 1)[0]  # the page footer follows the last rule
    parts = _CHAPTER.split(body)  # [before, title, body, title, body, ...]
    chapters = list(zip(parts[1::2], parts[2::2], strict=True))
    first = next(i for i, (title, _) in enumerate(chapters) if _plain(title) == _FIRST_CHAPTER)
    return [_chapter(_plain(title), text) for title, text in chapters[first:]]


def build(cache: Path) -> DevSet:
    """Download fetchmail and read its FAQ into a DevSet."""
    path = extract_deb(PACKAGE, VERSION, cache) / FAQ_FILE
    documents = _read(path.read_text(encoding="utf-8", errors="replace"))
    notes = SOURCE.format(package=PACKAGE, version=VERSION, faq_file=FAQ_FILE)
    return DevSet("fetchmailfaq", documents, notes)
