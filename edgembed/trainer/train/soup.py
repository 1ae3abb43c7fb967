"""Weight averaging: two fine-tunes of one base model, averaged weight by weight ("model soup").

Two models fine-tuned from the same pretrained weights stay close enough that their average is
a model too, and the noise each run's data order and sampling put into the weights partly
cancels: on cvsfaq two seeds averaged beat both, on perlfaq the soup of candidate and model in
service gained as much as the candidate with half the spread. `improve --soup` averages its
candidate with the model in service this way (docs/findings.md, "perlfaq: its whole pool marked,
and a soup of candidate and model in service").
"""

from __future__ import annotations

from pathlib import Path

from edgembed.atomic import write_bytes
from edgembed.errors import ModelError

__all__ = ["WEIGHTS", "average_into"]

WEIGHTS = "model.safetensors"
"""The file of a sentence-transformers folder that holds its transformer's weights."""


def average_into(model_dir: Path, other_dir: Path, share: float) -> None:
    """Replace `model_dir`'s weights by `share` of its own plus `1 - share` of `other_dir`'s.

    Floating-point tensors are averaged in their own dtype; `model_dir`'s integer ones
    (position ids) are kept, whether or not `other_dir` holds them. The file is replaced
    atomically: a crash leaves the old weights or the new.

    Raises:
        ModelError: either folder has no safetensors weights, or they do not match name for
            name and shape for shape (the models do not share an architecture).
    """
    from safetensors.torch import load_file, save

    mine_path, other_path = model_dir / WEIGHTS, other_dir / WEIGHTS
    for path in (mine_path, other_path):
        if not path.is_file():
            raise ModelError(f"{path} is missing: weights can only be averaged from safetensors.")
    mine, other = load_file(mine_path), load_file(other_path)
    # Integer buffers (position ids) are not weights: transformers versions save them or not.
    weights = {n for n, t in (*mine.items(), *other.items()) if t.is_floating_point()}
    mismatched = sorted(
        name
        for name in weights
        if name not in mine or name not in other or mine[name].shape != other[name].shape
    )
    if mismatched:
        raise ModelError(
            f"{model_dir} and {other_dir} are different architectures (their weights differ "
            f"at {mismatched[0]}; {len(mismatched)} in all): they cannot be averaged. Use "
            "--soup 1 to keep the candidate as trained."
        )
    mixed = {
        name: (share * tensor + (1 - share) * other[name]).to(tensor.dtype)
        if tensor.is_floating_point()
        else tensor
        for name, tensor in mine.items()
    }
    write_bytes(mine_path, save(mixed, metadata={"format": "pt"}))
