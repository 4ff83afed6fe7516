"""What every claim form shares: the claim seen through print-ready names, and the page set-up."""
from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

from claimcore.localtime import CHINA_TIME
from fieldapp.documents import catalogue_view, places
from fieldapp.documents.claim_json import payee_person
from fieldapp.i18n import catalogue as ui_texts
from claimcore.money import format_fen as yuan
from pdflayer.page import FONT_FAMILY, LINE_MM, FormPDF, PageFurniture
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
    def applicants(self) -> list[dict]:
        """Everyone who applies and signs: the claimants (on a death claim, every heir), or the
        victim filing for themself; never the deceased victim of a death claim."""
        claimants = self.persons("claimant")
        if claimants or self.death_claim or self.victim is None:
            return claimants
        return [self.victim]

    @property
    def applicant(self) -> dict | None:
        """The first applicant (see applicants), or None: the line stays blank."""
        found = self.applicants
        return found[0] if found else None

    def applicant_names(self) -> str:
        sep = "、" if self.lang == "zh" else ", "
        return sep.join(p["name"] for p in self.applicants)

    def household_head(self) -> tuple[str, dict]:
        """(name, identity document) of the household head, the document as a person holds it
        (``id_number``, ``id_type``): ``household.head_name``, ``head_id_number`` and
        ``head_id_type``; a head named without a number takes the number (and its type) of the
        claim's person of that name; without a head, the victim."""
        household = {} if self.blank else (self.claim.get("household") or {})
        name = household.get("head_name")
        if not name:
            victim = self.victim or {}
            return victim.get("name", ""), victim
        if household.get("head_id_number"):
            return name, {"id_number": household["head_id_number"], "id_type": household.get("head_id_type")}
        namesake = next((p for p in self.claim["persons"] if p["name"] == name and p.get("id_number")), {})
        return name, namesake

    # ---- identity documents -------------------------------------------------------------------
    def id_document(self, person: dict | None) -> str:
        """A person's identity document as the forms print it: a resident ID's number bare, as
        forms always printed it, any other document's number after the document's name
        (护照 E12345678) so the office copies and checks the right document. The names are the
        app's (fieldapp/i18n ``id_type.*``), the same words the phone showed when it was entered."""
        person = person or {}
        number = person.get("id_number") or ""
        if not number or not other_document(person):
            return number
        return f"{ui_texts(self.lang)['id_type.' + person['id_type']]} {number}"

    def id_number_label(self, people: list[dict | None]) -> str:
        """身份证号码 over resident IDs only; 证件号码 (any document) once one of ``people`` holds another."""
        return self.t["id_document_number" if any(other_document(p) for p in people) else "id_number"]

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
        """The village or community as a place (车家村), not its committee (车家村村民委员会)."""
        code = self.get("village_code")
        return places.village_place_name(code) or "" if code else ""

    def full_address(self, address: str | None = None) -> str:
        """大足区 + township + village + street address, as written on Chinese forms:
        大足区宝顶镇车家村4组18号."""
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


def other_document(person: dict | None) -> bool:
    """Whether a person's number is of a document other than a resident ID (a person without
    ``id_type`` holds a resident ID)."""
    id_type = (person or {}).get("id_type")
    return bool(id_type) and id_type != catalogue_view.DEFAULT_ID_TYPE


def quantity_text(loss: dict) -> str:
    quantity = loss.get("quantity")
    return "" if quantity in (None, "") else str(quantity)


def group_digits(number: str, size: int = 4) -> str:
    """6222021234567890123 -> 6222 0212 3456 7890 123: easier to copy by hand without a slip."""
    return " ".join(number[i : i + size] for i in range(0, len(number), size))


# ---- signatures ---------------------------------------------------------------------------------
SIGNER_COLUMN_MM = 62  # the printed name and relation; a longer name wraps inside it
SIGNING_BLANK_MM = 34  # at least this much line to sign on, in any language
SIGNATURE_ROW_MM = 15  # room to sign and press a fingerprint beside the name
BLANK_SIGNERS = 3  # a blank form: lines for a victim, or for a family of heirs, to fill in


def signer_text(view: ClaimView, person: dict, role_label: str) -> str:
    """申请人：李犇（配偶）: who signs this line."""
    relation = person.get("relation", "")
    if relation:
        name = f"{person['name']}（{relation}）" if view.lang == "zh" else f"{person['name']} ({relation})"
    else:
        name = person["name"]
    return view.t("sign.who", role=role_label, name=name)


def signature_rows(view: ClaimView, pdf: FormPDF, signers: list[dict], *, role_label: str,
                   blank_label: str, blank_lines: int = 1) -> None:
    """One signature-and-fingerprint line per signer, their name printed on it so each heir
    signs their own; without signers, ``blank_lines`` lines under ``blank_label`` to fill in.
    A row never splits over a page; a long name wraps in its column instead of running on."""
    t = view.t
    if not signers:
        for _ in range(blank_lines):
            pdf.signature_line([(blank_label, 55), (t["date_label"], 0), (t["date_blank"], 0)], height=14)
        return
    with pdf.local_context():
        pdf.set_font(FONT_FAMILY)
        sign_w = pdf.get_string_width(t["sign.fingerprint"]) + 1
        date_w = pdf.get_string_width(t["date_label"]) + 1 + pdf.get_string_width(t["date_blank"]) + 1
        # Longer labels (English) take their room from the name column, never from the signature.
        name_w = min(SIGNER_COLUMN_MM, pdf.epw - 2 - sign_w - SIGNING_BLANK_MM - 4 - date_w)
        blank_w = pdf.epw - name_w - 2 - sign_w - 4 - date_w
        for person in signers:
            text = pdf.wrap(signer_text(view, person, role_label), name_w)
            lines = text.count("\n") + 1
            height = max(SIGNATURE_ROW_MM, lines * LINE_MM + 5)
            if pdf.will_page_break(height + 1):
                pdf.add_page()
            top = pdf.get_y()
            baseline = top + height - 3
            pdf.set_xy(pdf.l_margin, baseline + 0.5 - lines * LINE_MM)  # last line level with the label
            pdf.multi_cell(name_w, LINE_MM, text, wrapmode=pdf.wrapmode)
            x = pdf.l_margin + name_w + 2
            pdf.set_xy(x, baseline - 5)
            pdf.cell(sign_w, 5, t["sign.fingerprint"])
            x += sign_w
            pdf.set_draw_color(0)
            pdf.set_line_width(0.2)
            pdf.line(x, baseline, x + blank_w, baseline)
            x += blank_w + 4
            pdf.set_xy(x, baseline - 5)
            pdf.cell(date_w, 5, t["date_label"] + " " + t["date_blank"])
            pdf.set_xy(pdf.l_margin, top + height)
