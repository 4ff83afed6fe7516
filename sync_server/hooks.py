"""Extension points other server modules plug into (the co-insurance rules of issue 5).

    set_authority_guard(fn)      fn(session, claim) -> bool: is the claim-authority step done
                                 (lead alone / co-insurers informed / consultation or vote)?
                                 Needed for the workflow edge adjusted -> approved.
    register_entity_handler(entity, fn)
                                 lets phones push mutations of another entity (e.g. an
                                 assignment's accept/decline made offline). fn(session, user,
                                 device, mutation) -> (status, version) where status is
                                 "applied" or "conflict"; raise sync_apply.Rejected to refuse.
    register_router(router)      the app factory also includes these routers (besides
                                 sync_server.api_coinsurance.router, which it finds by itself).
"""
from __future__ import annotations

from typing import Any, Callable

_authority_guard: Callable[[Any, Any], bool] | None = None
entity_handlers: dict[str, Callable[..., tuple[str, int | None]]] = {}
extra_routers: list[Any] = []


def set_authority_guard(fn: Callable[[Any, Any], bool] | None) -> None:
    global _authority_guard
    _authority_guard = fn


def authority_guard() -> Callable[[Any, Any], bool] | None:
    return _authority_guard


def register_entity_handler(entity: str, fn: Callable[..., tuple[str, int | None]]) -> None:
    entity_handlers[entity] = fn


def register_router(router: Any) -> None:
    if router not in extra_routers:
        extra_routers.append(router)
