"""Where a session's dependants are filed, written once for every engine.

A session's students and revisions live in the session's namespace, whoever writes
them: a namespace view reaches only its own sessions, and the unscoped root store, which
reaches every namespace, must not file them under the default namespace (where the
session's own namespace would never see them). And a namespace view may not file a
revision under another namespace's session by naming its id: that revision would be
invisible to its own session's namespace, yet show in the root store's overview of that
session and go with its ``delete_session``.

The decisions, errors and messages are here; an engine only fetches what they need (the
session's stored document, or the first of the named sessions found elsewhere), in its
own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from ._backend_common import damaged
from ._errors import ErrorCode, PersistenceError
from ._models import CodeRevision, StoredItem

__all__ = [
    "filed_in_session_namespace",
    "held_in_view",
    "refuse_revisions_elsewhere",
    "revision_sessions_to_check",
    "session_namespace",
]


def session_namespace(view_namespace: str | None, session: Mapping[str, Any]) -> str:
    """The namespace of a stored session (a view's own, as it reaches no other).

    STORAGE_ERROR naming the session when the stored namespace is not a name (written
    through ``Store.documents``, never checked): nothing may be filed under it.
    """
    if view_namespace is not None:
        return view_namespace
    namespace = session.get("namespace_id")
    if type(namespace) is not str or not namespace:
        raise damaged("Session", session.get("_id"), f"namespace_id is {namespace!r}")
    return namespace


def filed_in_session_namespace(
    revision: CodeRevision, view_namespace: str | None, session: Mapping[str, Any]
) -> CodeRevision:
    """``revision`` as it is filed: in its session's namespace (the same object when it already is)."""
    namespace = session_namespace(view_namespace, session)
    if namespace == revision.namespace_id:  # the usual case: no copy on the hot path
        return revision
    return revision.model_copy(update={"namespace_id": namespace})


def revision_sessions_to_check(view_namespace: str | None, session_ids: Iterable[str]) -> list[str]:
    """The sessions to look up before a view saves revisions under them (each once, in order).

    None for the root store, which reaches every namespace (``record_code`` files by the
    session's). A session that does not exist (yet) is no refusal: ``save_revision`` has
    never required its session, so the engine looks only for those found elsewhere.
    """
    if view_namespace is None:
        return []
    return list(dict.fromkeys(session_ids))


def refuse_revisions_elsewhere(view_namespace: str | None, other_session_id: object) -> None:
    """PERMISSION_DENIED if the engine found one of the sessions in another namespace."""
    if other_session_id is None or view_namespace is None:
        return
    raise PersistenceError(
        ErrorCode.PERMISSION_DENIED,
        f"session {other_session_id!r} is not in namespace {view_namespace!r}: a view cannot file revisions there",
    )


Item = TypeVar("Item", bound=StoredItem)


def held_in_view(items: list[Item], view_namespace: str | None) -> list[Item]:
    """``items`` (domain items a view's query found), each a document of the view's namespace.

    An engine whose namespace is a column beside the document (SQLite) finds rows by that
    column; a document and its checksum copied over another namespace's row still verify
    (the checksum is of the bytes, not of where they sit), so a view would serve another
    namespace's item. STORAGE_ERROR naming it instead. The root store reaches every namespace.
    """
    if view_namespace is not None:
        for item in items:
            if getattr(item, "namespace_id", view_namespace) != view_namespace:
                raise damaged(
                    type(item).__name__, item.id, f"the row of namespace {view_namespace!r} holds another's document"
                )
    return items
