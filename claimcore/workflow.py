"""The claim workflow: states, transitions and who may make each (the only place for it).

The flow follows the seed notice (大足府办发〔2024〕23号, annex 1) as states (DOMAIN.md):

    reported → registered → survey_dispatched → surveyed → collecting → submitted → under_review
    under_review → incomplete → collecting         (one consolidated list of what is missing)
    under_review → declined                        (written reason)
    under_review → adjusted → approved → stamped → paid → closed
    side exits: withdrawn, reopened (→ collecting or under_review)

Who does what, and why (what the office would expect)
-----------------------------------------------------
- ``reported``: a claim starts here. It is created by a township **liaison** (the township takes
  reports from residents) or an **adjuster** (the lead insurer's 24 h hotline takes every report).
  See :data:`REPORTING_ROLES`.
- ``reported → registered``, ``registered → survey_dispatched``: **adjuster**. The lead insurer
  receives every report and organises every survey, including dispatching co-insurer surveyors
  (rotation or central dispatch).
- ``survey_dispatched → surveyed`` (the survey is done and the checklist issued on the spot) and
  ``surveyed → collecting``: the **adjuster**, or a co-insurer **surveyor** that took part in *this*
  survey (guard ``survey_participant=True``; the server knows the assignment, this module does not).
  ``surveyed → collecting`` may also be made by the **liaison**, who helps the victim complete the
  files from then on.
- ``collecting → submitted``: the **liaison** hands the files to the insurer (the seed's flow: 街道联络人
  提交给人保财险大足支公司). The **adjuster** may record it too, for files handed in at the insurer's
  counter (the lead collects and archives the files). Guard: ``checklist_complete=True``.
- ``submitted → under_review``, ``under_review → incomplete | declined | adjusted``,
  ``adjusted → approved``, ``stamped → paid``, ``paid → closed``:
  **adjuster** (the lead checks completeness, computes and pays).
  ``adjusted → approved`` needs ``authority_cleared=True``: the claim-authority gate of
  :mod:`claimcore.authority` (lead alone / co-insurers informed / consultation or vote) is done.
- ``incomplete → collecting``: **liaison** or **adjuster** (collection resumes against the one
  consolidated missing list). ``incomplete`` has exactly one other exit: ``withdrawn``. It can never
  skip back to ``submitted`` or ``under_review``: the files go through ``collecting`` and the
  complete-checklist guard again.
- ``approved → stamped``: **coordinator** only (the Financial Development Affairs Center stamps
  every claim application). ``approved → under_review`` (with a reason): the coordinator returns an
  application it will not stamp, or the adjuster pulls it back to correct it.
- ``adjusted → under_review`` (with a reason): the adjuster re-adjusts, e.g. after the co-insurers'
  opinions or a vote rejected the amount.
- ``withdrawn`` (with a reason): from any open state up to ``approved``, by the **liaison**,
  **adjuster** or **coordinator** (the claimant gives up, or a duplicate report in a burst).
  From ``stamped`` only the **coordinator** may withdraw, since that voids its own stamp.
  A paid claim cannot be withdrawn: money has moved; it is closed and, if need be, reopened.
- ``reopened`` (with a reason): from ``declined``, ``closed`` or ``withdrawn``, by the **adjuster**
  or the **coordinator** (an appeal, a late certificate, further medical bills). A reopened claim
  goes back to ``collecting`` or ``under_review`` (**adjuster**).

Invariants (tested in tests/claimcore/test_workflow.py):
- The only edge into ``paid`` is from ``stamped``, and the only edge into ``stamped`` is from
  ``approved`` (coordinator), which is reached only from ``adjusted`` with ``authority_cleared``.
- The only edge into ``submitted`` is from ``collecting`` with ``checklist_complete``.
- Every state is reachable from ``reported``.
- ``TERMINAL_STATES`` (``declined``, ``closed``, ``withdrawn``) have one exit only: ``reopened``.

Transitions are checked by :func:`check_transition`, which raises :class:`WorkflowError` naming
the states, the role and why. Recording who, when, where (GPS) and why is the caller's job (the
store and the server keep the transition log); ``reason`` here is the "why" the guard insists on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from claimcore.entities import CLAIM_STATES as STATES
from claimcore.entities import USER_ROLES as ROLES

INITIAL_STATE = "reported"

# "Terminal" means the claim's handling is finished (a declined claim is archived as declined, a
# paid one as closed); reopening is the only way out of them.
TERMINAL_STATES: frozenset[str] = frozenset({"declined", "closed", "withdrawn"})

# Roles that may create a claim (its first state, ``reported``).
REPORTING_ROLES: frozenset[str] = frozenset({"liaison", "adjuster"})

STATE_LABELS: dict[str, tuple[str, str]] = {
    "reported": ("已报案", "reported"),
    "registered": ("已立案", "registered"),
    "survey_dispatched": ("已派查勘", "survey dispatched"),
    "surveyed": ("已查勘", "surveyed"),
    "collecting": ("收集资料中", "collecting documents"),
    "submitted": ("资料已提交", "submitted"),
    "under_review": ("审核中", "under review"),
    "incomplete": ("资料待补充", "incomplete"),
    "declined": ("已拒赔", "declined"),
    "adjusted": ("已理算", "adjusted"),
    "approved": ("已核赔", "approved"),
    "stamped": ("已盖章", "stamped"),
    "paid": ("已赔付", "paid"),
    "closed": ("已结案", "closed"),
    "withdrawn": ("已撤案", "withdrawn"),
    "reopened": ("已重开", "reopened"),
}

ROLE_LABELS: dict[str, tuple[str, str]] = {
    "coordinator": ("区金融发展事务中心", "coordinator (Financial Development Affairs Center)"),
    "adjuster": ("首席承保人理赔员", "adjuster (lead insurer)"),
    "surveyor": ("共保公司查勘员", "surveyor (co-insurer)"),
    "liaison": ("镇街联络员", "liaison (township)"),
}


@dataclass(frozen=True)
class Transition:
    """One allowed edge of the workflow.

    ``roles``: who may make it. ``participant_roles``: the subset of ``roles`` that may make it only
    for a survey they took part in (guard ``survey_participant``). ``needs_checklist``,
    ``needs_authority`` and ``needs_reason`` name the guards :func:`check_transition` enforces.
    """

    source: str
    target: str
    roles: frozenset[str]
    needs_checklist: bool = False
    needs_authority: bool = False
    needs_reason: bool = False
    participant_roles: frozenset[str] = frozenset()
    note: str = ""


def _t(source: str, target: str, roles: Iterable[str], **kw) -> Transition:
    return Transition(source, target, frozenset(roles), **kw)


_OPEN_BEFORE_STAMP = (
    "reported",
    "registered",
    "survey_dispatched",
    "surveyed",
    "collecting",
    "submitted",
    "under_review",
    "incomplete",
    "adjusted",
    "approved",
)

TRANSITIONS: tuple[Transition, ...] = (
    _t("reported", "registered", {"adjuster"}, note="lead insurer registers the report"),
    _t("registered", "survey_dispatched", {"adjuster"}, note="lead dispatches the survey"),
    _t("survey_dispatched", "surveyed", {"adjuster", "surveyor"},
       participant_roles=frozenset({"surveyor"}), note="site surveyed, checklist issued"),
    _t("surveyed", "collecting", {"adjuster", "surveyor", "liaison"},
       participant_roles=frozenset({"surveyor"}), note="document collection starts"),
    _t("collecting", "submitted", {"liaison", "adjuster"}, needs_checklist=True,
       note="files handed to the insurer; the checklist must be complete"),
    _t("submitted", "under_review", {"adjuster"}, note="lead checks the files"),
    _t("under_review", "incomplete", {"adjuster"}, needs_reason=True,
       note="one consolidated list of what is missing"),
    _t("incomplete", "collecting", {"liaison", "adjuster"}, note="collection resumes"),
    _t("under_review", "declined", {"adjuster"}, needs_reason=True, note="written reason"),
    _t("under_review", "adjusted", {"adjuster"}, note="lead computes the amount"),
    _t("adjusted", "under_review", {"adjuster"}, needs_reason=True, note="re-adjust"),
    _t("adjusted", "approved", {"adjuster"}, needs_authority=True,
       note="claim-authority gate cleared"),
    _t("approved", "under_review", {"adjuster", "coordinator"}, needs_reason=True,
       note="returned before stamping"),
    _t("approved", "stamped", {"coordinator"}, note="the Center stamps the claim application"),
    _t("stamped", "paid", {"adjuster"}, note="lead pays"),
    _t("paid", "closed", {"adjuster"}, note="files archived"),
    *(
        _t(s, "withdrawn", {"liaison", "adjuster", "coordinator"}, needs_reason=True,
           note="claimant withdraws or duplicate report")
        for s in _OPEN_BEFORE_STAMP
    ),
    _t("stamped", "withdrawn", {"coordinator"}, needs_reason=True,
       note="the Center voids its stamp"),
    *(
        _t(s, "reopened", {"adjuster", "coordinator"}, needs_reason=True,
           note="appeal, late certificate or further bills")
        for s in ("declined", "closed", "withdrawn")
    ),
    _t("reopened", "collecting", {"adjuster"}, note="more documents needed"),
    _t("reopened", "under_review", {"adjuster"}, note="review again"),
)

_BY_EDGE: dict[tuple[str, str], Transition] = {(t.source, t.target): t for t in TRANSITIONS}


class WorkflowError(ValueError):
    """An illegal transition, with the states, the role and why.

    ``why`` is a stable code for translation: ``unknown_state``, ``unknown_role``, ``no_such_edge``,
    ``role_not_allowed``, ``not_participant``, ``checklist_incomplete``, ``authority_not_cleared``,
    ``reason_required``, ``not_a_reporting_role``. ``message("zh"|"en")`` gives the text;
    ``str(error)`` is the English text (for logs), the UI uses ``message("zh")``.
    """

    _TEXT = {
        "unknown_state": ("未知的案件状态", "unknown claim state"),
        "unknown_role": ("未知的角色", "unknown role"),
        "no_such_edge": ("案件流程不允许此状态变更", "the workflow has no such transition"),
        "role_not_allowed": ("该角色无权进行此操作", "this role may not make this transition"),
        "not_participant": ("查勘员只能处理自己参与查勘的案件",
                            "a surveyor may only do this for a survey it took part in"),
        "checklist_incomplete": ("资料清单尚未齐全，不能提交",
                                 "the document checklist is not complete"),
        "authority_not_cleared": ("未完成理赔权限程序（告知共保方或会商/投票）",
                                  "the claim-authority step (inform, consult or vote) is not done"),
        "reason_required": ("此操作必须填写书面理由", "a written reason is required"),
        "not_a_reporting_role": ("该角色不能报案", "this role may not report a claim"),
    }

    def __init__(self, source: str | None, target: str | None, role: str | None, why: str,
                 allowed: Iterable[str] = (), allowed_kind: str = "roles") -> None:
        self.source = source
        self.target = target
        self.role = role
        self.why = why
        # What would have been accepted: roles, or states (``allowed_kind`` says which).
        self.allowed = tuple(allowed)
        self.allowed_kind = allowed_kind
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh") -> str:
        zh, en = self._TEXT[self.why]
        text = zh if lang == "zh" else en
        if self.target is None:
            edge = repr(self.source)
        elif self.source is None:
            edge = f"→ {self.target!r}"
        else:
            edge = f"{self.source!r} → {self.target!r}"
        if lang == "zh":
            out = f"{text}：{edge}，角色 {self.role!r}"
        else:
            out = f"{text}: {edge}, role {self.role!r}"
        if self.allowed:
            names = ", ".join(self.allowed)
            if lang == "zh":
                kind = "可选角色" if self.allowed_kind == "roles" else "可选状态"
                out += f"（{kind}：{names}）"
            else:
                out += f" (allowed {self.allowed_kind}: {names})"
        return out


def _check_state(state: object, source: str | None, target: str | None, role: object) -> None:
    if not isinstance(state, str) or state not in STATES:
        raise WorkflowError(source, target, role if isinstance(role, str) else repr(role),
                            "unknown_state", STATES, "states")


def _check_role(role: object, source: str | None, target: str | None) -> None:
    if not isinstance(role, str) or role not in ROLES:
        raise WorkflowError(source, target, role if isinstance(role, str) else repr(role),
                            "unknown_role", ROLES)


def find_transition(source: str, target: str) -> Transition | None:
    """The edge ``source → target`` or None; unknown states raise :class:`WorkflowError`."""
    _check_state(source, source, target, None)
    _check_state(target, source, target, None)
    return _BY_EDGE.get((source, target))


def outgoing(state: str) -> list[Transition]:
    """Every edge leaving ``state``, in :data:`STATES` order of their targets."""
    _check_state(state, state, None, None)
    edges = (t for t in TRANSITIONS if t.source == state)
    return sorted(edges, key=lambda t: STATES.index(t.target))


def allowed_targets(current: str, role: str) -> list[str]:
    """States ``role`` may move a claim in ``current`` to, in :data:`STATES` order.

    Structural: the guards (complete checklist, authority cleared, reason, survey participation)
    still apply at :func:`check_transition`. A surveyor's participant-only edges are listed.
    """
    _check_state(current, current, None, role)
    _check_role(role, current, None)
    return [t.target for t in outgoing(current) if role in t.roles]


def check_transition(
    current: str,
    target: str,
    role: str,
    *,
    checklist_complete: bool = False,
    authority_cleared: bool = False,
    reason: str | None = None,
    survey_participant: bool = False,
) -> Transition:
    """Raise :class:`WorkflowError` unless ``role`` may move a claim from ``current`` to ``target``.

    Guards: ``checklist_complete`` must be True to reach ``submitted``; ``authority_cleared`` must
    be True for ``adjusted → approved``; ``reason`` must be non-blank text for ``declined``,
    ``withdrawn``, ``reopened``, ``incomplete`` and the return edges to ``under_review``;
    ``survey_participant`` must be True when a surveyor marks a survey done or starts collection.
    Guards must be real booleans (``1`` or ``"yes"`` do not count). Returns the edge taken.
    """
    _check_state(current, current, target, role)
    _check_state(target, current, target, role)
    _check_role(role, current, target)
    edge = _BY_EDGE.get((current, target))
    if edge is None:
        raise WorkflowError(current, target, role, "no_such_edge",
                            allowed_targets(current, role), "states")
    if role not in edge.roles:
        raise WorkflowError(current, target, role, "role_not_allowed", sorted(edge.roles))
    if role in edge.participant_roles and survey_participant is not True:
        raise WorkflowError(current, target, role, "not_participant")
    if edge.needs_checklist and checklist_complete is not True:
        raise WorkflowError(current, target, role, "checklist_incomplete")
    if edge.needs_authority and authority_cleared is not True:
        raise WorkflowError(current, target, role, "authority_not_cleared")
    if edge.needs_reason and not (isinstance(reason, str) and reason.strip()):
        raise WorkflowError(current, target, role, "reason_required")
    return edge


def check_report(role: str) -> None:
    """Raise :class:`WorkflowError` unless ``role`` may create a claim (state ``reported``)."""
    _check_role(role, None, INITIAL_STATE)
    if role not in REPORTING_ROLES:
        raise WorkflowError(None, INITIAL_STATE, role, "not_a_reporting_role",
                            sorted(REPORTING_ROLES))


@dataclass(frozen=True)
class Step:
    """One requested move for :func:`walk`: the target, who asks, and the guards they bring."""

    target: str
    role: str
    guards: Mapping[str, object] | None = None


def walk(steps: Iterable[Step], start: str = INITIAL_STATE) -> list[str]:
    """Apply ``steps`` from ``start``; return the visited states (``start`` first).

    Stops at the first illegal step by raising its :class:`WorkflowError`; nothing is partially
    applied because nothing is stored here. Used to replay a claim's transition log.
    """
    _check_state(start, start, None, None)
    path = [start]
    for step in steps:
        check_transition(path[-1], step.target, step.role, **dict(step.guards or {}))
        path.append(step.target)
    return path


def path_ok(path: Iterable[str]) -> bool:
    """True when each consecutive pair of ``path`` is an edge of the workflow (roles ignored)."""
    states = list(path)
    if not states or any(s not in STATES for s in states):
        return False
    return all((a, b) in _BY_EDGE for a, b in zip(states, states[1:]))


def reachable_from(state: str = INITIAL_STATE) -> frozenset[str]:
    """Every state reachable from ``state`` along the edges (``state`` included)."""
    _check_state(state, state, None, None)
    seen = {state}
    todo = [state]
    while todo:
        s = todo.pop()
        for t in TRANSITIONS:
            if t.source == s and t.target not in seen:
                seen.add(t.target)
                todo.append(t.target)
    return frozenset(seen)


def state_label(state: str, lang: str = "zh") -> str:
    _check_state(state, state, None, None)
    zh, en = STATE_LABELS[state]
    return zh if lang == "zh" else en


def role_label(role: str, lang: str = "zh") -> str:
    _check_role(role, None, None)
    zh, en = ROLE_LABELS[role]
    return zh if lang == "zh" else en
