"""Opening, creating, updating and rebuilding the index on disk.

The index is derived data: SQLite is the store of record, so anything here can be rebuilt.
One writer at a time (Whoosh's lock); writers wait for it rather than fail. Every commit also
rewrites one state document naming the store write (seq, token) the index reflects, and every
document carries the token of its snippet's last change, so the caller can tell whether the
index agrees with the store and diff the two when it does not.

Rebuilds happen aside: several processes each write a segment into a directory of their own,
the segments are put together into a staging index, and the live index switches to them with
one new table of contents (Whoosh's own atomic commit), so readers never see a half-built index.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield, byte_to_length
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, FileIndex, clean_files
from whoosh.reading import SegmentReader
from whoosh.util.filelock import try_for
from whoosh.writing import LockError, PostingPool

from index import faults
from index.errors import IndexBusy, IndexUnavailable
from index.segment_writer import BulkSegmentWriter
from index.schema import STATE_DOC_ID, build_schema, documents_for, parse_state, state_document

WRITER_TIMEOUT = 15.0  # seconds a writer waits for another to finish before giving up
WRITER_MB = 256  # Whoosh's in-memory pool per writer; larger pools make rebuilds faster
MERGE_FACTOR = 10  # small segments of one size class merged together (see merge_tiers)
INDEX_NAME = "MAIN"  # Whoosh's default index name: files are _MAIN_<gen>.toc and MAIN_<id>.seg


@dataclass(frozen=True)
class IndexState:
    """The store write an index reflects: its seq and token, and the index's generation."""

    seq: int
    token: str
    generation: int


def open_index(path: str | Path) -> FileIndex:
    """Open the index at ``path``, raising :class:`IndexUnavailable` if it can't be used."""
    path = Path(path)
    try:
        # Inside the try: exists_in reads the TOC, and a garbage TOC raises from Whoosh here.
        if not whoosh_index.exists_in(str(path)):
            raise IndexUnavailable(f"no index in {path}")
        ix = FileStorage(str(path)).open_index()
        wanted = build_schema()
        if sorted(ix.schema.names()) != sorted(wanted.names()):
            raise IndexUnavailable(f"index in {path} was built with another schema")
        ix.doc_count_all()  # reads the segment list: fails here if files are missing
        return ix
    except IndexUnavailable:
        raise
    except Exception as exc:  # a torn or foreign index can fail in many ways inside Whoosh
        raise IndexUnavailable(f"index in {path} is unreadable: {exc}") from exc


def create_index(path: str | Path) -> FileIndex:
    """Create an empty index at ``path``, replacing whatever was there."""
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return FileStorage(str(path)).create_index(build_schema())


def merge_tiers(writer, segments: list) -> list:
    """Whoosh merge policy: merge segments of one size class once there are ``MERGE_FACTOR`` of them.

    Size classes are powers of ten of a segment's documents (deleted ones included). Whoosh's
    own policy (MERGE_SMALL) now and then rewrote the large segments of the last rebuild inside
    a learned-text commit: seconds under the writer lock (other writers timed out: IndexBusy),
    and a new segment id whose postings every reader had to read again. Here a commit merges
    the few small segments of recent commits, a segment mostly deleted is rewritten with them,
    and a rebuild's segments stay as they are until the next rebuild.
    """
    tiers: dict[int, list] = {}
    for segment in segments:
        tiers.setdefault(len(str(max(segment.doc_count_all(), 1))), []).append(segment)
    merging = [seg for group in tiers.values() if len(group) >= MERGE_FACTOR for seg in group]
    merging += [seg for seg in segments if seg not in merging and seg.deleted_count() * 2 > seg.doc_count_all()]
    if len(merging) < 2 and not any(seg.deleted_count() for seg in merging):
        return segments
    for segment in merging:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        try:
            writer.add_reader(reader)
        finally:
            reader.close()
    return [seg for seg in segments if seg not in merging]


def _writer(ix: FileIndex, timeout: float = WRITER_TIMEOUT):
    try:
        writer = ix.writer(timeout=timeout, limitmb=WRITER_MB)
    except LockError as exc:
        raise IndexBusy("the index stayed locked by another writer") from exc
    plain = writer.per_document_reader
    writer.per_document_reader = lambda: _LengthsInMemory(plain())
    return writer


def _state_in(segments, storage, schema, generation: int) -> IndexState | None:
    # The state document is rewritten by every commit, so it is almost always in the newest
    # segment: look there first and open only as many segment readers as needed.
    for segment in reversed(segments):
        reader = SegmentReader(storage, schema, segment, generation=generation)
        try:
            if ("doc_id", STATE_DOC_ID) not in reader:
                continue
            for docnum in reader.postings("doc_id", STATE_DOC_ID).all_ids():
                if not reader.is_deleted(docnum):
                    found = parse_state(reader.stored_fields(docnum).get("data_version", ""))
                    return IndexState(*found, generation) if found else None
        finally:
            reader.close()
    return None


