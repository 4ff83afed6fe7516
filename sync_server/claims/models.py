"""Table of document scans: ``scans`` (personal data: claim, checklist item, hash, type; the bytes
are files on disk, sealed at rest)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, utcnow


class Scan(Base):
    """A document scan (ID card, bank card, medical papers, the signed application): personal data.

    The bytes live under ``<DAZU_DATA_DIR>/scans/`` (mode 0600), named by scan id and hash; this row
    says which claim and checklist item they belong to. Written by ``sync_server.claims.scans``; read only
    by the roles that may see the claim's personal data (never surveyors).
    """

    __tablename__ = "scans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(36), ForeignKey("claims.id"), index=True)
    doc_code: Mapped[str] = mapped_column(String(48))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(48))
    uploaded_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


