"""The look shared by every printed form: A4, Chinese font, running header, page numbers, ruled
tables, signature lines and seal blocks.

Reusable outside the claim documents (the server's reports build on `FormPDF` too): nothing here
knows about claims. Pure Python (fpdf2 + qrcode + Pillow), so it runs on a phone as well.

Layout conventions follow the paper forms district offices use: 10.5 pt body text (五号), ruled
tables with grey label cells, opinion boxes with a dashed seal circle marked 盖章 and a date line.
"""
from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, TableCellFillMode, WrapMode, XPos, YPos
from fpdf.fonts import FontFace, Glyph, SubsetMap, TTFFont
from fpdf.output import OutputProducer
from fpdf.syntax import Name

from claimcore.assets import assets_dir

LOGGER = logging.getLogger(__name__)
FONT_FAMILY = "NotoSansSC"
MISSING_GLYPH = "□"
# The GBK subset (21,887 glyphs) covers rare name characters such as 堃, 犇, 垚, 喆, which the
# smaller GB2312 subset lacks; names are exactly where a missing glyph would do harm.
FONT_FILE = "NotoSansSC-GBK.otf"

BODY_PT = 10.5
SMALL_PT = 8.5
TITLE_PT = 18
LINE_MM = 6.0  # line height for body text; CJK needs about 1.6 x the font size
LABEL_FILL = (236, 236, 236)
RULE_GREY = 90
HINT_GREY = 110

MARGIN_MM = 15
HEADER_BOTTOM_MM = 27


def font_path() -> Path:
    return assets_dir() / "fonts" / FONT_FILE


