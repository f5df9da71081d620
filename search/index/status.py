"""The live index's state, for /healthz and `hrdnet search status` (search.indexer.status adds what the
outbox still holds for it)."""

from __future__ import annotations

import logging

from whoosh.filedb.filestore import FileStorage

from courses import pricing, reference
from search.index import store
from search.index.schema import SCHEMA_VERSION

log = logging.getLogger(__name__)


def status(pending_changes: int) -> dict:
    """The live index: documents now (runs and courses), when and from how many runs it was built, the
    changes waiting for it (counted by the caller); a warning when it is missing or was built with other
    pricing rules, other default application windows or another schema (`hrdnet search reindex` fixes all)."""
    root = store.index_root()
    name = store.current_name(root)
    if name is None:
        return {
            "status": "warning",
            "index": "missing",
            "message": "검색 색인이 아직 없습니다: hrdnet search reindex 로 만드세요.",
        }
    meta = store.read_meta(root, name)
    try:
        ix = FileStorage(str(root / name)).open_index()
        try:
            documents, generation = ix.doc_count(), ix.latest_generation()
        finally:
            ix.close()
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        log.warning("search index unreadable: %s", type(exc).__name__)
        return {"status": "error", "index": name}
    rules_now = pricing.rules_version()
    out = {
        "status": "ok",
        "index": name,
        "version": f"{name}/{generation}",
        "documents": documents,
        "built_at": meta.get("built_at"),
        "runs_at_build": meta.get("runs"),
        "courses_at_build": meta.get("courses"),
        "pending_changes": pending_changes,
    }
    if meta.get("schema_version") not in (None, SCHEMA_VERSION):
        out |= {"status": "warning", "message": "색인 형식이 바뀌었습니다: hrdnet search reindex 가 필요합니다."}
    elif meta.get("pricing_rules_version") not in (None, rules_now):
        out |= {"status": "warning", "message": "가격 규칙이 바뀌었습니다: hrdnet search reindex 가 필요합니다."}
    elif meta.get("application_windows_version") not in (None, reference.application_window_rules().version):
        out |= {"status": "warning", "message": "모집 기간 기본값이 바뀌었습니다: hrdnet search reindex 가 필요합니다."}
    if store.building(root):
        out["rebuilding"] = True
    return out