def on_latest_toc(ix: FileIndex, use):
    """``use(toc)`` over the index's latest table of contents, read again when another process's
    commit merged one of its segments away between reading the TOC and opening the segment, or
    removed the TOC itself between listing the generations and opening the newest (seen in a
    follower under live load: ``_MAIN_117.toc`` gone)."""
    for attempt in range(10):
        try:
            return use(ix._read_toc())
        except OSError:
            if attempt == 9:
                raise


def indexed_state(ix: FileIndex) -> IndexState | None:
    """The store write this index reflects, or None if unknown (or built with older analysis)."""
    return on_latest_toc(ix, lambda toc: _state_in(toc.segments, ix.storage, toc.schema, toc.generation))


def applied_seq(path: str | Path) -> int | None:
    """The store write the index at ``path`` reflects (None if unknown or unreadable), cheaply.

    Unlike ``indexed_state(open_index(path))`` it opens no segment reader but the state
    document's: open_index's check opens every segment's.
    """
    try:
        state = indexed_state(FileStorage(str(path)).open_index())
    except Exception:  # missing, replaced or torn meanwhile: unknown for now
        return None
    return None if state is None else state.seq


def latest_generation(path: str | Path) -> int:
    """The index's current generation (-1 if none): a cheap way to notice another commit."""
    try:
        return TOC._latest_generation(FileStorage(str(path)), INDEX_NAME)
    except OSError:
        return -1


def index_revisions(reader) -> dict[str, set[str]]:
    """Every live document's snippet key with the change tokens its documents carry."""
    revs: dict[str, set[str]] = {}
    for leaf, _ in reader.leaf_readers():
        if not leaf.has_column("rev"):
            continue
        column = leaf.column_reader("rev")
        for docnum in leaf.all_doc_ids():
            value = column[docnum]
            if value:
                key, _, token = value.decode().partition(" ")
                revs.setdefault(key, set()).add(token)
    return revs


def _cancel(writer) -> None:
    """Cancel a writer and delete the files its unfinished segment had opened."""
    writer.cancel()
    prefix = writer.newsegment.segment_id() + "."
    for filename in writer.storage.list():
        if filename.startswith(prefix):
            try:
                writer.storage.delete_file(filename)
            except OSError:
                pass


def _revisions_of(writer) -> dict[str, set[str]]:
    reader = writer.reader()
    try:
        return index_revisions(reader)
    finally:
        reader.close()


@dataclass
class Sync:
    """What one synchronising commit did."""

    mode: str  # "none" (already in step), "tail" (applied newer writes), "reconcile" (diffed)
    keys: int = 0
    seq: int = 0


def sync_locked(ix: FileIndex, plan: Callable[[IndexState | None, Callable[[], dict]], tuple | None],
                timeout: float = WRITER_TIMEOUT) -> Sync:
    """Take the writer lock, then let ``plan`` decide what to write from the index's state.

    ``plan(state, revisions)`` reads the store (``revisions()`` gives the index's per-key
    tokens, for a diff) and returns ``(mode, snippets, keys, seq, token)``, or None when the
    index is in step. Reading the store while holding the lock means the last writer always
    writes the latest committed state, however writers in several processes interleave.
    """
    writer = _writer(ix, timeout)
    try:
        state = _state_in(writer.segments, writer.storage, writer.schema, writer.generation - 1)
        found = plan(state, lambda: _revisions_of(writer))
        if found is None:
            _cancel(writer)
            return Sync("none", 0, state.seq if state else 0)
        mode, snippets, keys, seq, token = found
        writer.update_document(**state_document(seq, token))
        for key in keys:
            writer.delete_by_term("key", key)
        for snippet in snippets:
            if snippet["status"] == "published":
                for doc in documents_for(snippet):
                    writer.add_document(**doc)
        faults.point("index-before-commit")
    except BaseException:
        _cancel(writer)
        raise
    writer.commit(mergetype=merge_tiers)
    faults.point("index-committed")
    return Sync(mode, len(keys), seq)


def apply_changes(ix: FileIndex, snippets: Iterable[dict], seq: int, token: str = "") -> None:
    """Replace the documents of these snippets and record write (seq, token) (tests and tools)."""
    snippets = list(snippets)
    sync_locked(ix, lambda state, revisions: ("tail", snippets, [s["key"] for s in snippets], seq, token))


