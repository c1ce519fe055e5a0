"""One upsert plan for every engine: what ``DocumentStore.upsert_documents`` does with each
document of a tool's batch (insert, replace, leave alone, refuse) and why.

The rules live here once; an engine only runs queries:

1. ``batch_of`` and ``check_batch``: the batch must be a sequence; each document is put in
   the form it is stored in (``tool_document``) and checked (``encode_stored_document``,
   then the collection's own refusals), one message per reason on every engine. A refused
   document is a ``BatchResult.failed`` entry, never a failed batch.
2. The engine reads the digests stored under the ids that passed (its own hash of a
   document's BSON: the same document hashes the same however often it is given).
3. ``plan_upsert`` (pure): a new id is inserted, a stored id with another digest replaced,
   one with the same digest left alone. The batch is taken in order, as if each document
   were upserted after the one before: a later copy of an id is planned against the
   earlier copy (``Step.follows``), and is not written when that one was not.
4. The engine writes ``plan.runnable(...)`` its own way (one bulk write per
   ``plan.rounds``; rows one by one in a transaction), recording failures by position;
   ``plan.result`` turns them into the caller's ``BatchResult``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._interfaces import BatchResult
from ._mapping import encode_stored_document, invalid, tool_document
from ._students import embedded_students

__all__ = ["Checked", "Step", "UpsertPlan", "batch_of", "check_batch", "plan_upsert"]

Action = Literal["insert", "replace", "unchanged"]


@dataclass(frozen=True, slots=True)
class Checked:
    """A document of the batch that passed the checks, in its stored form, with the BSON that measured it."""

    position: int
    document: dict[str, Any]
    encoded: bytes


@dataclass(frozen=True, slots=True)
class Step:
    """What is done with one checked document.

    ``follows`` is the batch position of the earlier write of the same id this step was
    planned against (None: planned against what is stored).
    """

    position: int
    document: dict[str, Any]
    encoded: bytes
    digest: object
    action: Action
    follows: int | None = None


@dataclass
class UpsertPlan:
    """The steps of a batch in batch order, and the documents refused before any write."""

    steps: list[Step] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    @property
    def writes(self) -> list[Step]:
        """The steps that write (insert or replace), in batch order."""
        return [step for step in self.steps if step.action != "unchanged"]

    @property
    def rounds(self) -> list[list[Step]]:
        """The writes in rounds an unordered bulk write may run: the n-th write of an id in round n.

        A batch without repeated ids is one round (one bulk write).
        """
        rounds: list[list[Step]] = []
        depth: dict[str, int] = {}
        for step in self.writes:
            index = depth.get(step.document["_id"], 0)
            depth[step.document["_id"]] = index + 1
            if index == len(rounds):
                rounds.append([])
            rounds[index].append(step)
        return rounds

    @staticmethod
    def runnable(steps: Iterable[Step], failed: dict[int, str]) -> Iterator[Step]:
        """The steps to write, lazily: one whose earlier copy was not written is recorded in
        ``failed`` (by position, with why) instead, so its own followers are skipped too.

        ``failed`` holds the failures of the writes so far (the engine adds each as it learns it).
        """
        for step in steps:
            reason = _lost(step, failed)
            if reason is None:
                yield step
            else:
                failed[step.position] = reason

    def result(self, failed: Mapping[int, str] | None = None) -> BatchResult:
        """The caller's answer: counts by action, and every refusal and failure in batch order.

        ``failed`` holds the writes that failed (by position, with why); an unchanged copy
        that follows one of them fails with it. Without ``failed`` (a dry run): the plan.
        """
        failures = dict(failed or {})
        result = BatchResult(failed=list(self.refused))
        for step in self.steps:
            reason = failures.get(step.position)
            if reason is None and step.action == "unchanged":
                reason = _lost(step, failures)
            if reason is not None:
                result.failed.append((step.position, reason))
            elif step.action == "insert":
                result.inserted += 1
            elif step.action == "replace":
                result.updated += 1
            else:
                result.unchanged += 1
        result.failed.sort()
        return result


def _lost(step: Step, failed: Mapping[int, str]) -> str | None:
    """Why ``step`` cannot stand: the earlier copy it was planned against was not written."""
    if step.follows is None or step.follows not in failed:
        return None
    return f"an earlier copy of this _id (position {step.follows}) was not written: {failed[step.follows]}"


def batch_of(documents: object) -> Sequence[Any]:
    """The batch as a sequence; INVALID_DATA for the whole call when it is not one (a string,
    a single dict, a generator are not batches of documents)."""
    if isinstance(documents, str | bytes | bytearray) or not isinstance(documents, Sequence):
        raise invalid(f"documents must be a sequence of dicts, not {type(documents).__name__}")
    return documents


def check_batch(collection: str, documents: Sequence[Any]) -> tuple[list[Checked], list[tuple[int, str]]]:
    """Each document checked on its own: those that pass, in their stored form, and why the others are refused.

    Each is encoded once: the encoding that measured it is the one an engine hashes.
    """
    checked: list[Checked] = []
    refused: list[tuple[int, str]] = []
    for position, given in enumerate(documents):
        # Normalized before the digest: the same session hashes the same however its code was spelt.
        document = tool_document(collection, given)
        encoded = encode_stored_document(document)
        if isinstance(encoded, str):
            refused.append((position, encoded))
            continue
        reason = embedded_students(document) if collection == "sessions" else None
        if reason is not None:
            refused.append((position, reason))
            continue
        checked.append(Checked(position, document, encoded))
    return checked, refused


def plan_upsert(
    checked: Iterable[Checked],
    refused: list[tuple[int, str]],
    stored: Mapping[str, object],
    digest: Callable[[bytes], object],
) -> UpsertPlan:
    """What to do with each checked document, given the digests ``stored`` under their ids."""
    plan = UpsertPlan(refused=list(refused))
    # Per id: the digest it holds at this point of the batch, and the position of the write that gave it.
    state: dict[str, tuple[object, int | None]] = {key: (value, None) for key, value in stored.items()}
    for item in checked:
        document_id: str = item.document["_id"]
        value = digest(item.encoded)
        known = state.get(document_id)
        if known is None:
            action: Action = "insert"
            follows = None
        else:
            before, follows = known
            action = "unchanged" if before == value else "replace"
        plan.steps.append(Step(item.position, item.document, item.encoded, value, action, follows))
        state[document_id] = (value, follows if action == "unchanged" else item.position)
    return plan
