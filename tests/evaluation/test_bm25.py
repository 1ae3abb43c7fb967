from __future__ import annotations

import numpy as np

from edgembed.evaluation.bm25 import BM25, reciprocal_rank_fusion

DOCS = [
    "Employees accrue PTO at 1.5 days per month.",
    "The per diem for business travel is 75 dollars.",
    "Report phishing emails to the security team.",
]


def test_bm25_ranks_the_matching_document_first() -> None:
    scores = BM25(DOCS).scores(["how much is the travel per diem", "phishing email", "zzz"])
    assert scores.shape == (3, 3)
    assert int(np.argmax(scores[0])) == 1
    assert int(np.argmax(scores[1])) == 2
    assert not scores[2].any()


def test_rare_terms_weigh_more() -> None:
    bm25 = BM25(["apple banana", "apple cherry", "apple durian"])
    scores = bm25.scores(["apple cherry"])[0]
    assert scores[1] > scores[0] and scores[0] == scores[2]


def test_rrf_prefers_documents_both_lists_like() -> None:
    a = np.array([[3.0, 2.0, 1.0]])
    b = np.array([[1.0, 3.0, 2.0]])
    fused = reciprocal_rank_fusion(a, b)
    assert int(np.argmax(fused[0])) == 1


def test_scores_are_okapi_bm25_term_by_term() -> None:
    """The inverted index gives what the formula gives when every document is read."""
    docs = [*DOCS, "travel travel travel policy", "", "Per diem: travel, per diem again."]
    queries = ["travel per diem", "policy", "security team phishing", "nothing here"]
    k1, b = 1.5, 0.75
    tokens = [[t for t in d.lower().replace(",", " ").replace(":", " ").replace(".", " ").split()
               if t not in {"the", "is", "for", "to", "at"}] for d in docs]  # fmt: skip
    avg = sum(map(len, tokens)) / len(tokens)
    expected = np.zeros((len(queries), len(docs)))
    for qi, query in enumerate(queries):
        for term in set(query.split()) - {"the", "is", "for", "to", "at"}:
            df = sum(term in t for t in tokens)
            idf = np.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
            for di, t in enumerate(tokens):
                tf = t.count(term)
                norm = k1 * (1 - b + b * len(t) / avg)
                expected[qi, di] += idf * tf * (k1 + 1) / (tf + norm)
    np.testing.assert_allclose(BM25(docs).scores(queries), expected, rtol=1e-12)
