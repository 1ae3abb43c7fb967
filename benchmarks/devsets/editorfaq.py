"""The Vim FAQ and the GNU Emacs FAQ (Debian's vim-doc and emacs-common) as one dev set.

Neither FAQ alone has 400 questions, so the set joins the two big Unix text editors' FAQs into
one corpus: one file per Vim FAQ section and one per Emacs FAQ chapter.

The Vim FAQ is plain text: an index of every question, then "SECTION 5 - EDITING A FILE"
parts whose numbered questions ("5.3. How do I ...?", possibly wrapped) are each answered up
to the next question. The Emacs FAQ is an Info file: each node is a chapter (title underlined
with `*`) or one question (underlined with `=`, "5.1 How do I set up a ‘.emacs’ file
properly?") whose text is the answer.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

from devset import Answer, DevSet, FaqDocument, Section, extract_deb, neutralise_code

__all__ = ["EMACS_PACKAGE", "EMACS_VERSION", "VIM_PACKAGE", "VIM_VERSION", "build"]

VIM_PACKAGE = "vim-doc"
VIM_VERSION = "2:9.0.1378-2+deb12u2"
VIM_FILE = "usr/share/doc/vim/FAQ.gz"
VIM_COPYRIGHT = "usr/share/doc/vim-doc/copyright"
EMACS_PACKAGE = "emacs-common"
EMACS_VERSION = "1:28.2+1-15+deb12u4"
EMACS_FILE = "usr/share/info/emacs/efaq.info.gz"
EMACS_RELEASE = "28.2"  # the Info file was built without EMACSVER; the package's release

_RULE = re.compile(r"^={20,}\s*$")
_VIM_SECTION = re.compile(r"^SECTION (\d+) - (.+?)\s*$")
_VIM_QUESTION = re.compile(r"^\d+\.\d+\.\s+(.*\S)\s*$")
_VIM_QUOTE = re.compile(r"`([^`'\n]+)'")  # the FAQ's `i' quotes, which Markdown reads as code
_VIM_LICENCE = re.compile(r"^License: Vim\n((?: .*\n)+)", re.MULTILINE)  # the stanza with text
_VIM_WORDS = {"gui": "GUI", "ms-windows": "MS-Windows", "unix": "Unix", "unicode": "Unicode"}
_CODE_INDENT = 4  # Vim FAQ lines this much deeper than its text are an example

_INFO_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)*|[A-Z](?:\.\d+)*)\s+")
_INFO_EXAMPLE = 5  # Info indents examples, quotations and table bodies by five spaces
_INFO_PROSE_TOKENS = 5  # fewer tokens, or fewer than half of them words: an example
_INFO_WORD = re.compile(r"[A-Za-z][a-z]*[,.;:?!]?")
_INFO_CODE_START = re.compile(r"^(\([a-z-]+[ )]|[$#;]|\* )")  # (setq ..., $ cmd, # comment
_INFO_BULLETS = ("•", "−")
_INFO_ENDINGS = (".", "?", "!", ":", ".)", ".]", '."')  # or a sentence running into an example
_INFO_LONG = 8  # tokens, three quarters of them words
_INFO_MENU = re.compile(r"^\* (Menu:|[^:]+::)")
_INFO_FOOTNOTES = re.compile(r"^\s*-{5,} Footnotes -{5,}\s*$")
_QUOTED = re.compile(r"‘([^‘’]+)’")
_MANUALS = {
    "emacs": "the Emacs manual",
    "elisp": "the Emacs Lisp manual",
    "ccmode": "the CC Mode manual",
    "efaq-w32": "the Emacs FAQ for MS Windows",
    "gnus": "the Gnus manual",
}
# "*note Node::", "*note (manual)Node::", "*Note Label: Node." and "*Note Label: (manual)Node,"
_XREF = re.compile(
    r"\*(?P<n1>[Nn])ote\s+(?:\((?P<m1>[^)]+)\))?(?P<node>[^:]+?)::"
    r"|\*(?P<n2>[Nn])ote\s+(?P<label>[^:]+?):\s+(?:\((?P<m2>[^)]+)\))?(?P<target>[^.,:]*?)"
    r"(?P<end>[.,])"
)
_DOUBLE_SEE = re.compile(r"\b(see|See|in|includes) [Ss]ee\b")  # "see *note X::" was "see see X"
_EMACSVER = re.compile(r"\{No value for\s+‘EMACSVER’\}")

SOURCE = """# editorfaq: the Vim FAQ and the GNU Emacs FAQ

Two FAQs of one family, the two big Unix text editors, in one corpus: neither has 400
questions alone.

