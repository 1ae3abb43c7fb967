"""The texts the parity check embeds: the workspace's eval questions and passages when they
exist, else its chunks, else a built-in set of varied sentences; and always a set of one-to-
three-word inputs.

Only the held-out eval questions count. Topping them up with the training pairs' questions was
tried, to steady a gate that a few dozen questions make noisy: it hid a real loss. ICT
questions are sentences lifted from the passages, easy to match even with int8's noise; with
430 of them all-int8 MiniLM kept over 99.5% of PyTorch's NDCG@10, while on the 130
hand-written sample questions it kept 97.6%, and the 61 eval questions alone (97.8%) had
rightly sent the exporter to the safer recipe.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

from edgembed.atomic import read_jsonl
from edgembed.corpus import read_chunks
from edgembed.errors import InputError
from edgembed.trainer.questions import load_real_questions
from edgembed.workspace import Workspace

__all__ = ["BUILTIN_TEXTS", "SHORT_TEXTS", "ParityTexts", "load_parity_texts"]

log = logging.getLogger(__name__)

# Short and long, questions and statements, code, numbers, lists and other languages, so
# a quantization error anywhere in the vocabulary or in long sequences shows up.
BUILTIN_TEXTS = (
    "How many vacation days do new employees get?",
    "What is the reimbursement limit for a hotel night in London?",
    "Employees accrue 1.5 days of paid time off per month of service.",
    "The quick brown fox jumps over the lazy dog.",
    "Reset your password from the login page by clicking 'Forgot password'.",
    "Is remote work allowed for contractors?",
    "Our Q3 revenue grew 12% year over year to $4.2M.",
    "def embed(texts): return model.encode(texts, normalize_embeddings=True)",
    "SELECT id, name FROM users WHERE created_at > '2024-01-01';",
    "Quel est le délai de préavis pour une démission ?",
    "Wie beantrage ich Elternzeit?",
    "El reembolso de gastos se procesa en un plazo de 30 días.",
    "yes",
    "ok thanks!!",
    "ERROR 503: upstream service unavailable, retry after 30s",
    "Bring your laptop, badge and charger to the first day of onboarding.",
    "The committee meets quarterly to review whistleblower reports in confidence.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Who do I contact if my expense report was rejected?",
    "1. Open the app 2. Tap Settings 3. Choose Privacy 4. Turn off tracking",
    "A 401(k) match of 50% on the first 6% of salary vests over three years.",
    "Can I carry over unused sick days to next year?",
    "Security incidents must be reported to security@example.com within 24 hours.",
    "The patient presented with acute abdominal pain and a fever of 39.2 °C.",
    "Kubernetes schedules pods onto nodes according to resource requests and limits.",
    "What happens to my stock options if I leave the company?",
    "Meeting notes: agreed to ship v2 on Friday; Ana owns the rollout; no blockers.",
    "Do not share customer data in public Slack channels or personal email.",
    "naïve café résumé coöperate — typographic “quotes” and emoji 🚀",
    "Travel must be booked through the corporate portal at least 14 days in advance.",
    " ".join(
        [
            "This long passage checks truncation: the policy applies to every employee,",
            "contractor and intern in every office and country where the company operates,",
            "covers laptops, phones, networks, email, chat and cloud accounts, and explains",
            "what is allowed, what is forbidden, who approves exceptions and how long they",
            "last, how incidents are reported, investigated and closed, and what corrective",
            "action may follow when the rules are broken.",
        ]
        * 6
    ),
    "Parental leave: 16 weeks fully paid for the birth or adoption of a child.",
)


# One to three words, embedded beside the queries and passages: with so few tokens no average
# over a long text hides an int8 error (per-call int8 MiniLM: mean cosine 0.983 on these, 0.994
# on questions), and people do send them: a chat box's "ok", a search for "PTO".
SHORT_TEXTS = (
    "ok",
    "?!",
    "yes",
    "thanks",
    "help",
    "PTO",
    "VPN",
    "holidays",
    "parking",
    "hi there",
    "sick leave",
    "dental plan",
    "401k match",
    "reset password",
    "remote work?",
    "expense report",
    "laptop broken",
    "lunch menu",
    "Wi-Fi password",
    "new hire onboarding",
)


@dataclass(frozen=True)
class ParityTexts:
    """Queries and passages to embed, and which passages answer which query.

    Attributes:
        queries: eval questions; empty when the workspace has no eval pairs.
        corpus: passages (chunks, or the built-in texts).
        relevant: per query, the corpus indices that answer it.
        source: where the texts came from, for the report.
        short: one-to-three-word inputs, compared with PyTorch but not retrieved.
    """

    queries: tuple[str, ...]
    corpus: tuple[str, ...]
    relevant: tuple[frozenset[int], ...]
    source: str
    short: tuple[str, ...] = ()

    @property
    def texts(self) -> list[str]:
        """Queries, passages, then short inputs: the order the embeddings are compared in."""
        return [*self.queries, *self.corpus, *self.short]


def load_parity_texts(
    workspace: Workspace, limit: int, seed: int = 0, questions: Path | None = None
) -> ParityTexts:
    """Pick the parity texts: at most `limit` queries and `limit` passages, sampled with `seed`.
    With `questions` (a real-questions JSONL, as `evaluate` reads) those are the queries, in
    place of the eval pairs: the evidence closest to real use.

    Raises:
        InputError: chunks.jsonl or pairs.eval.jsonl exists but is malformed; `questions` is
            given without chunks, or does not match them.
    """
    rng = random.Random(seed)
    if questions is not None:
        return _real_questions(workspace, questions, limit, rng)
    if not workspace.chunks.exists():
        return ParityTexts((), BUILTIN_TEXTS, (), "built-in sentences", SHORT_TEXTS)
    chunks = {chunk.id: chunk.text for chunk in read_chunks(workspace.chunks)}
    if not chunks:
        return ParityTexts((), BUILTIN_TEXTS, (), "built-in sentences", SHORT_TEXTS)
    pairs = _eval_pairs(workspace, chunks)
    if not pairs:
        ids = sorted(chunks)
        picked = rng.sample(ids, min(limit, len(ids)))
        corpus = tuple(chunks[i] for i in picked)
        return ParityTexts((), corpus, (), f"{workspace.chunks}", SHORT_TEXTS)
    pairs = rng.sample(pairs, min(limit, len(pairs)))
    positives = sorted({chunk_id for _, chunk_id in pairs})
    others = sorted(set(chunks) - set(positives))
    corpus_ids = positives + rng.sample(others, max(0, min(limit - len(positives), len(others))))
    index = {chunk_id: i for i, chunk_id in enumerate(corpus_ids)}
    return ParityTexts(
        queries=tuple(query for query, _ in pairs),
        corpus=tuple(chunks[i] for i in corpus_ids),
        relevant=tuple(frozenset({index[chunk_id]}) for _, chunk_id in pairs),
        source=f"{workspace.pairs_eval} over {workspace.chunks}",
        short=SHORT_TEXTS,
    )


def _real_questions(
    workspace: Workspace, path: Path, limit: int, rng: random.Random
) -> ParityTexts:
    chunks = read_chunks(workspace.chunks) if workspace.chunks.exists() else []
    if not chunks:
        raise InputError(
            f"real questions ({path}) are matched to the workspace's passages, but "
            f"{workspace.chunks} is missing or empty. Run `edgembed chunk DOCS` first."
        )
    real = load_real_questions(path, chunks)
    picked = rng.sample(real, min(limit, len(real)))
    answers = sorted({index for question in picked for index in question.relevant})
    others = sorted(set(range(len(chunks))) - set(answers))
    corpus_ids = answers + rng.sample(others, max(0, min(limit - len(answers), len(others))))
    position = {chunk: i for i, chunk in enumerate(corpus_ids)}
    return ParityTexts(
        queries=tuple(question.question for question in picked),
        corpus=tuple(chunks[i].text for i in corpus_ids),
        relevant=tuple(frozenset(position[i] for i in q.relevant) for q in picked),
        source=f"{path} over {workspace.chunks}",
        short=SHORT_TEXTS,
    )


def _eval_pairs(workspace: Workspace, chunks: dict[str, str]) -> list[tuple[str, str]]:
    """(query, positive chunk id) rows of pairs.eval.jsonl whose chunk still exists."""
    path = workspace.pairs_eval
    if not path.exists():
        return []
    try:
        rows = [(str(row["query"]), str(row["positive_id"])) for row in read_jsonl(path)]
    except (ValueError, KeyError) as exc:
        raise InputError(
            f"{path} is malformed ({exc}). Re-run `edgembed generate DOCS --force`."
        ) from exc
    kept = [row for row in rows if row[1] in chunks]
    if len(kept) < len(rows):
        log.warning(
            "%d eval pairs point at chunks missing from chunks.jsonl", len(rows) - len(kept)
        )
    return kept
