"""The training package: it produces the model. One subpackage per stage, named as the
command that runs it; none imports another's insides (tests/test_layers.py):

- `generate`: documents -> chunks and (query, passage) pairs;
- `train`: pairs (and marks from use) -> a fine-tuned sentence-transformers folder;
- `evaluate`: base vs fine-tuned on retrieval, decided on real questions.

Needs the ``train`` extra (torch, sentence-transformers); heavy imports happen inside the
functions that use them.
"""
