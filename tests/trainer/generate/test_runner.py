from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from edgembed.corpus import read_chunks
from edgembed.corpus.build import load_corpus
from edgembed.corpus.loaders import LOADERS, load_text
from edgembed.errors import (
    GeneratorError,
    InputError,
    LLMUnavailableError,
    NoDocumentsError,
    OutputExistsError,
)
from edgembed.formats.pairs import read_pairs
from edgembed.trainer.generate import generate_pairs
from edgembed.workspace import Workspace
from tests.trainer.generate.conftest import (
    ScriptedChat,
    ScriptedGenerator,
    llm_generator,
    make_config,
)

Register = Callable[[object], str]


def _all_pairs(ws: Workspace) -> list[tuple[str, str]]:
    pairs = read_pairs(ws.pairs_train) + read_pairs(ws.pairs_eval)
    return sorted((p.query, p.positive_id) for p in pairs)


def test_ict_run_writes_chunks_pairs_and_report(docs: Path, workspace: Workspace) -> None:
    summary = generate_pairs(make_config(docs), workspace)
    chunks = read_chunks(workspace.chunks)
    train, evaluation = read_pairs(workspace.pairs_train), read_pairs(workspace.pairs_eval)
    assert summary.chunks == len(chunks) == 21 and summary.chunks_done == 21
    # up to 10 per chunk by default (about every sentence), fewer where a chunk has fewer
    assert summary.pairs == len(train) + len(evaluation)
    assert 3 * 21 < summary.pairs <= 10 * 21
    assert {p.kind for p in train} == {"ict"} and {p.generator for p in train} == {"ict"}
    ids = {c.id for c in chunks}
    assert {p.positive_id for p in train + evaluation} <= ids
    assert not {p.positive_id for p in train} & {p.positive_id for p in evaluation}
    assert summary.eval_chunks == 3  # round(0.15 * 21)
    # chunks overlap, but no query is a sentence that two chunks hold (two right answers);
    # keyword queries (a few rare words of a sentence, 2-5 words) are the other ones
    sentences = [p for p in train + evaluation if len(p.query.split()) > 5]
    keywords = [p for p in train + evaluation if len(p.query.split()) <= 5]
    assert all(sum(p.query in c.text for c in chunks) == 1 for p in sentences)
    assert 0.15 < len(keywords) / summary.pairs < 0.45  # --keyword-queries 0.3
    report = json.loads((workspace.reports / "generate.json").read_text())
    assert report["pairs"] == summary.pairs and report["generator"] == "ict"
    assert report["dropped"] == {}


def test_same_options_same_pairs(docs: Path, tmp_path: Path) -> None:
    generate_pairs(make_config(docs), Workspace(tmp_path / "a"))
    generate_pairs(make_config(docs), Workspace(tmp_path / "b"))
    assert _all_pairs(Workspace(tmp_path / "a")) == _all_pairs(Workspace(tmp_path / "b"))


def test_max_pairs_caps_and_stops_early(
    docs: Path, workspace: Workspace, use_generator: Register
) -> None:
    generator = ScriptedGenerator()
    summary = generate_pairs(
        make_config(docs, generator=use_generator(generator), max_pairs=7), workspace
    )
    assert summary.pairs == 7
    assert len(generator.calls) == 3  # 3 questions per chunk: the third chunk reaches the cap
    assert summary.dropped == {"over_max_pairs": 2}


def test_a_query_repeated_across_chunks_is_kept_once(
    docs: Path, workspace: Workspace, use_generator: Register
) -> None:
    generator = ScriptedGenerator(
        answer=lambda chunk: ["What is the policy?", f"Why does chunk {chunk.id} matter?"]
    )
    summary = generate_pairs(make_config(docs, generator=use_generator(generator)), workspace)
    assert summary.pairs == 21 + 1
    assert summary.dropped["duplicate_across_chunks"] == 20