- Vim: Debian `{vim_package}` {vim_version} (bookworm, main), file `/{vim_file}`: the Vim FAQ
  by Yegappan Lakshmanan (current maintainer; last updated 2 January 2005), "created from the
  questions and answers posted to the vim@vim.org user mailing list and the comp.editors
  newsgroup", credit for the answers to "Peppe, Benji, Charles Campbell and numerous others".
- Emacs: Debian `{emacs_package}` {emacs_version} (bookworm, main), file `/{emacs_file}`: the
  GNU Emacs FAQ as distributed with Emacs {emacs_release}. Copyright (C) 2001-2022 Free
  Software Foundation, Inc.; (C) 1994-2000 Reuven M. Lerner; (C) 1992, 1993 Steven Byrnes;
  (C) 1990-1992 Joseph Brian Wells.
- Licences:
  - Vim FAQ: the FAQ states no licence of its own. It is `debian/FAQ` in Debian's vim
    source, and the package's `/{vim_copyright}` puts it under `Files: *`, the Vim licence,
    whose text ends this file as the licence requires: unmodified copies may be distributed
    freely, a modified copy when its changes go with it (section II.2.c); the changes here are
    the conversion below, made by `benchmarks/devsets/editorfaq.py`, which ships beside the
    set.
  - Emacs FAQ: the FAQ's own notice, which must go with every copy (it is also the
    introduction of `docs/emacs-01-faq-notation.md`):

    > This list of frequently asked questions about GNU Emacs with answers ("FAQ") may be
    > translated into other languages, transformed into other formats (e.g., Texinfo, Info,
    > HTML, PDF), and updated with new information.
    >
    > The same conditions apply to any derivative of the FAQ as apply to the FAQ itself.
    > Every copy of the FAQ must include this notice or an approved translation, information
    > on who is currently maintaining the FAQ and how to contact them (including their e-mail
    > address), and information on where the latest version of the FAQ is archived.
    >
    > The FAQ may be copied and redistributed under these conditions, except that the FAQ
    > may not be embedded in a larger literary work unless that work itself allows free
    > copying and redistribution.
    >
    > [This version has been heavily edited since it was included in the Emacs distribution
    > in 1999.]

    Maintainer: the FAQ is maintained as a part of GNU Emacs by its developers; report errors
    with `M-x report-emacs-bug`, which mails <bug-gnu-emacs@gnu.org>. Latest version: in
    every Emacs distribution (`C-h C-f`, `M-x view-emacs-FAQ`) and in the Emacs development
    repository (`doc/misc/efaq.texi`). This set is a derivative: the questions are moved out of
    the text into questions.jsonl as described below; it is freely copyable and
    redistributable under these same conditions.
- Domain: using and configuring the Vim and GNU Emacs text editors (editing, searching,
  buffers and windows, key bindings, scripting, syntax highlighting, building, platforms).
- Size: {{documents}} documents, {{entries}} FAQ entries, {{questions}} questions kept (median
  {{median_question_words:g}} words), {{corpus_bytes}} bytes of Markdown.

## Conversion

`python benchmarks/devsets/build.py editorfaq` downloads both packages with `apt-get
download`, extracts them with `dpkg-deb -x` and converts the two files:

- Vim FAQ: the index of questions at the top is left out; one Markdown file per section
  (`vim-05-editing-a-file.md`, titled "Vim FAQ: Editing a file"), the FAQ's opening paragraph
  being the first file's introduction; the maintainer's footer is left out (it is above);
- Emacs FAQ: one Markdown file per chapter (`emacs-05-common-requests.md`, titled "GNU Emacs
  FAQ: Common requests"), the chapter's opening text being its introduction; the top node
  (maintenance note, copyright and notice above) introduces the first file, with "Emacs {{{{No
  value for 'EMACSVER'}}}}" (a value the Info file was built without) written "Emacs
  {emacs_release}"; menus and the concept index are left out; cross-references ("*note
  Colors on a TTY::", "*Note (emacs)Init File::") are written "see Colors on a TTY", "See
  Init File in the Emacs manual";
- every question is removed, its number with it: its answer's paragraphs follow the previous
  answer's; paragraphs are joined into single lines, `‘code’` becomes `code` and the Vim FAQ's
  `` `i' `` quotes become 'i'; examples (Vim: lines indented four spaces deeper than the text;
  Info: paragraphs indented five spaces that are not filled prose) become code blocks (a
  comment line `# x` is written `#x`, so edgembed's Markdown reader does not take it for a
  heading); Info's bullets become `- ` items;
- where an answer quotes another entry's question, the quote is replaced by "a related
  question in this FAQ";
- a question is kept when its answer has at least 15 words of prose and a paragraph of at least
  8 words to quote (dropped: one-line answers with a command or a link, such as "How do I
  search for an empty line?", and bare lists); its evidence is the first 20 words (40 if 20
  are not unique in the file) of that paragraph.
