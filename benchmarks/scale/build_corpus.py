"""Build a corpus of thousands of real documents from the documentation in Debian packages.

    python benchmarks/scale/build_corpus.py                       # >= 5,000 documents
    python benchmarks/scale/build_corpus.py --profile search /tmp/edgembed-scale/docs-search

The corpus is what an on-prem team would point edgembed at: manuals, reference pages and
READMEs, in the formats edgembed reads. Every source is a Debian bookworm package from `main`
(free software, redistributable), downloaded with `apt-get download` (never installed) and
unpacked with `dpkg-deb -x`:

- man pages (the `manpages`, `perl-doc`, `libssl-doc`, `git-man`, ... packages) rendered to
  text with mandoc (itself taken from its Debian package, so nothing needs installing), then
  written as Markdown (`.md`, one `#` title and a `##` heading per man section) or as plain text
  (`.txt`, as `man ls > ls.txt` would give), alternating by package;
- HTML manuals as shipped (`.html`: PostgreSQL, SQLite, Apache httpd, libgcrypt);
- the README files of those packages (`.txt` / `.md`).

Stubs (under --min-words words) and exact duplicates (same text in two packages) are left out.
Package versions are pinned below; when the archive has moved on, the candidate version is
taken instead and .manifest.json says so. Downloads and unpacked packages are cached under
--cache, so a rebuild takes seconds. The output folder is replaced on each run and is not
committed; .manifest.json in it (hidden, so edgembed does not take it for a document) lists
every package, its version, licence, format and counts.

Profiles: `corpus` (the default, the 5,000-document scale test), `search` (adds large HTML
manuals for the 100,000-passage search test; see benchmarks/scale/README.md).

Needs: apt-get (run `apt-get update` once), dpkg-deb; Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Kind = Literal["man", "html", "text"]
Format = Literal["md", "txt", "html"]


@dataclass(frozen=True)
class Source:
    """One Debian package and what the corpus takes from it.

    Attributes:
        package: the binary package name.
        version: the version pinned when this list was made (bookworm, 2026-12).
        licence: the licence(s) of its documentation, from its debian/copyright.
        kind: `man` renders its man pages; `html` copies the HTML files under `root`,
            `text` its `.txt` files.
        fmt: the format documents are written in (`md` or `txt` for man pages, `html`).
        profile: the smallest profile that includes it (`corpus` ⊂ `search`).
        root: for `html` and `text`, the folder inside the package that holds the manual.
        exclude: for `html` and `text`, regular expressions of paths (under root) to leave out.
    """

    package: str
    version: str
    licence: str
    kind: Kind
    fmt: Format
    profile: str = "corpus"
    root: str = ""
    exclude: tuple[str, ...] = ()


# Sorted by package name; every one is in bookworm's `main` (DFSG-free). Licences are those
# its debian/copyright gives for the documentation.
SOURCES: tuple[Source, ...] = (
    Source(
        "apache2-doc",
        "2.4.71-1~deb12u1",
        "Apache-2.0",
        "html",
        "html",
        root="usr/share/doc/apache2-doc/manual/en",
    ),
    Source(
        "bind9-doc",
        "1:9.18.49-1~deb12u3",
        "MPL-2.0",
        "html",
        "html",
        profile="search",
        root="usr/share/doc/bind9-doc/arm",
        exclude=(r"^_static/", r"^genindex", r"^search\.html$"),
    ),
    Source("coreutils", "9.1-1", "GPL-3+", "man", "txt"),
    Source(
        "exim4-doc-html",
        "4.96-1",
        "GPL-2+",
        "html",
        "html",
        profile="search",
        root="usr/share/doc/exim4-doc-html/spec_html",
    ),
    Source("git-man", "1:2.39.5-0+deb12u3", "GPL-2", "man", "md"),
    Source("gnutls-doc", "3.7.9-2+deb12u7", "LGPL-2.1+ / GPL-3+", "man", "md", profile="search"),
    Source(
        "haproxy-doc",
        "2.6.12-1+deb12u4",
        "GPL-2+",
        "html",
        "html",
        profile="search",
        root="usr/share/doc/haproxy/html",
    ),
    Source("iproute2", "6.1.0-3", "GPL-2", "man", "txt"),
    Source("libcurl4-doc", "7.88.1-10+deb12u15", "curl (MIT-style)", "man", "md"),
    Source(
        "libgcrypt20-doc",
        "1.10.1-3+deb12u1",
        "GPL-2+ / LGPL-2.1+ (manual GPL-2+)",
        "html",
        "html",
        root="usr/share/doc/libgcrypt20-doc/html",
    ),
    Source("libpcre2-dev", "10.42-1+deb12u2", "BSD-3-clause", "man", "txt"),
    Source("libssl-doc", "3.0.22-1~deb12u2", "Apache-2.0", "man", "txt"),
    Source("libsystemd-dev", "252.39-1~deb12u2", "LGPL-2.1+", "man", "txt", profile="search"),
    Source("libx11-doc", "2:1.8.4-2+deb12u2", "X11 (MIT)", "man", "txt"),
    Source(
        "linux-doc-6.1",
        "6.1.192-3",
        "GPL-2",
        "html",
        "html",
        profile="search",
        root="usr/share/doc/linux-doc-6.1/html",
        exclude=(r"^_static/", r"^genindex", r"^search\.html$", r"^translations/"),
    ),
    Source("lvm2", "2.03.16-2", "GPL-2 / LGPL-2.1", "man", "txt"),
    Source("manpages", "6.03-2", "Linux-man-pages-copyleft / GPL-2+ / BSD", "man", "md"),
    Source("manpages-dev", "6.03-2", "Linux-man-pages-copyleft / GPL-2+ / BSD", "man", "md"),
    Source("ncurses-doc", "6.4-4", "X11 (MIT)", "man", "txt"),
    Source(
        "octave-doc",
        "7.3.0-2",
        "GPL-3+",
        "html",
        "html",
        profile="search",
        root="usr/share/doc/octave",
    ),
    Source("openssh-client", "1:9.2p1-2+deb12u10", "BSD (OpenSSH)", "man", "txt"),
    Source("openssl", "3.0.22-1~deb12u2", "Apache-2.0", "man", "txt"),
    Source("perl-doc", "5.36.0-7+deb12u4", "Artistic or GPL-1+", "man", "md", profile="search"),
    Source(
        "postfix-doc",
        "3.7.11-0+deb12u1",
        "IPL-1.0 or EPL-2.0",
        "html",
        "html",
        profile="search",
        root="usr/share/doc/postfix/html",
    ),
    Source(
        "postgresql-doc-15",
        "15.20-0+deb12u1",
        "PostgreSQL (BSD-style)",
        "html",
        "html",
        root="usr/share/doc/postgresql-doc-15/html",
    ),
    Source(
        "r-doc-html",
        "4.2.2.20221110-2",
        "GPL-2",
        "html",
        "html",
        profile="search",
        root="usr/share/R/doc/manual",
    ),
    Source(
        "sqlite3-doc",
        "3.40.1-2+deb12u2",
        "public-domain",
        "html",
        "html",
        profile="search",
        root="usr/share/doc/sqlite3",
    ),
    Source("systemd", "252.39-1~deb12u2", "LGPL-2.1+", "man", "md"),
    Source("tcl8.6-doc", "8.6.13+dfsg-2", "Tcl (BSD-style)", "man", "txt"),
    Source("tcllib", "1.21+dfsg-1", "BSD (Tcl)", "man", "md", profile="search"),
    Source("tk8.6-doc", "8.6.13-2", "Tcl (BSD-style)", "man", "md"),
    Source("util-linux", "2.38.1-5+deb12u3", "GPL-2+ / LGPL-2.1+ / BSD", "man", "txt"),
    Source(
        "vim-runtime",
        "2:9.0.1378-2+deb12u2",
        "OPL-1+ (no options exercised)",
        "text",
        "txt",
        profile="search",
        root="usr/share/vim/vim90/doc",
    ),
    Source("zsh-common", "5.9-4", "Zsh (MIT-style)", "man", "md"),
)
PROFILES = ("corpus", "search")
assert [s.package for s in SOURCES] == sorted(s.package for s in SOURCES)
MANDOC = Source("mandoc", "1.14.6-1+b1", "ISC / BSD-2-clause", "man", "txt")

_MAN_PAGE = re.compile(r"^usr/share/man/man[0-9a-z]+/[^/]+\.gz$")  # English pages only
_README = re.compile(r"^usr/share/doc/[^/]+/README[^/]*$")
_OVERSTRIKE = re.compile(r".\x08")
_MD_HEADING_LIKE = re.compile(r"^(#{1,6})\s")
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_WS = re.compile(r"\s+")


@dataclass
class Rendered:
    """One document ready to be written: where it goes (relative) and its text."""

    rel: str
    text: str
    words: int


@dataclass
class Counts:
    """What one package gave the corpus."""

    candidates: int = 0
    documents: int = 0
    stubs: int = 0
    duplicates: int = 0
    words: int = 0
    bytes: int = 0
    readmes: int = 0
    formats: dict[str, int] = field(default_factory=dict)


def _run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, check=False, capture_output=True, text=True)


def fetch(source: Source, cache: Path) -> tuple[Path, str]:
    """Download `source` at its pinned version (or the candidate, if the archive moved on).

    Returns:
        The folder it is unpacked in (cached: a second call downloads nothing), and the
        version actually used.

    Raises:
        RuntimeError: apt-get could not download the package at any version.
    """
    debs = cache / "debs" / f"{source.package}={source.version.replace(':', '%')}"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob("*.deb"))
    if not found:
        done = _run(["apt-get", "download", f"{source.package}={source.version}"], cwd=debs)
        if done.returncode != 0:
            print(
                f"  {source.package}={source.version} is no longer in the archive; "
                "taking the candidate",
                file=sys.stderr,
            )
            done = _run(["apt-get", "download", source.package], cwd=debs)
            if done.returncode != 0:
                raise RuntimeError(f"apt-get download {source.package}: {done.stderr.strip()}")
        found = sorted(debs.glob("*.deb"))
        if len(found) != 1:
            raise RuntimeError(f"apt-get download left {len(found)} .deb files in {debs}")
    deb = found[-1]
    version = _run(["dpkg-deb", "-f", str(deb), "Version"]).stdout.strip() or source.version
    target = cache / "x" / f"{source.package}_{version.replace(':', '%')}"
    if not target.exists():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(partial)], check=True)
        partial.rename(target)
    return target, version


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    """Regular files (never symlinks) under `root`, as (posix path relative to root, path)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not path.is_symlink() and path.is_file():
                yield path.relative_to(root).as_posix(), path


