"""The corpus: folders and JSONL collections, fetching, adding, duplicates.

The one writer of the seeds folder.
"""
