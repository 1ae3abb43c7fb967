from __future__ import annotations

import pytest

from edgembed.config import ChunkConfig
from edgembed.corpus import Block, Document, chunk_document, chunk_documents
from edgembed.errors import ConfigError


def _sentence(i: int) -> str:
    return f"Sentence number {i} talks about the policy in some detail here."  # 10 words


def _doc(sections: int, paragraphs: int, sentences: int) -> Document:
    blocks = [Block("heading", "Handbook", 1)]
    n = 0
    for s in range(sections):
        blocks.append(Block("heading", f"Section {s}", 2))
        for _ in range(paragraphs):
            blocks.append(Block("paragraph", " ".join(_sentence(n + k) for k in range(sentences))))
            n += sentences
    return Document("handbook.md", "Handbook", tuple(blocks))


def test_chunks_respect_target_size_and_carry_breadcrumbs() -> None:
    config = ChunkConfig(docs=".", chunk_words=120, overlap_words=20, min_words=20)  # type: ignore[arg-type]
    chunks = chunk_document(_doc(sections=3, paragraphs=4, sentences=4), config)
    assert len(chunks) >= 4
    for chunk in chunks:
        assert chunk.words <= 120 + 20 + 10  # target + overlap + breadcrumb slack
        assert chunk.text.startswith("Handbook > Section")
        assert chunk.section.startswith("Section")
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_overlap_repeats_the_end_of_the_previous_chunk_within_a_section() -> None:
    config = ChunkConfig(docs=".", chunk_words=100, overlap_words=25, min_words=20)  # type: ignore[arg-type]
    chunks = chunk_document(_doc(sections=1, paragraphs=6, sentences=4), config)
    assert len(chunks) >= 2
    last_sentence = chunks[0].text.rsplit(".", 2)[-2].strip()
    assert last_sentence in chunks[1].text


def test_new_top_level_section_starts_a_new_chunk_without_overlap() -> None:
    config = ChunkConfig(docs=".", chunk_words=100, overlap_words=25, min_words=20)  # type: ignore[arg-type]
    chunks = chunk_document(_doc(sections=2, paragraphs=1, sentences=7), config)
    assert [c.section for c in chunks] == ["Section 0", "Section 1"]
    assert "Sentence number 6 " not in chunks[1].text


def test_long_paragraph_is_split_at_sentences() -> None:
    config = ChunkConfig(docs=".", chunk_words=60, overlap_words=0, min_words=10)  # type: ignore[arg-type]
    chunks = chunk_document(_doc(sections=1, paragraphs=1, sentences=20), config)
    assert len(chunks) >= 3
    assert all(c.text.rstrip().endswith(".") for c in chunks)


def test_ids_are_stable_and_depend_on_text() -> None:
    config = ChunkConfig(docs=".", chunk_words=80, overlap_words=0)  # type: ignore[arg-type]
    first = chunk_documents([_doc(2, 2, 3)], config)
    second = chunk_documents([_doc(2, 2, 3)], config)
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == len(first)
    other = Document("other.md", "Handbook", _doc(2, 2, 3).blocks)
    assert chunk_documents([other], config)[0].id != first[0].id


def test_tiny_tail_is_merged() -> None:
    blocks = (
        Block("paragraph", " ".join(_sentence(i) for i in range(9))),
        Block("paragraph", "Short end."),
    )
    config = ChunkConfig(docs=".", chunk_words=95, overlap_words=0, min_words=20)  # type: ignore[arg-type]
    chunks = chunk_document(Document("d.md", "D", blocks), config)
    assert len(chunks) == 1 and chunks[0].text.endswith("Short end.")


@pytest.mark.parametrize(("words", "overlap"), [(10, 0), (100, 60), (100, -1)])
def test_bad_config_is_refused(words: int, overlap: int) -> None:
    with pytest.raises(ConfigError):
        ChunkConfig(docs=".", chunk_words=words, overlap_words=overlap)  # type: ignore[arg-type]


def test_a_chunk_without_title_or_section_has_no_breadcrumb_line() -> None:
    config = ChunkConfig(docs=".", chunk_words=120, overlap_words=20, min_words=20)  # type: ignore[arg-type]
    body = " ".join(_sentence(i) for i in range(5))
    document = Document("p28.txt", "", (Block("paragraph", body),))
    (chunk,) = chunk_document(document, config)
    assert chunk.text == body and chunk.head == "" and chunk.body == body
    titled = chunk_document(Document("pto.md", "PTO", (Block("paragraph", body),)), config)[0]
    assert titled.text == f"PTO\n{body}" and titled.head == "PTO" and titled.body == body
