"""Opening, creating, updating and rebuilding the index on disk.

The index is derived data: SQLite is the store of record, so anything here can be rebuilt.
One writer at a time (Whoosh's lock); writers wait for it rather than fail.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex
from whoosh.writing import CLEAR, LockError

from index.errors import IndexBusy, IndexUnavailable
from index.schema import ANALYSIS_VERSION, STATE_DOC_ID, build_schema, documents_for, state_document

WRITER_TIMEOUT = 15.0  # seconds a writer waits for another to finish before giving up
WRITER_MB = 256  # Whoosh's in-memory pool per writer; larger pools make rebuilds faster


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


def _writer(ix: FileIndex):
    try:
        return ix.writer(timeout=WRITER_TIMEOUT, limitmb=WRITER_MB)
    except LockError as exc:
        raise IndexBusy("the index stayed locked by another writer") from exc


def indexed_version(ix: FileIndex) -> int | None:
    """The store data version the index reflects, or None if unknown or built with older analysis."""
    with ix.searcher() as searcher:
        doc = searcher.document(doc_id=STATE_DOC_ID)
    analysis, _, version = (doc or {}).get("data_version", "").rpartition(":")
    return int(version) if doc and analysis == ANALYSIS_VERSION else None


def apply_changes(ix: FileIndex, snippets: Iterable[dict], data_version: int) -> None:
    """Replace the documents of these snippets; only published ones stay searchable."""
    apply_locked(ix, lambda: (list(snippets), data_version))


def apply_locked(ix: FileIndex, read: Callable[[], tuple[list[dict], int] | None]) -> bool:
    """Take the writer lock, then ask ``read`` what to write: (snippets, data version) or None.

    Reading the store while holding the lock means the last writer always writes the latest
    committed state, however writers in several processes interleave. Returns False when
    there was nothing to write.
    """
    writer = _writer(ix)
    try:
        found = read()
        if found is None:
            writer.cancel()
            return False
        snippets, data_version = found
        writer.update_document(**state_document(data_version))
        for snippet in snippets:
            writer.delete_by_term("key", snippet["key"])
            if snippet["status"] == "published":
                for doc in documents_for(snippet):
                    writer.add_document(**doc)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return True


def rebuild(path: str | Path, snippets: Iterable[dict], data_version: int,
            progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index from ``snippets``; return how many documents it holds.

    An existing, readable index is rebuilt in one commit that clears the old segments, so
    readers in other processes switch from the old contents to the new at once. A missing,
    broken or outdated index is created anew.
    """
    try:
        ix = open_index(path)
    except IndexUnavailable:
        ix = create_index(path)
    writer = _writer(ix)
    count = 0
    try:
        writer.add_document(**state_document(data_version))
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
    writer.commit(mergetype=CLEAR)
    return count
