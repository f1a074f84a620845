"""coopbot's core: articles, chunking, encoders, the index store, retrieval and answers.

This package never imports telegram or the CLI, nor reads the environment: the front ends
in ``bot`` pass it plain configuration objects.
"""

__version__ = "0.1.0"
