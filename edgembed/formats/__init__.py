"""The on-disk artefacts edgembed writes and reads, one typed, versioned module each; nobody
else parses them.

- `pairs`: pairs.train.jsonl and pairs.eval.jsonl (`generate` writes, `train` reads);
- `training_record`: edgembed_training.json in a trained model folder (`train` writes,
  `evaluate`, `export` and `models` read);
- `manifest`: an export folder's manifest.json (`export` writes, the runtime reads);
- `feedback`: the SQLite file of marks (`serve --feedback-db` writes, `train`/`improve` read);
- `querylog`: the JSONL query log (`serve --log-queries` writes, `train` reads).

Standard library only: the serving runtime reads them without torch.
"""
