"""Text to vectors: the Encoder interface, MiniLM on ONNX Runtime or torch, e5, and the
embedding cache."""
