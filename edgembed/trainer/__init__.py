"""Training side: question generation, fine-tuning and evaluation (needs the `train` extra)."""
