"""Fixtures for the sync server's tests: a fresh database per test (SQLite and PostgreSQL), the app
in-process (TestClient), and enrolled actors of every role."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from sync_server.app import create_app
from sync_server.core.settings import Settings
from sync_server.testing import Enrolled, Harness

LONGSHUI = "500111100"  # 龙水镇
BAODING = "500111102"  # 宝顶镇


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        max_json_bytes=256 * 1024,
        max_blob_bytes=4 * 1024 * 1024,
        pull_limit_max=50,
    )


@pytest.fixture
def harness(settings):
    h = Harness(settings)
    yield h
    h.close()


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


@dataclass
class Phone:
    """An enrolled device talking to the server, numbering its own mutations."""

    client: TestClient
    me: Enrolled
    seq: int = 0
    versions: dict = field(default_factory=dict)

    @property
    def headers(self) -> dict:
        return self.me.headers

    def mutation(self, entity: str, id: str, fields: dict, *, op: str = "upsert", base_version=None) -> dict:
        self.seq += 1
        return {"seq": self.seq, "entity": entity, "id": id, "op": op, "fields": fields,
                "base_version": base_version}

    def push(self, mutations: list[dict]):
        return self.client.post("/api/v1/sync/push", headers=self.headers,
                                json={"device_id": self.me.device_id, "mutations": mutations})

    def push_one(self, entity: str, id: str, fields: dict, **kw) -> dict:
        r = self.push([self.mutation(entity, id, fields, **kw)])
        assert r.status_code == 200, r.text
        return r.json()["results"][0]

    def pull_all(self, limit: int | None = None) -> tuple[list[dict], str, int]:
        changes, cursor, requests = [], None, 0
        while True:
            params = {}
            if cursor:
                params["cursor"] = cursor
            if limit:
                params["limit"] = limit
            r = self.client.get("/api/v1/sync/pull", headers=self.headers, params=params)
            requests += 1
            assert r.status_code == 200, r.text
            body = r.json()
            changes += body["changes"]
            cursor = body["cursor"]
            if not body["has_more"]:
                return changes, cursor, requests


def claim_fields(township: str = LONGSHUI, **extra) -> dict:
    fields = {
        "coverage": "natural_disaster",
        "township_code": township,
        "incident_at": "2026-07-12T03:40:00+08:00",
        "description": "暴雨致房屋进水",
        "loss_types": ["house"],
    }
    fields.update(extra)
    return fields


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def actors(harness, client) -> SimpleNamespace:
    def phone(**kw) -> Phone:
        return Phone(client, harness.actor(**kw))

    return SimpleNamespace(
        coordinator=phone(role="coordinator"),
        adjuster=phone(role="adjuster"),
        adjuster2=phone(role="adjuster"),
        liaison_a=phone(role="liaison", township_code=LONGSHUI),
        liaison_b=phone(role="liaison", township_code=BAODING),
        surveyor_x=phone(role="surveyor", insurer_code="cpic"),
        surveyor_y=phone(role="surveyor", insurer_code="pingan"),
    )
