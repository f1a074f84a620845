"""The scale-out storage engine: PostgreSQL + pgvector behind `embeddings.index.storage`.

    connection  URLs, connection pools, psycopg failures as coopbot's errors
    schema      the catalog of builds and the tables of one build (a schema each)
    bm25        FTS5's tokens and BM25, reproduced over a postings table
    reader      PostgresIndex: `storage.ReadableIndex`
    writer      PostgresWriter: `storage.WritableIndex`, one transaction per change

Everything above the seam (terms, fusion, grouping, the answer sentence, abstention) is the
embedded engine's code, unchanged: this package only stores and looks up.
"""
