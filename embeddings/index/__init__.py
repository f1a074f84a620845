"""The index on disk and the builds that write it.

    storage   the seam: what search reads (ReadableIndex) and a build writes (WritableIndex)
    records   the stored records (articles, passages, sentences), engine-neutral
    layout    the folder: CURRENT, builds/, the build lock, publishing, pruning
    database  a build's SQLite schema, read-only opening, SQLite errors as the index's
    reader    LoadedIndex (SQLite + FAISS), open_index, read_manifest
    writer    IndexWriter (SQLite + FAISS), one transaction per change
    lookup    indexed articles for duplicate checks
    summaries articles listed without loading vectors
    keyword   FTS5 BM25 and the word counts beside it
    vectors   FAISS flat or HNSW, main + delta files
    manifest  what a build was made from and with
    builder   build_index: compare, remove, prepare, embed, store, commit
    freshness check_freshness: does the index match the corpus and settings?
    status    what `coopbot status` reports
    leases    the index a server uses now, closed once replaced and no search holds it
    prepare   chunks and MinHash signatures (worker processes for large builds)
    embedding cache-aware embedding, sentence vectors
    report    BuildObserver, BuildReport
"""
