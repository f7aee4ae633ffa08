"""When a local index merges its segments, and the merge itself.

Every update adds a small segment, and the passages it removes or replaces stay in the older
ones, marked deleted. Small segments are merged when there are more than MAX_SEGMENTS, and
everything is merged into one when the small ones outgrow the biggest (or a quarter of it is
deleted), so search stays fast. A merge copies the live documents, vectors and postings into
one new segment: nothing is embedded or tokenised again, and since BM25 uses the whole
collection's statistics, no score changes. The backend (`qa.stores.local`) calls it after
each update; the policy is apart so it can be read and tested on its own.

Example:
    >>> from qa.stores.merging import merge_due
    >>> merge_due([1000, 10, 10], [0, 0, 0]) is None  # small updates: kept as they are
    True
    >>> merge_due([1000, 400, 200], [0, 0, 0])  # the small ones outgrew half the biggest
    [0, 1, 2]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.stores import bm25
from qa.stores.manifest import next_segment
from qa.stores.segments import Segment, load_segment, write_segment

# Merge policy: at most this many segments (the smallest are merged beyond it); one segment
# again when the others hold more than FULL_MERGE_SHARE of the biggest's passages, or more
# than DELETED_SHARE of the biggest is deleted.
MAX_SEGMENTS = 8
FULL_MERGE_SHARE = 0.5
DELETED_SHARE = 0.25


def merge_due(sizes: list[int], dead: list[int]) -> list[int] | None:
    """Which segments (by position) to merge into one, or None. `sizes` counts live passages."""
    if len(sizes) < 2:
        return None
    biggest = int(np.argmax(sizes))
    rest = sum(sizes) - sizes[biggest]
    if rest > FULL_MERGE_SHARE * sizes[biggest] or dead[biggest] > DELETED_SHARE * (sizes[biggest] + dead[biggest]):
        return list(range(len(sizes)))
    if len(sizes) > MAX_SEGMENTS:
        smallest = sorted(range(len(sizes)), key=lambda i: sizes[i])
        return sorted(smallest[: len(sizes) - MAX_SEGMENTS // 2 + 1])
    return None


def merged(folder: Path, segments: list[Segment], entries: list[dict], dimension: int,
           everything: bool = False) -> tuple[list[Segment], list[dict]]:
    """The segments after the merge the policy calls for (if any; all of them if `everything`):
    the merged ones' live documents, vectors and postings in one new segment, nothing embedded
    or tokenised again."""
    deleted = [set(e["deleted"]) for e in entries]
    sizes = [sum(len(d.passages) for d in seg.documents if d.source not in gone) for seg, gone in zip(segments, deleted)]
    dead = [len(seg) - size for seg, size in zip(segments, sizes)]
    chosen = list(range(len(segments))) if everything else merge_due(sizes, dead)
    if not chosen:
        return segments, entries
    picked = [(seg.documents[d].source, i, d) for i in chosen for seg in [segments[i]]
              for d in range(len(seg.documents)) if seg.documents[d].source not in deleted[i]]
    picked.sort()
    new_rows = {i: np.full(len(segments[i]), -1, dtype=np.int64) for i in chosen}
    offset = 0
    for _, i, d in picked:
        seg = segments[i]
        n = len(seg.documents[d].passages)
        new_rows[i][int(seg.first_row[d]) : int(seg.first_row[d]) + n] = np.arange(offset, offset + n)
        offset += n
    postings = bm25.Postings.merge([(segments[i].postings, new_rows[i]) for i in chosen], offset)
    docs = [segments[i].documents[d] for _, i, d in picked]
    name = next_segment(folder)
    files = write_segment(folder / name, docs, (segments[i].document_vectors(d) for _, i, d in picked), postings,
                          dimension, alone=len(chosen) == len(segments))
    keep = [i for i in range(len(segments)) if i not in chosen]
    return ([segments[i] for i in keep] + [load_segment(folder / name, files)],
            [entries[i] for i in keep] + [{"name": name, "files": files, "deleted": []}])