def test_llm_questions_paraphrases_and_mixed_ict(
    docs: Path, workspace: Workspace, use_generator: Register, tmp_path: Path
) -> None:
    chat = ScriptedChat()
    name = use_generator(llm_generator(chat))
    summary = generate_pairs(make_config(docs, generator=name, mix_ict=True), workspace)
    pairs = read_pairs(workspace.pairs_train) + read_pairs(workspace.pairs_eval)
    # 3 LLM questions a chunk, each reworded once, and as many ICT queries as ict alone makes
    ict_alone = generate_pairs(make_config(docs), Workspace(tmp_path / "ict")).pairs
    assert summary.kinds == {"question": 63, "paraphrase": 63, "ict": ict_alone}
    assert ict_alone > 63
    assert {(p.kind, p.generator, p.model) for p in pairs} == {
        ("question", "scripted-chat", "chat-1"),
        ("paraphrase", "scripted-chat", "chat-1"),
        ("ict", "ict", "none"),
    }
    assert len(chat.prompts) == 42  # one question and one paraphrase call per chunk
    assert all(
        p.positive == next(c.text for c in read_chunks(workspace.chunks) if c.id == p.positive_id)
        for p in pairs
        if p.kind != "ict"
    )


def test_garbage_llm_output_stops_the_run_with_a_clear_error(
    docs: Path, workspace: Workspace, use_generator: Register
) -> None:
    chat = ScriptedChat(reply=lambda prompt: "Sure! The passage talks about holidays.")
    name = use_generator(llm_generator(chat))
    with pytest.raises(GeneratorError, match="no usable pairs from 5 chunks.*unparseable: 10"):
        generate_pairs(make_config(docs, generator=name), workspace)
    assert not workspace.pairs_train.exists() and not workspace.pairs_eval.exists()


def test_an_interrupted_run_resumes_without_losing_or_repeating_pairs(
    docs: Path, tmp_path: Path, use_generator: Register
) -> None:
    clean = Workspace(tmp_path / "clean")
    generate_pairs(make_config(docs, generator=use_generator(ScriptedGenerator())), clean)
    ws = Workspace(tmp_path / "ws")
    dying = ScriptedGenerator(fail_on_call=(6, LLMUnavailableError("server went away")))
    with pytest.raises(LLMUnavailableError):
        generate_pairs(make_config(docs, generator=use_generator(dying)), ws)
    assert not ws.pairs_train.exists()  # nothing half-written
    assert len((ws.generate_dir / "progress.jsonl").read_text().splitlines()) == 5
    second = ScriptedGenerator()
    summary = generate_pairs(make_config(docs, generator=use_generator(second)), ws)
    assert summary.chunks_resumed == 5 and len(second.calls) == 16
    assert not set(second.calls) & set(dying.calls[:5])
    assert _all_pairs(ws) == _all_pairs(clean)