def render_man(mandoc: Path, page: Path) -> str | None:
    """A man page as mandoc's terminal output without overstrike, or None for a `.so` alias."""
    with gzip.open(page, "rt", encoding="utf-8", errors="replace") as handle:
        head = handle.read(512)
    if any(line.startswith(".so ") for line in head.splitlines()[:3]):
        return None  # an alias of another page, which the corpus already has
    done = subprocess.run(
        [str(mandoc), "-T", "utf8", "-W", "stop", str(page)],
        check=False,
        capture_output=True,
        timeout=60,
    )
    text = _OVERSTRIKE.sub("", done.stdout.decode("utf-8", errors="replace"))
    return text if text.strip() else None


def _frame(text: str) -> tuple[str, list[str]]:
    """The page's name from mandoc's header line, and the lines between header and footer."""
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) < 2:
        return "", lines
    name = lines[0].split()[0] if lines[0].split() else ""
    return name, lines[1:-1]


def man_to_text(text: str) -> str:
    """What `man PAGE > PAGE.txt` gives, with the name (e.g. `OPEN(2)`) alone on line one.

    edgembed's text loader takes an UPPERCASE line between blank lines as a heading, so the
    name becomes the document's title and NAME, SYNOPSIS, ... its sections.
    """
    name, lines = _frame(text)
    return "\n".join([name.upper(), *lines]).strip() + "\n"


