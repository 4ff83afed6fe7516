"""受灾证明: the village committee's certificate of a household's disaster losses."""
from __future__ import annotations

from fieldapp.documents.forms.base import ClaimView

BLANK_ROOM_ROWS = 6
MIN_ROOM_ROWS = 3


def _choice(view: ClaimView, value: bool | None) -> str:
    """■是　□否: the subset font has □ and ■ but no ☑, and a filled box reads as ticked."""
    t = view.t
    yes = "■" if value is True else "□"
    no = "■" if value is False else "□"
    return f"{yes} {t['yes']}　　{no} {t['no']}"


def render(view: ClaimView) -> bytes:
    t = view.t
    pdf = view.new_pdf()
    pdf.title_block(t["title"], t["subtitle"])
    pdf.paragraph(t["intro"])
    pdf.ln(2)

    household = {} if view.blank else (view.claim.get("household") or {})
    head_name, head_document = view.household_head()
    size = household.get("size")
    casualties = household.get("casualties")
    if casualties is not None:
        casualty_text = t("casualties_line", dead=casualties.get("dead", 0),
                          injured=casualties.get("injured", 0), missing=casualties.get("missing", 0))
    elif view.blank:
        casualty_text = t("casualties_line", dead="　　", injured="　　", missing="　　")
    else:
        casualty_text = ""
    pdf.field_grid(
        [
            [(t["head_name"], head_name, 1),
             (view.id_number_label([head_document]), view.id_document(head_document), 1)],
            [(t["address"], view.full_address(household.get("address")), 3)],
            [(t["disaster_at"], view.moment(household.get("disaster_at") or view.get("incident_at")), 1),
             (t["household_size"], f"{size} {t['person_unit']}" if size else "", 1)],
            [(t["disaster_type"], household.get("disaster_type", ""), 3)],
            [(t["casualties"], casualty_text, 3)],
        ],
        col_widths=(1.2, 2, 1.2, 2.4),
    )

    pdf.section(t["section.house"], keep_with_next_mm=40)
    severity = {code: t[f"severity.{code}"] for code in ("collapsed", "severe", "moderate", "minor")}
    rooms = [(str(index + 1), room["room"], room.get("structure", ""), severity[room["severity"]], room.get("note", ""))
             for index, room in enumerate(household.get("rooms", []))]
    wanted = BLANK_ROOM_ROWS if view.blank else MIN_ROOM_ROWS
    rooms += [("", "", "", "", "")] * max(0, wanted - len(rooms))
    pdf.data_table(
        ["#", t["col.room"], t["col.structure"], t["col.severity"], t["col.note"]],
        rooms, col_widths=(0.5, 1.7, 1.4, 1.4, 3.6), align="CLLCL", min_row_height=7.5,
    )
    pdf.paragraph(t["severity_legend"], size=8.5, grey=True)
    pdf.ln(1)

    contents = household.get("contents_loss_fen")
    relocated = household.get("relocated") if household else None
    pdf.field_grid(
        [
            [(t["contents_loss"], view.fen(contents), 1), (t["relocated"], _choice(view, relocated), 1)],
            [(t["relocated_to"], household.get("relocated_to", ""), 3)],
            [(t["verifier"], household.get("verifier", ""), 1), (t["verified_on"], view.day(household.get("verified_on", "")), 1)],
        ],
        col_widths=(1.6, 1.9, 1.4, 2.1),
    )
    pdf.ln(3)
    # The committee and the township write their own opinions and stamp them.
    pdf.opinion_boxes(
        [(t["opinion.village"], ""), (t["opinion.township"], "")],
        seal_label=t["seal"], signature_label=t["signature_of_head"], date_blank=t["date_blank"], height=55,
    )
    pdf.paragraph(t["footnote"], size=8.5, grey=True)
    return pdf.output_bytes()
