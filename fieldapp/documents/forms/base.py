"""What every claim form shares: the claim seen through print-ready names, and the page set-up."""
from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

from claimcore.localtime import CHINA_TIME
from fieldapp.documents import catalogue_view, places
from fieldapp.documents.claim_json import payee_person
from claimcore.money import format_fen as yuan
from pdflayer.page import FormPDF, PageFurniture
from fieldapp.documents.texts import Texts

# Dazu keeps China Standard Time; a form shows the local wall-clock time of the incident.
QR_SCHEME = "dazu-claim"


def qr_content(claim: dict) -> str:
    """What the QR code on every page holds: dazu-claim:<claim_id>?report=<report_no>."""
    return f"{QR_SCHEME}:{claim['claim_id']}?report={quote(claim['report_no'], safe='')}"


class ClaimView:
    """A validated claim (or None for a blank form) with everything a form prints, by name."""

    def __init__(self, template: str, claim: dict | None, lang: str) -> None:
        self.template = template
        self.claim = claim
        self.blank = claim is None
        self.lang = lang
        self.t = Texts(template, lang)
        version = claim.get("catalogue_version") if claim else None
        self.catalogue = catalogue_view.catalogue(version or None)

    # ---- the page -----------------------------------------------------------------------------
    def new_pdf(self) -> FormPDF:
        t = self.t
        if self.blank:
            reference = t("reference", report_no="＿" * 10)
            furniture = PageFurniture(programme=t["programme"], page_format=t["page"], reference=reference)
        else:
            content = qr_content(self.claim)
            furniture = PageFurniture(
                programme=t["programme"], page_format=t["page"],
                reference=t("reference", report_no=self.claim["report_no"]),
                qr_content=content, qr_caption=t["qr_caption"], footer_note=content,
            )
        pdf = FormPDF(furniture, lang=self.lang)
        pdf.set_title(t["title"] + ("" if self.blank else f" {self.claim['report_no']}"))
        pdf.add_page()
        return pdf

    # ---- claim fields ---------------------------------------------------------------------------
    def get(self, key: str, default: str = "") -> str:
        if self.blank:
            return default
        value = self.claim.get(key)
        return default if value in (None, "") else str(value)

    def persons(self, role: str) -> list[dict]:
        if self.blank:
            return []
        return [p for p in self.claim["persons"] if p["role"] == role]

    def person(self, role: str) -> dict | None:
        found = self.persons(role)
        return found[0] if found else None

    @property
    def victim(self) -> dict | None:
        return self.person("victim")

    @property
    def death_claim(self) -> bool:
        return not self.blank and "death" in self.claim["loss_types"]

    @property
    def applicant(self) -> dict | None:
        """The first claimant, or the victim filing for themself (never the deceased victim of a
        death claim: without a claimant the line stays blank)."""
        return self.person("claimant") or (None if self.death_claim else self.victim)

    @property
    def payee(self) -> dict | None:
        """收款人 by the payment rule (claim_json.payee_person); None leaves the boxes blank."""
        return None if self.blank else payee_person(self.claim)

    def coverage_name(self) -> str:
        if self.blank:
            return ""
        return catalogue_view.coverage_name(self.catalogue, self.claim["coverage"], self.lang)

    def loss_type_name(self, code: str) -> str:
        return catalogue_view.loss_type_name(self.catalogue, code, self.lang)

    def loss_type_names(self) -> str:
        if self.blank:
            return ""
        sep = "、" if self.lang == "zh" else ", "
        return sep.join(self.loss_type_name(code) for code in self.claim["loss_types"])

    def township_name(self) -> str:
        code = self.get("township_code")
        return places.township_name(code) or "" if code else ""

    def village_name(self) -> str:
        code = self.get("village_code")
        return places.village_name(code) or "" if code else ""

    def full_address(self, address: str | None = None) -> str:
        """大足区 + township + village + street address, as written on Chinese forms."""
        if self.blank:
            return ""
        parts = [places.district_name(), self.township_name(), self.village_name(),
                 address if address is not None else self.get("address")]
        return "".join(p for p in parts if p) if self.lang == "zh" else ", ".join(p for p in reversed(parts) if p)

    def moment(self, iso: str) -> str:
        if not iso:
            return ""
        value = datetime.fromisoformat(iso)
        if value.tzinfo is not None:
            value = value.astimezone(CHINA_TIME)
        return self.t("datetime_format", year=value.year, month=value.month, day=value.day,
                      hour=value.hour, minute=value.minute)

    def day(self, iso: str) -> str:
        if not iso:
            return ""
        value = date.fromisoformat(iso[:10])
        return self.t("date_format", year=value.year, month=value.month, day=value.day)

    def fen(self, value: int | None) -> str:
        return "" if value is None else yuan(value)

    def losses(self, loss_types: tuple[str, ...] | None = None) -> list[dict]:
        if self.blank:
            return []
        return [loss for loss in self.claim["losses"]
                if loss_types is None or loss["loss_type"] in loss_types]


def quantity_text(loss: dict) -> str:
    quantity = loss.get("quantity")
    return "" if quantity in (None, "") else str(quantity)


def group_digits(number: str, size: int = 4) -> str:
    """6222021234567890123 -> 6222 0212 3456 7890 123: easier to copy by hand without a slip."""
    return " ".join(number[i : i + size] for i in range(0, len(number), size))