def man_to_markdown(text: str) -> str:
    """The rendered page as Markdown: `# NAME(S): summary`, `##` per section, `###` per
    subsection, paragraphs as they were (a line starting with `# ` in a code sample loses the
    space, so it is not taken for a heading)."""
    name, lines = _frame(text)
    summary = ""
    for index, line in enumerate(lines):
        if line == "NAME":
            block = []
            for following in lines[index + 1 :]:
                if not following.strip():
                    break
                block.append(following.strip())
            summary = " ".join(block)
            break
    title = f"{name.upper()}: {summary}" if summary else name.upper()
    out = [f"# {title}", ""]
    for index, line in enumerate(lines):
        stripped = line.strip()
        before_blank = index == 0 or not lines[index - 1].strip()
        indent = len(line) - len(line.lstrip(" "))
        if stripped and indent == 0:
            out.append(f"## {stripped}")
        elif stripped and indent == 3 and before_blank and len(stripped.split()) <= 10:
            out.append(f"### {stripped}")
        else:
            out.append(_MD_HEADING_LIKE.sub(r"\1", stripped))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip() + "\n"


def html_words(raw: str) -> int:
    """Roughly how many words of text an HTML page holds (tags, scripts and styles left out)."""
    return len(html.unescape(_TAGS.sub(" ", raw)).split())