def test_an_edited_document_redoes_only_its_changed_chunks(
    docs: Path, tmp_path: Path, use_generator: Register
) -> None:
    ws = Workspace(tmp_path / "ws")
    generate_pairs(make_config(docs, generator=use_generator(ScriptedGenerator())), ws)
    before = {chunk.id for chunk in read_chunks(ws.chunks)}
    document = docs / "code_of_conduct.md"
    text = document.read_text()
    last = text.rstrip().rsplit(" ", 1)[0]
    document.write_text(last + " and one more rule added after the first run.\n")
    second = ScriptedGenerator()
    summary = generate_pairs(make_config(docs, generator=use_generator(second)), ws)
    after = {chunk.id for chunk in read_chunks(ws.chunks)}
    assert 0 < len(after - before) < len(after) // 2
    assert sorted(second.calls) == sorted(after - before)  # only the changed chunks
    assert summary.chunks_resumed == len(after & before) and summary.chunks_done == len(after)
    log = (ws.generate_dir / "progress.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["chunk_id"] for line in log) == sorted(after)
    clean = Workspace(tmp_path / "clean")
    generate_pairs(make_config(docs, generator=use_generator(ScriptedGenerator())), clean)
    assert _all_pairs(ws) == _all_pairs(clean)
    forced = ScriptedGenerator()
    summary = generate_pairs(make_config(docs, generator=use_generator(forced), force=True), ws)
    assert summary.chunks_resumed == 0 and sorted(forced.calls) == sorted(after)


def test_parallel_generation_gives_the_same_pairs(
    docs: Path, tmp_path: Path, use_generator: Register
) -> None:
    serial, parallel = Workspace(tmp_path / "s"), Workspace(tmp_path / "p")
    generate_pairs(make_config(docs, generator=use_generator(ScriptedGenerator())), serial)
    threaded = ScriptedGenerator(parallel=True)
    config = make_config(docs, generator=use_generator(threaded), concurrency=4)
    generate_pairs(config, parallel)
    assert sorted(threaded.calls) == sorted(set(threaded.calls)) and len(threaded.calls) == 21
    assert _all_pairs(serial) == _all_pairs(parallel)


def test_other_options_refuse_to_mix_with_earlier_progress(
    docs: Path, workspace: Workspace
) -> None:
    generate_pairs(make_config(docs), workspace)
    with pytest.raises(OutputExistsError, match=r"questions_per_chunk: 10 -> 2.*--force"):
        generate_pairs(make_config(docs, questions_per_chunk=2), workspace)
    summary = generate_pairs(make_config(docs, questions_per_chunk=2, force=True), workspace)
    assert summary.pairs == 42 and summary.chunks_resumed == 0


def test_pairs_made_elsewhere_are_not_overwritten_without_force(
    docs: Path, workspace: Workspace
) -> None:
    workspace.root.mkdir()
    workspace.pairs_train.write_text("precious\n")
    with pytest.raises(OutputExistsError, match="--force"):
        generate_pairs(make_config(docs), workspace)
    assert workspace.pairs_train.read_text() == "precious\n"
    assert not workspace.chunks.exists()


def test_questions_file_is_never_read(
    docs: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "Zebracorn question about the carry over limit?"
    (docs / "questions.jsonl").write_text(json.dumps({"question": secret}) + "\n")
    # Even if a JSONL loader existed, the questions must not become training material.
    monkeypatch.setitem(LOADERS, ".jsonl", load_text)
    corpus = load_corpus(make_config(docs).chunk)
    assert corpus.documents == 3 and corpus.skipped == ()
    assert not any("Zebracorn" in chunk.text for chunk in corpus.chunks)
    generate_pairs(make_config(docs), workspace)
    assert "Zebracorn" not in workspace.chunks.read_text()
    assert "Zebracorn" not in workspace.pairs_train.read_text()
    with pytest.raises(InputError, match="real evaluation questions"):
        load_corpus(make_config(docs / "questions.jsonl").chunk)


def test_no_documents_is_a_clear_error(tmp_path: Path, workspace: Workspace) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "questions.jsonl").write_text("{}\n")
    with pytest.raises(NoDocumentsError, match="no readable documents"):
        generate_pairs(make_config(empty), workspace)
    assert not workspace.root.exists()


@pytest.mark.slow
def test_consistency_filter_drops_queries_the_base_model_cannot_place(
    docs: Path, tmp_path: Path, tiny_mean_model: Path
) -> None:
    unfiltered = generate_pairs(make_config(docs), Workspace(tmp_path / "unfiltered"))
    loose = generate_pairs(
        make_config(docs, filter_topk=21, filter_model=str(tiny_mean_model)),
        Workspace(tmp_path / "loose"),
    )
    # top 21 of 21 chunks keeps every query
    assert loose.pairs == unfiltered.pairs and "not_in_top_k" not in loose.dropped
    strict = generate_pairs(
        make_config(docs, filter_topk=1, filter_model=str(tiny_mean_model)),
        Workspace(tmp_path / "strict"),
    )
    assert strict.dropped["not_in_top_k"] > 0
    assert strict.pairs + strict.dropped["not_in_top_k"] == unfiltered.pairs


def test_an_ict_cap_thins_every_chunk_instead_of_dropping_the_last_ones(
    docs: Path, workspace: Workspace
) -> None:
    summary = generate_pairs(make_config(docs, max_pairs=21), workspace)
    pairs = read_pairs(workspace.pairs_train) + read_pairs(workspace.pairs_eval)
    assert summary.chunks_done == 21 and len(pairs) == 21
    assert len({p.positive_id for p in pairs}) == 21  # one pair from each chunk
    assert summary.dropped["over_max_pairs"] > 0
