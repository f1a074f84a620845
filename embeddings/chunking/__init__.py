"""Sentences and token-budgeted passages."""