def _man_document(job: tuple[Path, str, Path, Format]) -> Rendered | None:
    mandoc, rel, page, fmt = job
    text = render_man(mandoc, page)
    if text is None:
        return None
    body = man_to_markdown(text) if fmt == "md" else man_to_text(text)
    name = Path(rel).name.removesuffix(".gz")
    section = Path(rel).parent.name
    return Rendered(f"{section}/{name}.{fmt}", body, len(body.split()))


def _readmes(root: Path) -> Iterator[Rendered]:
    for rel, path in _files(root):
        if not _README.match(rel):
            continue
        raw = gzip.open(path).read() if rel.endswith(".gz") else path.read_bytes()
        if b"\x00" in raw[:4096]:
            continue
        text = raw.decode("utf-8", errors="replace")
        name = Path(rel).name.removesuffix(".gz")
        suffix = ".md" if name.endswith(".md") else ".txt"
        yield Rendered(f"readme/{name.removesuffix('.md')}{suffix}", text, len(text.split()))


def documents(source: Source, root: Path, mandoc: Path, workers: int) -> Iterator[Rendered | None]:
    """Every candidate document of one unpacked package, in a fixed order (None: an alias)."""
    if source.kind == "man":
        jobs = [
            (mandoc, rel, path, source.fmt) for rel, path in _files(root) if _MAN_PAGE.match(rel)
        ]
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            yield from pool.map(_man_document, jobs)
    else:
        base = root / source.root
        excluded = [re.compile(pattern) for pattern in source.exclude]
        suffixes = (".html", ".htm") if source.kind == "html" else (".txt",)
        for rel, path in _files(base):
            if not rel.endswith(suffixes) or any(p.search(rel) for p in excluded):
                continue
            raw = path.read_text(encoding="utf-8", errors="replace")
            if source.kind == "text":
                yield Rendered(rel, raw, len(raw.split()))
            else:
                stem = rel.removesuffix(".htm").removesuffix(".html")
                yield Rendered(f"{stem}.html", raw, html_words(raw))
    yield from _readmes(root)


