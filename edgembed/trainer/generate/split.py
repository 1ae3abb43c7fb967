"""The train/eval split of the generated pairs: by passage, never by pair."""

from __future__ import annotations

import random
from collections.abc import Sequence

from edgembed.formats.pairs import Pair

__all__ = ["split_by_chunk"]


def split_by_chunk(
    pairs: Sequence[Pair], eval_fraction: float, seed: int
) -> tuple[list[Pair], list[Pair]]:
    """Split pairs into train and eval by their positive chunk, never by pair.

    About `eval_fraction` of the chunks (at least one, when there are two or more and the
    fraction is above zero) go to eval with all their pairs, so no passage that is a positive
    in eval is ever a positive in training. The choice depends only on the chunk ids and `seed`.

    Returns:
        (train, eval), each in the order of `pairs`.
    """
    chunk_ids = sorted({pair.positive_id for pair in pairs})
    random.Random(f"split:{seed}").shuffle(chunk_ids)
    n_eval = round(eval_fraction * len(chunk_ids))
    if eval_fraction > 0 and len(chunk_ids) >= 2:
        n_eval = min(max(n_eval, 1), len(chunk_ids) - 1)
    eval_ids = set(chunk_ids[:n_eval])
    train = [pair for pair in pairs if pair.positive_id not in eval_ids]
    evaluation = [pair for pair in pairs if pair.positive_id in eval_ids]
    return train, evaluation