class _QuickPool(PostingPool):
    """Whoosh's posting pool without its per-posting checks and size sums (a tenth of a build).

    The memory limit is kept by counting postings at Whoosh's own estimate for a short term.
    """

    PER_POSTING = 150  # bytes: Whoosh's size formula for a ~8-byte term

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._room = max(self.limit // self.PER_POSTING, 1)
        self._count = 0

    def add(self, item) -> None:
        self.current.append(item)
        self._count += 1
        if self._count >= self._room:
            self.save()
            self._count = 0


class _LengthsInMemory:
    """A segment's per-document reader whose field lengths are read once per field.

    Writing postings asks for the length of each posting's document (Whoosh keeps per-block
    length bounds): once per posting, from the column file, that was a fifth of a rebuild.
    """

    def __init__(self, reader) -> None:
        self._reader, self._lengths = reader, {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0):
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            column = self._reader._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            if column is None:
                lengths = self._lengths[fieldname] = [default] * self._reader.doc_count_all()
            else:  # the whole column at once (Whoosh looks the column up again for every document)
                decoded = [byte_to_length(b) if b else None for b in range(256)]  # as Whoosh answers
                lengths = self._lengths[fieldname] = [decoded[b] for b in column]
        return lengths[docnum]

    def close(self) -> None:
        self._reader.close()


def build_segment(path: str | Path, snippets: Iterable[dict], state: tuple[int, str] | None = None,
                  progress: Callable[[int], None] | None = None, bulk: bool = True) -> int:
    """Write ``snippets`` into a new index at ``path`` as one segment; return its document count.

    One of these runs in each build process; :func:`assemble` then joins their segments.
    ``bulk`` writes it with our bulk writer (index/segment_writer.py), else with Whoosh's.
    """
    ix = create_index(path)
    if bulk:
        writer = BulkSegmentWriter(ix, timeout=WRITER_TIMEOUT)
    else:
        writer = _writer(ix)
        writer.pool = _QuickPool(writer._tempstorage, writer.newsegment, limitmb=WRITER_MB)
    count = 0
    try:
        if state is not None:
            writer.add_document(**state_document(*state))
        for snippet in snippets:
            if snippet["status"] == "published":
                for doc in documents_for(snippet):
                    writer.add_document(**doc)
                    count += 1
            if progress:
                progress(1)
    except BaseException:
        writer.cancel()
        raise
    writer.commit(merge=False)
    return count


def _move_segments(source: FileIndex, target: Path) -> list:
    """Move the files of ``source``'s segments into ``target``; the segments moved."""
    segments = source._read_toc().segments
    names = {s.segment_id() for s in segments}
    pattern = TOC._segment_pattern(INDEX_NAME)
    for filename in os.listdir(source.storage.folder):
        match = pattern.match(filename)
        if match and match.group(1) in names:
            os.replace(Path(source.storage.folder) / filename, target / filename)
    return segments


def assemble(path: str | Path, parts: list[str | Path]) -> FileIndex:
    """Join the segments of the indexes in ``parts`` into one new index at ``path`` (no merging)."""
    ix = create_index(path)
    segments = []
    for part in parts:
        segments += _move_segments(open_index(part), Path(path))
        shutil.rmtree(part, ignore_errors=True)
    TOC(build_schema(), segments, 1).write(ix.storage, INDEX_NAME)
    return FileStorage(str(path)).open_index()


def swap_in(live: str | Path, staging: FileIndex, before: Callable[[], None] | None = None,
            timeout: float = WRITER_TIMEOUT) -> int:
    """Make ``staging``'s contents the live index in one commit; return the new generation.

    Holds the live index's writer lock while ``before()`` runs (the last catch-up on the
    staging index) and while the files move, so no other writer commits in between. Readers
    switch at the new table of contents, as after any commit; the old files go with it.
    """
    live = Path(live)
    try:
        ix = open_index(live)
    except IndexUnavailable:
        ix = create_index(live)
    lock = ix.lock("WRITELOCK")
    if not try_for(lock.acquire, timeout=timeout, delay=0.1):
        raise IndexBusy("the index stayed locked by another writer")
    try:
        if before:
            before()
        segments = _move_segments(staging, live)
        generation = TOC._latest_generation(ix.storage, INDEX_NAME) + 1
        faults.point("swap-files-moved")
        TOC(build_schema(), segments, generation).write(ix.storage, INDEX_NAME)
        clean_files(ix.storage, INDEX_NAME, generation, segments)
    finally:
        lock.release()
    return generation


def rebuild(path: str | Path, snippets: Iterable[dict], seq: int, token: str = "",
            progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the index at ``path`` from ``snippets`` in this process, aside then swapped in.

    The one-process form of server/index_build.py (tests and tools); returns the documents written.
    """
    path = Path(path)
    staging = path.parent / f".{path.name}.staging-{os.getpid()}"
    try:
        count = build_segment(staging, snippets, (seq, token), progress)
        swap_in(path, open_index(staging))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return count