"""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _paragraphs(lines: list[str]) -> list[list[str]]:
    """Runs of non-blank lines, right-stripped."""
    out: list[list[str]] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line.rstrip())
        elif current:
            out.append(current)
            current = []
    return out


def _code(lines: list[str]) -> str:
    indent = min(_indent(line) for line in lines)
    return "```\n" + "\n".join(neutralise_code(line[indent:]) for line in lines) + "\n```"


def _vim_prose(lines: list[str]) -> str:
    text = re.sub(r"\s+", " ", " ".join(line.strip() for line in lines))
    return neutralise_code(_VIM_QUOTE.sub(r"'\1'", text))


def _vim_blocks(lines: list[str]) -> list[str]:
    """An answer's paragraphs: prose joined into one line, deeper-indented ones as code."""
    blocks: list[str] = []
    base = min((_indent(line) for line in lines if line.strip()), default=0)
    for paragraph in _paragraphs(lines):
        if all(_indent(line) >= base + _CODE_INDENT for line in paragraph):
            blocks.append(_code(paragraph))
        else:
            blocks.append(_vim_prose(paragraph))
    return blocks


def _vim_title(raw: str) -> str:
    words = [_VIM_WORDS.get(w, w) for w in raw.lower().split()]
    words = ["Vim" if w == "vim" else w for w in words]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def _vim_documents(text: str) -> list[FaqDocument]:
    """The Vim FAQ's sections as documents, each numbered question with the lines after it."""
    lines = text.splitlines()
    first_rule = next(i for i, line in enumerate(lines) if _RULE.match(line))
    index_start = next(i for i, line in enumerate(lines) if line.strip() == "INDEX")
    opening = [line for line in lines[:index_start] if not line.startswith("vim:")]
    documents: list[FaqDocument] = []
    answers: list[Answer] | None = None
    question: list[str] | None = None
    answer: list[str] = []
    asking = False

    def finish() -> None:
        if question is not None and answers is not None:
            answers.append(Answer(re.sub(r"\s+", " ", " ".join(question)), _vim_blocks(answer)))

    for line in lines[first_rule:]:
        section = _VIM_SECTION.match(line)
        asked = _VIM_QUESTION.match(line)
        if _RULE.match(line) or section:
            finish()
            question, answer, answers = None, [], None
            if section:
                title = _vim_title(section.group(2))
                name = f"vim-{int(section.group(1)):02d}-{_slug(title)}.md"
                intro = _vim_blocks(opening) if not documents else []
                documents.append(FaqDocument(name, f"Vim FAQ: {title}", intro, [Section("")]))
                answers = documents[-1].sections[0].answers
        elif asked and answers is not None:
            finish()
            question, answer, asking = [asked.group(1)], [], True
        elif question is not None and asking and line.strip():
            question.append(line.strip())  # the question, wrapped
        elif question is not None:
            asking = False
            answer.append(line)
    return documents


def _xref(match: re.Match[str]) -> str:
    see = "See" if (match.group("n1") or match.group("n2")) == "N" else "see"
    manual = match.group("m1") or match.group("m2")
    book = _MANUALS.get(manual, f"the {manual} manual") if manual else ""
    node = match.group("node") or match.group("target")
    if manual and node.strip() == "Top":  # the manual as a whole
        return f"{see} {book}{match.group('end') or ''}"
    where = f" in {book}" if manual else ""
    if match.group("node") is not None:
        return f"{see} {node}{where}"
    label = match.group("label")
    if manual and label.lower().endswith("manual"):  # "*Note The Emacs Manual: (emacs)Node."
        label = node.strip()
    return f"{see} {label}{where}{match.group('end')}"


def _info_inline(text: str) -> str:
    """Info text as one Markdown line: cross-references as words, ‘code’ as `code`."""
    text = _DOUBLE_SEE.sub(r"\1", _XREF.sub(_xref, re.sub(r"\s+", " ", text).strip()))
    text = _QUOTED.sub(lambda m: f"`{m.group(1)}`" if "`" not in m.group(1) else m.group(1), text)
    return neutralise_code(_plain_quotes(text))


def _plain_quotes(text: str) -> str:
    return text.replace("‘", "'").replace("’", "'").replace("“", '"').replace("”", '"')


def _filled(paragraph: list[str]) -> bool:
    """An indented Info paragraph that is prose (a quotation, a table's text), not an example."""
    text = " ".join(line.strip() for line in paragraph)
    tokens = text.split()
    words = sum(bool(_INFO_WORD.fullmatch(token)) for token in tokens)
    return (
        len(tokens) >= _INFO_PROSE_TOKENS
        and 2 * words >= len(tokens)
        and (text.endswith(_INFO_ENDINGS) or 4 * words >= 3 * len(tokens) >= 3 * _INFO_LONG)
        and not _INFO_CODE_START.match(text)
    )


