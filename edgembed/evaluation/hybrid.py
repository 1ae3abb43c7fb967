"""Hybrid search: BM25 and a dense model fused by reciprocal rank (`evaluate` reports it;
`serve` searches with it).

BM25's share defaults to `HYBRID_WEIGHT`, measured on the real questions of the five question
sets (the sample and four FAQ dev sets, 105-488 questions each; docs/findings.md, "Hybrid"):
with the bundled MiniLM, weight 0.3 raised NDCG@10 by +0.031 to +0.114 on the four FAQ sets and
cost the sample 0.003; higher weights gained a little more on some sets and cost the sample
up to 0.15. The synthetic eval pairs cannot choose it: their queries are sentences taken out
of the passages, which BM25 cannot look up, so they chose 0 where the real questions gained
+0.05 to +0.07.
"""

from __future__ import annotations

__all__ = ["HYBRID_WEIGHT"]

HYBRID_WEIGHT = 0.3
"""BM25's share in the fusion unless the operator sets one (0 turns hybrid off)."""