def build(out: Path, cache: Path, profile: str, min_words: int, workers: int) -> dict[str, Any]:
    """Write the corpus of `profile` into `out` (replacing it) and return its manifest.

    The same sources, versions and options always give the same files, byte for byte.
    """
    started = time.monotonic()
    wanted = PROFILES[: PROFILES.index(profile) + 1]
    sources = [s for s in SOURCES if s.profile in wanted]
    mandoc_root, mandoc_version = fetch(MANDOC, cache)
    mandoc = mandoc_root / "usr/bin/mandoc"
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    seen: set[str] = set()
    packages: list[dict[str, Any]] = []
    totals: list[Counts] = []
    for source in sources:
        root, version = fetch(source, cache)
        counts = Counts()
        for document in documents(source, root, mandoc, workers):
            counts.candidates += 1
            if document is None:
                counts.duplicates += 1  # a `.so` alias of another page
                continue
            if document.words < min_words:
                counts.stubs += 1
                continue
            digest = hashlib.sha256(_WS.sub(" ", document.text).strip().encode()).hexdigest()
            if digest in seen:
                counts.duplicates += 1
                continue
            seen.add(digest)
            target = partial / source.package / document.rel
            target.parent.mkdir(parents=True, exist_ok=True)
            data = document.text.encode("utf-8")
            target.write_bytes(data)
            counts.documents += 1
            counts.readmes += document.rel.startswith("readme/")
            counts.words += document.words
            counts.bytes += len(data)
            fmt = Path(document.rel).suffix.lstrip(".")
            counts.formats[fmt] = counts.formats.get(fmt, 0) + 1
        packages.append(
            {
                "package": source.package,
                "pinned": source.version,
                "version": version,
                "licence": source.licence,
                "kind": source.kind,
                "profile": source.profile,
                **counts.__dict__,
            }
        )
        note = "" if version == source.version else f" (pinned {source.version})"
        print(
            f"{source.package} {version}{note}: {counts.documents} documents, "
            f"{counts.words:,} words, {counts.stubs} stubs, {counts.duplicates} duplicates"
        )
        totals.append(counts)
    formats: dict[str, int] = {}
    for counts in totals:
        for fmt, count in counts.formats.items():
            formats[fmt] = formats.get(fmt, 0) + count
    manifest: dict[str, Any] = {
        "profile": profile,
        "min_words": min_words,
        "mandoc": mandoc_version,
        "documents": sum(counts.documents for counts in totals),
        "words": sum(counts.words for counts in totals),
        "bytes": sum(counts.bytes for counts in totals),
        "formats": dict(sorted(formats.items())),
        "packages": packages,
    }
    (partial / ".manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    manifest["seconds"] = round(time.monotonic() - started, 1)
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, build the corpus, print its totals; 0 on success."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "out",
        nargs="?",
        type=Path,
        default=Path("/tmp/edgembed-scale/docs"),
        help="folder to write the corpus into, replaced if it exists "
        "(default: /tmp/edgembed-scale/docs)",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="corpus",
        help="corpus: the >= 5,000-document set (default); search: adds big HTML manuals "
        "(Linux kernel, Octave, R, Exim, Postfix, Vim, ...) for the 100,000-passage search test",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("/tmp/edgembed-scale/cache"),
        help="where downloaded .deb files and unpacked packages are kept between runs",
    )
    parser.add_argument(
        "--min-words",
        type=int,
        default=40,
        help="documents with fewer words are stubs and left out (default 40)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="man pages rendered at once (default: one per core)",
    )
    args = parser.parse_args(argv)
    manifest = build(args.out.resolve(), args.cache, args.profile, args.min_words, args.workers)
    print(
        f"{manifest['documents']:,} documents ({manifest['formats']}), "
        f"{manifest['words']:,} words, {manifest['bytes'] / 1e6:.1f} MB "
        f"in {args.out} ({manifest['seconds']} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