def _info_blocks(lines: list[str]) -> list[str]:
    """A node's text as Markdown blocks: menus and footnote rules dropped."""
    kept: list[str] = []
    in_menu = False
    for line in lines:
        if _INFO_MENU.match(line):
            in_menu = True
        elif in_menu and (not line.strip() or line.startswith((" ", "*"))):
            continue
        elif not _INFO_FOOTNOTES.match(line):
            in_menu = False
            kept.append(line)
    blocks: list[str] = []
    for paragraph in _paragraphs(kept):
        first = paragraph[0].strip()
        if first.startswith(_INFO_BULLETS):
            blocks.append("- " + _info_inline(first[1:] + " " + " ".join(paragraph[1:])))
        elif all(_indent(line) >= _INFO_EXAMPLE for line in paragraph) and not _filled(paragraph):
            blocks.append(_code([_XREF.sub(_xref, line) for line in paragraph]))
        else:
            blocks.append(_info_inline(" ".join(paragraph)))
    return blocks


def _info_nodes(info: str) -> list[tuple[str, str, str, list[str]]]:
    """(node name, heading underline, title without its number, body lines) of each node."""
    nodes = []
    for raw in info.split("\x1f")[1:]:
        lines = raw.strip("\n").split("\n")
        header = re.match(r"^File: [^,]+,\s+Node: ([^,]+),", lines[0])
        if not header or len(lines) < 4:
            continue  # the tag table and the local variables
        title = _INFO_NUMBER.sub("", lines[2].strip())
        nodes.append((header.group(1), lines[3][:1], title, lines[4:]))
    return nodes


def _emacs_documents(info: str) -> list[FaqDocument]:
    """The Emacs FAQ's chapters as documents; each `=` node is one question."""
    info = _EMACSVER.sub(EMACS_RELEASE, info)
    documents: list[FaqDocument] = []
    top: list[str] = []
    for name, underline, title, body in _info_nodes(info):
        if name == "Top":
            top = _info_blocks(body)
        elif underline == "*" and "index" not in name.lower():
            number = len(documents) + 1
            intro = [*top, *_info_blocks(body)] if not documents else _info_blocks(body)
            file_name = f"emacs-{number:02d}-{_slug(title)}.md"
            document = FaqDocument(file_name, f"GNU Emacs FAQ: {title}", intro, [Section("")])
            documents.append(document)
        elif underline == "=" and documents:
            question = _plain_quotes(title)
            documents[-1].sections[0].answers.append(Answer(question, _info_blocks(body)))
    return documents


def _read(path: Path, reader: Callable[[str], list[FaqDocument]]) -> list[FaqDocument]:
    return reader(gzip.decompress(path.read_bytes()).decode("utf-8"))


def _vim_licence(copyright_file: str) -> str:
    """The Vim licence's text from a Debian copyright file, as a section of SOURCE.md.

    Raises:
        ValueError: the file has no "License: Vim" paragraph with text.
    """
    stanza = _VIM_LICENCE.search(copyright_file)
    if stanza is None:
        raise ValueError('no "License: Vim" text in the copyright file')
    lines = ["" if line == " ." else line[1:] for line in stanza.group(1).splitlines()]
    text = "\n".join(lines).replace("{", "{{").replace("}", "}}")  # write_devset formats it
    return f"\n## The Vim licence\n\nFrom `/{VIM_COPYRIGHT}`, unmodified:\n\n```\n{text}\n```\n"


def build(cache: Path) -> DevSet:
    """Download vim-doc and emacs-common and read their FAQs into one DevSet."""
    vim_root = extract_deb(VIM_PACKAGE, VIM_VERSION, cache)
    emacs = extract_deb(EMACS_PACKAGE, EMACS_VERSION, cache) / EMACS_FILE
    documents = [*_read(vim_root / VIM_FILE, _vim_documents), *_read(emacs, _emacs_documents)]
    licence = _vim_licence((vim_root / VIM_COPYRIGHT).read_text(encoding="utf-8"))
    notes = SOURCE.format(
        vim_package=VIM_PACKAGE,
        vim_version=VIM_VERSION,
        vim_file=VIM_FILE,
        vim_copyright=VIM_COPYRIGHT,
        emacs_package=EMACS_PACKAGE,
        emacs_version=EMACS_VERSION,
        emacs_file=EMACS_FILE,
        emacs_release=EMACS_RELEASE,
    )
    return DevSet("editorfaq", documents, notes + licence)