@lru_cache(maxsize=64)
def qr_png(content: str) -> bytes:
    """A QR code as PNG bytes (medium error correction: survives a crease or a stamp's edge)."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=4, border=1)
    code.add_data(content)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def _cid(glyph: Glyph) -> int:
    if glyph.glyph_name == ".notdef":
        return 0
    name = glyph.glyph_name
    return int(name[3:]) if name.startswith("cid") and name[3:].isdigit() else glyph.glyph_id


class _CidCodes(SubsetMap):
    """Give every glyph of a CID-keyed CFF font the character code equal to its CID.

    fpdf2 numbers the glyphs it uses 1, 2, 3... and embeds a CMap stream translating those codes to
    CIDs. Readers that only know the predefined CMaps (pypdf, some search indexers) then decode the
    text one byte at a time and extract garbage. With code == CID the standard Identity-H encoding
    is exact, and every reader maps text back to Unicode through ToUnicode alone.
    """

    def __init__(self, font: TTFFont) -> None:
        super().__init__(font)
        self._char_id_per_glyph = {g: _cid(g) for g in self._char_id_per_glyph if g is not None}

    def pick_glyph(self, glyph: Glyph | None) -> int | None:
        if glyph is None:
            return None
        code = self._char_id_per_glyph.get(glyph)
        if code is None:
            code = self._char_id_per_glyph[glyph] = _cid(glyph)
        return code


def _discard_save(file, *args, **kwargs) -> None:
    return None


class _IdentityEncodingOutput(OutputProducer):
    """Write Identity-H (instead of fpdf2's embedded code-to-CID CMap) wherever codes equal CIDs."""

    def _add_fonts(self, *args, **kwargs):
        for font in self.fpdf.fonts.values():
            if isinstance(font, TTFFont) and isinstance(font.subset, _CidCodes):
                # fpdf2 saves the whole subset font, then throws that away for a CID-keyed CFF
                # font and embeds the CFF table compiled on its own: skip the wasted save (a
                # quarter of the render time).
                font.ttfont.save = _discard_save
        objects = super()._add_fonts(*args, **kwargs)
        for font in self.fpdf.fonts.values():
            if not (isinstance(font, TTFFont) and isinstance(font.subset, _CidCodes)):
                continue
            if all(code == _cid(g) for g, code in font.subset.items() if g is not None):
                objects[font.i].encoding = Name("Identity-H")
        return objects


@dataclass(frozen=True)
class PageFurniture:
    """What is printed on every page, already in the document's language."""

    programme: str  # running header, left
    page_format: str  # e.g. "第 {page} 页 共 {pages} 页"
    reference: str = ""  # running header, right (e.g. "报案号：R2026…")
    qr_content: str | None = None  # printed top right of every page when given
    qr_caption: str = ""
    footer_note: str = ""  # small text bottom left (e.g. the QR content, readable by a person)


class FormPDF(FPDF):
    """A4 portrait form with the project's font, running header and "第 X 页 共 Y 页" footer."""

    def __init__(self, furniture: PageFurniture, *, lang: str = "zh") -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.furniture = furniture
        self.form_lang = lang
        # Chinese has no spaces to break at; English must not be split inside words.
        self.wrapmode = WrapMode.CHAR if lang == "zh" else WrapMode.WORD
        self.set_margins(MARGIN_MM, HEADER_BOTTOM_MM + 2, MARGIN_MM)
        self.set_auto_page_break(True, margin=18)
        self.add_font(FONT_FAMILY, "", str(font_path()))
        # Saving the subset would otherwise recompute the CFF font's bounding box from every kept
        # glyph's outline (about half of the render time); the full font's box encloses them all.
        for font in self.fonts.values():
            if isinstance(font, TTFFont):
                font.ttfont.recalcBBoxes = False
                if font.is_cff and font.is_cid_keyed:
                    font.subset = _CidCodes(font)
        self.set_font(FONT_FAMILY, size=BODY_PT)
        self.set_creator("fieldapp.documents (fpdf2)")
        self.set_lang("zh-CN" if lang == "zh" else "en")
        self.c_margin = 1.5
        self.unprintable: list[str] = []  # characters printed as MISSING_GLYPH, in order found

    def normalize_text(self, text: str) -> str:
        """Print □ for a character the font lacks (a name in CJK Extension A such as 䶮, an emoji).

        fpdf2 would drop it silently, and a form must never show 王 for 王䶮: a visible box tells the
        person to write the character in by hand. Each such character is logged once per document.
        """
        text = super().normalize_text(text)
        font = self.current_font
        if not isinstance(font, TTFFont) or not text:
            return text
        known = font.glyph_ids
        if all(ord(c) in known or c in "\n\r\t" for c in text):
            return text
        out = []
        for char in text:
            if ord(char) in known or char in "\n\r\t":
                out.append(char)
            else:
                if char not in self.unprintable:
                    self.unprintable.append(char)
                    LOGGER.warning("character %r (U+%04X) is not in %s; printed as %s", char, ord(char),
                                   FONT_FILE, MISSING_GLYPH)
                out.append(MISSING_GLYPH)
        return "".join(out)

    def multi_cell(self, w, h=None, text="", border=0, align="L", *args, **kwargs):
        """fpdf2's multi_cell, never justified.

        fpdf2 justifies by inserting space after the character code 0x20, assuming the space glyph
        has that code; with Identity-H codes (code == CID, see _CidCodes) code 0x20 is another
        glyph. Chinese forms are set flush left anyway.
        """
        if align in ("J", Align.J):
            align = "L"
        return super().multi_cell(w, h, text, border, align, *args, **kwargs)

    # ---- page furniture -------------------------------------------------------------------
    def header(self) -> None:
        f = self.furniture
        with self.local_context():
            self.set_font(FONT_FAMILY, size=SMALL_PT)
            self.set_text_color(HINT_GREY)
            right_edge = self.w - self.r_margin
            text_right = right_edge
            if f.qr_content:
                size = 17.0
                self.image(io.BytesIO(qr_png(f.qr_content)), x=right_edge - size, y=6, w=size, h=size)
                self.set_xy(right_edge - size - 12, 23)
                self.set_font(FONT_FAMILY, size=6.5)
                self.cell(size + 12, 3, f.qr_caption, align="R")
                self.set_font(FONT_FAMILY, size=SMALL_PT)
                text_right = right_edge - size - 2
            self.set_xy(self.l_margin, 14)
            self.cell(90, 5, f.programme)
            if f.reference:
                self.set_font(FONT_FAMILY, size=BODY_PT)
                self.set_text_color(0)
                width = text_right - self.l_margin - 90
                self.set_xy(self.l_margin + 90, 14)
                self.cell(width, 5, f.reference, align="R")
            self.set_draw_color(RULE_GREY)
            self.set_line_width(0.3)
            self.line(self.l_margin, HEADER_BOTTOM_MM, right_edge - (19 if f.qr_content else 0), HEADER_BOTTOM_MM)
        self.set_xy(self.l_margin, HEADER_BOTTOM_MM + 3)

    def footer(self) -> None:
        f = self.furniture
        with self.local_context():
            self.set_y(-15)
            self.set_font(FONT_FAMILY, size=SMALL_PT)
            label = f.page_format.format(page=self.page_no(), pages=self.str_alias_nb_pages)
            self.cell(self.epw, 5, label, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            if f.footer_note:
                self.set_font(FONT_FAMILY, size=6.5)
                self.set_text_color(HINT_GREY)
                self.cell(self.epw, 4, f.footer_note, align="C")

    # ---- text ---------------------------------------------------------------------------
    def title_block(self, title: str, subtitle: str = "") -> None:
        with self.local_context():
            self.set_font(FONT_FAMILY, size=TITLE_PT)
            # The subset font has one weight; a thin outline stroke gives the title its weight.
            self.text_mode = "FILL_STROKE"
            self.set_line_width(0.25)
            self.cell(self.epw, 11, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if subtitle:
            with self.local_context():
                self.set_font(FONT_FAMILY, size=BODY_PT)
                self.cell(self.epw, 6, subtitle, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)

    def section(self, text: str, *, keep_with_next_mm: float = 30) -> None:
        """A section heading; never left alone at the bottom of a page."""
        if self.will_page_break(keep_with_next_mm + 9):
            self.add_page()
        self.ln(1.5)
        with self.local_context():
            self.set_font(FONT_FAMILY, size=11.5)
            self.text_mode = "FILL_STROKE"
            self.set_line_width(0.15)
            self.cell(self.epw, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(0.5)

    def paragraph(self, text: str, *, size: float = BODY_PT, grey: bool = False) -> None:
        with self.local_context():
            self.set_font(FONT_FAMILY, size=size)
            if grey:
                self.set_text_color(HINT_GREY)
            self.multi_cell(
                self.epw, LINE_MM * size / BODY_PT, self.wrap(text, self.epw), wrapmode=self.wrapmode,
                new_x=XPos.LMARGIN, new_y=YPos.NEXT,
            )

    def wrap(self, text: str, cell_width: float) -> str:
        """Break Chinese text into lines that fit cell_width, by the basic line-breaking rules.

        fpdf2's character wrap would start a line with "，" or "。" and end one with "（"; Chinese
        typesetting (禁则) forbids both, so the character before such a break moves down with it.
        Text without Chinese characters is left to fpdf2's word wrap; runs of Latin letters and
        digits are never split unless longer than the line.
        """
        text = self.normalize_text(text)
        if not text or not _CJK.search(text):
            return text
        width = cell_width - 2 * self.c_margin - 0.05
        widths: dict[str, float] = {}
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line, used = "", 0.0
            for token in _TOKENS.findall(paragraph):
                token_width = widths.get(token)
                if token_width is None:
                    token_width = widths[token] = self.get_string_width(token)
                if token_width > width:  # a run of Latin letters or digits wider than the line
                    pieces = list(token)
                    for piece in pieces:
                        widths.setdefault(piece, self.get_string_width(piece))
                else:
                    pieces = [token]
                for piece in pieces:
                    piece_width = widths[piece]
                    if line and used + piece_width > width:
                        carry = ""
                        # Move characters down until neither side of the break breaks a rule:
                        # "村（居）" must not break as "村（" + "居）" nor as "村（居" + "）".
                        while len(line) > 1 and ((carry or piece)[0] in NO_LINE_START or line[-1] in NO_LINE_END):
                            line, carry = line[:-1], line[-1] + carry
                        lines.append(line.rstrip(" "))
                        line, used = carry, self.get_string_width(carry) if carry else 0.0
                        if piece == " " and not line:
                            continue  # no space at the start of a line
                    line += piece
                    used += piece_width
            lines.append(line)
        return "\n".join(lines)

    def text_box(self, label: str, text: str, *, min_lines: int = 4, hint: str = "") -> None:
        """A ruled box with a grey label bar, holding long text that may run over page breaks.

        fpdf2's multi_cell splits across pages and draws the box's sides on each part, which a
        table row cannot do (fpdf2 keeps table rows whole).
        """
        if self.will_page_break(LINE_MM * 3 + 8):
            self.add_page()
        with self.local_context():
            self.set_fill_color(*LABEL_FILL)
            self.set_draw_color(0)
            self.set_line_width(0.2)
            self.multi_cell(
                self.epw, 7, label + ("  " + hint if hint else ""), border=1, fill=True,
                wrapmode=self.wrapmode, new_x=XPos.LMARGIN, new_y=YPos.NEXT,
            )
            body = self.wrap(text, self.epw)
            lines = self.multi_cell(
                self.epw, LINE_MM, body, dry_run=True, output="LINES", wrapmode=self.wrapmode,
            )
            body += "\n" * max(0, min_lines - len(lines))
            self.multi_cell(
                self.epw, LINE_MM, body, border="LRB", wrapmode=self.wrapmode,
                new_x=XPos.LMARGIN, new_y=YPos.NEXT,
            )

    # ---- tables -------------------------------------------------------------------------
    def field_grid(
        self,
        rows: Sequence[Sequence[tuple[str, str, int]]],
        *,
        columns: int = 4,
        col_widths: Sequence[float] | None = None,
        line_height: float = 7,
    ) -> None:
        """A ruled grid of label/value pairs, the way forms lay out 姓名 | 王堃 | 身份证号码 | ….

        Each row is a sequence of (label, value, value_colspan) pairs; a label takes one column.
        """
        label_style = FontFace(fill_color=LABEL_FILL)
        fractions = col_widths or (1,) * columns
        unit = self.epw / sum(fractions)
        with self.local_context():
            self.set_draw_color(0)
            self.set_line_width(0.2)
            with self.table(
                col_widths=col_widths or (1,) * columns,
                first_row_as_headings=False,
                text_align="LEFT",
                v_align="MIDDLE",
                line_height=line_height,
                wrapmode=self.wrapmode,
                padding=(0.8, 1.5),
            ) as table:
                for pairs in rows:
                    row = table.row()
                    column = 0
                    for label, value, span in pairs:
                        row.cell(self._cell_text(label, fractions[column] * unit), style=label_style)
                        value_width = sum(fractions[column + 1 : column + 1 + span]) * unit
                        row.cell(self._cell_text(value, value_width), colspan=span)
                        column += 1 + span

    def data_table(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        col_widths: Sequence[float],
        align: Sequence[str] | None = None,
        emphasised_rows: Sequence[int] = (),
        line_height: float = 6.5,
        min_row_height: float | None = None,
    ) -> None:
        """A ruled table whose heading row repeats on every page it runs over.

        align: one of "L", "C", "R" per column ("R" for amounts). emphasised_rows: indexes of
        rows (e.g. totals) printed on the grey label fill.
        """
        heading_style = FontFace(fill_color=LABEL_FILL)
        total_style = FontFace(fill_color=LABEL_FILL)
        align = align or ["L"] * len(headings)
        with self.local_context():
            self.set_draw_color(0)
            self.set_line_width(0.2)
            with self.table(
                col_widths=col_widths,
                headings_style=heading_style,
                text_align="CENTER",
                line_height=line_height,
                wrapmode=self.wrapmode,
                padding=(0.8, 1.5),
                repeat_headings=1,
                cell_fill_mode=TableCellFillMode.NONE,
                min_row_height=min_row_height,
            ) as table:
                unit = self.epw / sum(col_widths)
                head = table.row()
                for column, text in enumerate(headings):
                    head.cell(self._cell_text(text, col_widths[column] * unit), align="C")
                for index, values in enumerate(rows):
                    row = table.row(style=total_style if index in emphasised_rows else None)
                    for column, text in enumerate(values):
                        row.cell(self._cell_text(text, col_widths[column] * unit), align=_ALIGN[align[column]])

    def _cell_text(self, text: str, width: float) -> str:
        """Pre-wrap a table cell (padding 1.5 mm a side) by the Chinese line-breaking rules."""
        text = self.normalize_text(text)
        if not text or self.get_string_width(text) <= width - 3.2:
            return text
        saved, self.c_margin = self.c_margin, 1.6
        try:
            return self.wrap(text, width)
        finally:
            self.c_margin = saved

    # ---- signatures and seals -------------------------------------------------------------
    def signature_line(self, items: Sequence[tuple[str, float]], *, height: float = 10) -> None:
        """Labels followed by a ruled blank of the given width (mm), all on one line."""
        if self.will_page_break(height + 2):
            self.add_page()
        y = self.get_y() + height - 3
        x = self.l_margin
        with self.local_context():
            self.set_draw_color(0)
            self.set_line_width(0.2)
            for label, blank_mm in items:
                width = self.get_string_width(label) + 1
                self.set_xy(x, y - 5)
                self.cell(width, 5, label)
                x += width
                if blank_mm:
                    self.line(x, y, x + blank_mm, y)
                    x += blank_mm + 4
        self.set_xy(self.l_margin, y + 3)

    def filled_signature_line(self, items: Sequence[tuple[str, str, float]], *, height: float = 10) -> None:
        """Like signature_line but with text printed on the blank (e.g. a pre-filled date)."""
        if self.will_page_break(height + 2):
            self.add_page()
        y = self.get_y() + height - 3
        x = self.l_margin
        with self.local_context():
            self.set_draw_color(0)
            self.set_line_width(0.2)
            for label, value, blank_mm in items:
                width = self.get_string_width(label) + 1
                self.set_xy(x, y - 5)
                self.cell(width, 5, label)
                x += width
                self.set_xy(x, y - 5)
                self.cell(blank_mm, 5, value, align="C")
                self.line(x, y, x + blank_mm, y)
                x += blank_mm + 4
        self.set_xy(self.l_margin, y + 3)

    def seal_circle(self, cx: float, cy: float, label: str, *, diameter: float = 24) -> None:
        """A dashed circle where the stamp goes, marked 盖章 in grey."""
        with self.local_context():
            self.set_draw_color(150)
            self.set_line_width(0.3)
            self.set_dash_pattern(dash=1.2, gap=1.2)
            self.circle(x=cx, y=cy, radius=diameter / 2)
            self.set_dash_pattern()
            self.set_text_color(150)
            self.set_font(FONT_FAMILY, size=9)
            self.set_xy(cx - diameter / 2, cy - 2.5)
            self.cell(diameter, 5, label, align="C")

    def opinion_boxes(
        self,
        boxes: Sequence[tuple[str, str]],
        *,
        seal_label: str,
        signature_label: str,
        date_blank: str,
        columns: int = 2,
        height: float = 50,
    ) -> None:
        """Ruled boxes for an office's opinion: caption, pre-printed text, signature, seal, date.

        boxes: (caption, printed opinion text or "") per office. Rows never split over pages.
        """
        width = self.epw / columns
        for start in range(0, len(boxes), columns):
            if self.will_page_break(height + 1):
                self.add_page()
            top = self.get_y()
            for offset, (caption, text) in enumerate(boxes[start : start + columns]):
                left = self.l_margin + offset * width
                with self.local_context():
                    self.set_draw_color(0)
                    self.set_line_width(0.2)
                    self.rect(left, top, width, height)
                    self.set_xy(left + 1, top + 1)
                    self.multi_cell(width - 2, 6, caption, wrapmode=self.wrapmode)
                    if text:
                        self.set_x(left + 1)
                        self.multi_cell(width - 2, 6, self.wrap(text, width - 2), wrapmode=self.wrapmode)
                    self.seal_circle(left + width - 17, top + height - 19, seal_label)
                    self.set_font(FONT_FAMILY, size=9)
                    self.set_xy(left + 2, top + height - 13)
                    self.cell(width - 30, 5, signature_label)
                    self.set_xy(left + 2, top + height - 6.5)
                    self.cell(width - 4, 5, date_blank, align="R")
            self.set_xy(self.l_margin, top + height)
        self.ln(2)

    def checkbox(self, checked: bool, *, size: float = 3.6) -> None:
        """A small ruled box at the current position, ticked with √ when checked."""
        x, y = self.get_x(), self.get_y()
        top = y + (LINE_MM - size) / 2
        with self.local_context():
            self.set_draw_color(0)
            self.set_line_width(0.25)
            self.rect(x + 0.5, top, size, size)
            if checked:
                self.set_font(FONT_FAMILY, size=10)
                self.set_xy(x + 0.5, top - 0.6)
                self.cell(size, size + 1, "√", align="C")
        self.set_xy(x + size + 2, y)

    def choice_line(self, label: str, options: Sequence[tuple[str, bool]]) -> None:
        """A label followed by ticked or empty boxes: 是否转移安置：□是 □否"""
        if self.will_page_break(LINE_MM + 1):
            self.add_page()
        self.set_x(self.l_margin)
        self.cell(self.get_string_width(label) + 2, LINE_MM, label)
        for text, checked in options:
            self.checkbox(checked)
            self.cell(self.get_string_width(text) + 5, LINE_MM, text)
        self.ln(LINE_MM)

    def output_bytes(self) -> bytes:
        return bytes(self.output(output_producer_class=_IdentityEncodingOutput))


_ALIGN = {"L": "LEFT", "C": "CENTER", "R": "RIGHT"}
# Characters that must not begin a line, and ones that must not end one (GB/T 15834 practice).
NO_LINE_START = frozenset("，。、；：？！）》」』】〕〉…—·％,.;:?!)]}”’%")
NO_LINE_END = frozenset("（《「『【〔〈“‘([{")
# Runs of Latin letters and digits (report numbers, "BCD-216", "0.8") stay together on a line.
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
_TOKENS = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./:+-]*|.", re.DOTALL)
