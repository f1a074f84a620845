"""The corpus: folders and JSONL collections, fetching, adding, removing, duplicates.

The one writer of the seeds folder.
"""
