#!/usr/bin/env python3
"""Time FAISS's exact search (IndexFlatL2) on the gallery `netra bench index` times.

`netra bench index --n N --queries Q --batch B` fills its index with N synthetic 128-d
vectors and then draws max(Q, B) query vectors, all from one xorshift64 stream
(SyntheticVectors in Sources/netra/Commands/BenchStoreCommands.swift, seed 1). This script
draws the same float32 values, bit for bit, so both sides search the same matrix with the
same queries:

  state = seed * 0x9E3779B97F4A7C15 | 1 (mod 2^64)
  each value: state ^= state << 13; state ^= state >> 7; state ^= state << 17
              value = (float32(state >> 40) / 2^24 - 0.5) * 0.3   (float32 arithmetic)

The stream is sequential; numpy draws it in lanes of 65536: the first 65536 states one by
one, then each next block of 65536 from the last by the 65536-step jump, a linear map over
GF(2) applied through eight 256-entry tables (one per byte of the state).

FAISS's IndexFlatL2 is an exact top-k by squared L2 distance over all rows (no per-subject
grouping: NETRA's top-k per subject does a little more work per row kept). Single queries
go one at a time (FAISS then scans with its SIMD distance loop); batches go as one search
call (FAISS then uses BLAS). Figures are p50 and p99 in ms, per query, after one warm-up.

Usage: faiss_reference.py [--n N] [--queries Q] [--batch B] [--top-k K] [--threads T]
Needs numpy and faiss-cpu; never needed by CI. For example, with a throwaway venv:

  python3 -m venv /tmp/faiss-venv && /tmp/faiss-venv/bin/pip install numpy faiss-cpu
  /tmp/faiss-venv/bin/python benchmarks/faiss_reference.py --n 1000000 --queries 200 --batch 64
"""
import argparse
import time

import faiss
import numpy as np

MASK = (1 << 64) - 1
LANES = 1 << 16


def step(state):
    """One xorshift64 step on a Python int (or, wrapping by itself, a numpy uint64 array)."""
    if isinstance(state, int):
        state ^= (state << 13) & MASK
        state ^= state >> 7
        state ^= (state << 17) & MASK
        return state
    state = state ^ (state << np.uint64(13))
    state = state ^ (state >> np.uint64(7))
    return state ^ (state << np.uint64(17))


def to_values(states):
    top = (states >> np.uint64(40)).astype(np.float32)
    return (top / np.float32(1 << 24) - np.float32(0.5)) * np.float32(0.3)


def synthetic_values(count, seed):
    """The first `count` values of SyntheticVectors(seed:), as float32."""
    state = (seed * 0x9E3779B97F4A7C15 | 1) & MASK
    first = []
    for _ in range(LANES):
        state = step(state)
        first.append(state)
    block = np.array(first, dtype=np.uint64)
    # tables[b][v]: the jump applied to the state whose only set byte is byte b, of value v.
    basis = (np.arange(256, dtype=np.uint64)[None, :] << (np.arange(8, dtype=np.uint64)[:, None] * np.uint64(8))).ravel()
    jumped = basis
    for _ in range(LANES):
        jumped = step(jumped)
    tables = jumped.reshape(8, 256)
    out = np.empty(count, dtype=np.float32)
    for start in range(0, count, LANES):
        length = min(LANES, count - start)
        out[start:start + length] = to_values(block[:length])
        following = np.zeros(LANES, dtype=np.uint64)
        for byte in range(8):
            following ^= tables[byte][((block >> np.uint64(8 * byte)) & np.uint64(255)).astype(np.intp)]
        block = following
    return out


def self_check(values, seed):
    """The lane scheme against the plain sequential stream, across the first block boundaries."""
    state = (seed * 0x9E3779B97F4A7C15 | 1) & MASK
    expected = []
    for _ in range(3 * LANES):
        state = step(state)
        expected.append(state)
    assert np.array_equal(values[:3 * LANES], to_values(np.array(expected, dtype=np.uint64))), "generator mismatch"


def percentile(values, fraction):
    """Nearest rank, as `netra bench` computes it."""
    ordered = sorted(values)
    rank = int(np.ceil(fraction * len(ordered)))
    return ordered[min(len(ordered), max(1, rank)) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="gallery size")
    parser.add_argument("--queries", type=int, default=200, help="timed single queries")
    parser.add_argument("--batch", type=int, default=64, help="queries per batch")
    parser.add_argument("--top-k", type=int, default=10, help="neighbours per query")
    parser.add_argument("--threads", type=int, default=1, help="FAISS (OpenMP) threads")
    args = parser.parse_args()
    faiss.omp_set_num_threads(args.threads)

    probes = max(args.queries, args.batch)
    started = time.perf_counter()
    values = synthetic_values((args.n + probes) * 128, seed=1)
    self_check(values, seed=1)
    gallery = values[:args.n * 128].reshape(args.n, 128)
    queries = values[args.n * 128:].reshape(probes, 128)
    drawn = (time.perf_counter() - started) * 1e3

    index = faiss.IndexFlatL2(128)
    started = time.perf_counter()
    index.add(gallery)
    added = (time.perf_counter() - started) * 1e3

    index.search(queries[:1], args.top_k)
    singles = []
    for query in queries[:args.queries]:
        started = time.perf_counter()
        index.search(query[None, :], args.top_k)
        singles.append((time.perf_counter() - started) * 1e3)
    index.search(queries[:args.batch], args.top_k)
    per_query = []
    for start in range(0, probes - args.batch + 1, args.batch):
        group = np.ascontiguousarray(queries[start:start + args.batch])
        started = time.perf_counter()
        index.search(group, args.top_k)
        per_query.append((time.perf_counter() - started) * 1e3 / args.batch)

    options = faiss.get_compile_options() if hasattr(faiss, "get_compile_options") else "?"
    print(f"gallery {args.n} x 128 float32 ({args.n * 512 / 1e6:.0f} MB), the vectors of `netra bench index` "
          f"(drawn in {drawn:.0f} ms), added in {added:.0f} ms; faiss {faiss.__version__} ({options}), {args.threads} thread(s)")
    print(f"IndexFlatL2 single query top-{args.top_k}: p50 {percentile(singles, 0.5):.2f} ms, p99 {percentile(singles, 0.99):.2f} ms")
    print(f"IndexFlatL2 batched, {args.batch} per batch: p50 {percentile(per_query, 0.5):.3f} ms per query, "
          f"p99 {percentile(per_query, 0.99):.3f} ms")


if __name__ == "__main__":
    main()
