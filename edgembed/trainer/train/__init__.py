"""`edgembed train`: fine-tune an embedding model on the generated pairs (and on what people
logged and marked), within a time budget, keeping the best epoch."""

from edgembed.trainer.train.finetune import TrainResult, train_model

__all__ = ["TrainResult", "train_model"]
