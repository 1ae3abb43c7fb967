from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edgembed.corpus.loaders import iter_documents, load_document, load_documents
from edgembed.errors import DocumentError, InputError, NoDocumentsError

MD = """# Paid Time Off

Intro paragraph about **PTO** and [the HRIS](http://x).

## Carry-over

- Up to 5 days roll over.
- The rest expires on March 31.
"""

HTML = """<html><head><title>WFH Policy</title></head><body>
<nav><a href="/">Home</a> | Menu boilerplate</nav>
<h1>Remote Work</h1><p>Employees may work from home two days a week.</p>
<h2>Stipend</h2><ul><li>A one-time $500 home office stipend.</li></ul>
<footer>Copyright footer boilerplate</footer></body></html>"""

TXT = """Travel Policy

BOOKING

Book flights through the travel portal at least 14 days ahead.

PER DIEM

The per diem is $75 per day in most cities.
"""


def _docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Equipment Policy", level=1)
    document.add_heading("Laptops", level=2)
    document.add_paragraph("Every employee receives a laptop on the first day.")
    document.save(str(path))


def _pdf(path: Path) -> None:
    """A one-page PDF with real extractable text, written by hand (no PDF library needed)."""
    lines = ["Data Retention Policy", "", "Records are kept for seven years after the fiscal year."]
    stream = "BT /F1 12 Tf 72 720 Td 16 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    path.write_bytes(out)


def test_markdown_headings_paragraphs_and_inline_markup(tmp_path: Path) -> None:
    path = tmp_path / "pto.md"
    path.write_text(MD)
    doc = load_document(path)
    assert doc.title == "Paid Time Off"
    kinds = [(b.kind, b.level) for b in doc.blocks]
    assert kinds == [("heading", 1), ("paragraph", 0), ("heading", 2), ("paragraph", 0)]
    assert doc.blocks[1].text == "Intro paragraph about PTO and the HRIS."
    assert "Up to 5 days roll over." in doc.blocks[3].text


def test_html_drops_boilerplate(tmp_path: Path) -> None:
    path = tmp_path / "wfh.html"
    path.write_text(HTML)
    doc = load_document(path)
    text = " ".join(b.text for b in doc.blocks)
    assert doc.title == "Remote Work"
    assert "two days a week" in text and "$500" in text
    assert "boilerplate" not in text


def test_plain_text_headings(tmp_path: Path) -> None:
    path = tmp_path / "travel.txt"
    path.write_text(TXT)
    doc = load_document(path)
    assert doc.title == "Travel Policy"
    assert [b.text for b in doc.blocks if b.kind == "heading"] == [
        "Travel Policy",
        "BOOKING",
        "PER DIEM",
    ]


def test_docx_and_pdf(tmp_path: Path) -> None:
    _docx(tmp_path / "equipment.docx")
    _pdf(tmp_path / "retention.pdf")
    docx_doc = load_document(tmp_path / "equipment.docx")
    assert docx_doc.title == "Equipment Policy"
    assert docx_doc.blocks[1].kind == "heading" and docx_doc.blocks[1].level == 2
    pdf_doc = load_document(tmp_path / "retention.pdf")
    assert "seven years" in " ".join(b.text for b in pdf_doc.blocks)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.xyz", "hello", "unsupported format"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "cannot read"),
        ("broken.docx", b"not a zip file", "cannot read"),
        ("empty.md", "", "no text"),
    ],
)
def test_bad_files_raise_document_error(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(DocumentError, match=reason):
        load_document(path)


def test_folder_skips_bad_files_and_hidden_ones(
    make_docs: Callable[[dict[str, str | bytes]], Path],
) -> None:
    root = make_docs(
        {"a.md": MD, "sub/b.txt": TXT, "c.pdf": b"garbage", ".hidden.md": MD, "q.jsonl": "{}"}
    )
    result = load_documents(root)
    assert sorted(d.path for d in result.documents) == ["a.md", "sub/b.txt"]
    assert sorted(name for name, _ in result.skipped) == ["c.pdf", "q.jsonl"]


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_documents(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoDocumentsError, match="no readable documents"):
        load_documents(tmp_path / "empty")


def test_sample_docs_all_load() -> None:
    from tests.conftest import SAMPLE_DOCS

    if not SAMPLE_DOCS.exists():
        pytest.skip("sample_docs not present")
    result = load_documents(SAMPLE_DOCS)
    suffixes = {Path(d.path).suffix for d in result.documents}
    assert {".md", ".txt", ".html", ".pdf", ".docx"} <= suffixes
    assert len(result.documents) >= 20
    assert [name for name, _ in result.skipped] == ["questions.jsonl"]
    for document in result.documents:
        assert 300 <= document.words <= 2200, (document.path, document.words)


@pytest.mark.parametrize(
    ("name", "title"),
    [("p28.txt", ""), ("0042.txt", ""), ("q-7.txt", ""), ("expense_policy.txt", "Expense Policy")],
)
def test_a_file_name_is_a_title_only_when_it_carries_words(
    tmp_path: Path, name: str, title: str
) -> None:
    path = tmp_path / name
    path.write_text("employees may carry over five days of unused leave into next year.\n")
    assert load_document(path, name).title == title


def test_documents_are_read_one_at_a_time(
    make_docs: Callable[[dict[str, str | bytes]], Path],
) -> None:
    """`chunk` reads a document, chunks it and lets it go: the next file is not read yet."""
    root = make_docs({"a.md": MD, "b.pdf": b"garbage", "c.txt": TXT})
    skipped: list[tuple[str, str]] = []
    documents = iter_documents(root, skipped)
    assert next(documents).path == "a.md" and skipped == []
    assert next(documents).path == "c.txt" and [name for name, _ in skipped] == ["b.pdf"]
    assert next(documents, None) is None
