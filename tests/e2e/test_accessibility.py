"""Every control on every screen can be hit with a thumb and is named, in the UI's language.

In a real Chromium the Chinese UI is walked screen by screen — enrolment, home, the new-report
wizard's four steps, a claim's four tabs and settings on a phone (412×915), and every section of
the office console for the coordinator at 1280×800. On each screen (scrolled top to bottom, since
Flutter only builds what is near the viewport) every node of Flutter's semantics tree that can be
tapped or typed into is collected, and the test fails listing the offenders:

* a target smaller than 48×48 logical pixels (Android's and WCAG's minimum touch target; the
  device scale factor is 1, so logical pixels are CSS pixels here), unless the node is clipped by
  the edge of a scrolling area or of the window (then its on-screen box is not its size);
* a control without an accessible name (a screen reader says only "button");
* an English word in a name in the Chinese UI ("18 characters remaining"), apart from proper
  nouns a Chinese user meets as they are (PDF, Excel, GPS, URLs, codes with digits).

Screenshots of every screen go to test-output/screenshots/a11y-*.png.
"""
from __future__ import annotations

import re

from tests.e2e.conftest import DESKTOP, ROOT, FieldApp, Screen
from tests.e2e.test_claim_to_payment import PHOTOS, enrol

MIN_TARGET = 48
RESULTS = ROOT / "test-output" / "e2e_accessibility.txt"  # the offenders of the last run, screen by screen
LONGSHUI = "500111100"
# Words that stay as they are in Chinese text: file formats, GPS, the font's licence (SIL OFL).
PROPER_NOUNS = {"PDF", "EXCEL", "XLSX", "XLS", "CSV", "JSON", "GPS", "QR", "ID", "URL", "HTTP", "HTTPS", "WGS",
                "SIL", "OFL"}

# Every tappable or editable semantics node on screen, with its box, its accessible name and
# whether an edge of its box is where a scrolling area (or the window) cuts it off.
_COLLECT = """
() => {
  const ROLES = new Set(['button', 'checkbox', 'radio', 'textbox', 'slider', 'tab', 'link', 'switch',
                         'combobox', 'menuitem', 'menuitemcheckbox', 'menuitemradio', 'option', 'spinbutton']);
  const vw = window.innerWidth, vh = window.innerHeight;
  const out = [];
  const nameOf = (el) => {
    const own = (el.getAttribute('aria-label') || '').trim();
    if (own) return own;
    const ids = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
    const byIds = ids.map(id => (document.getElementById(id) || {}).textContent || '').join(' ').trim();
    if (byIds) return byIds;
    if (el.labels && el.labels.length) return Array.from(el.labels).map(l => l.textContent).join(' ').trim();
    if (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') return (el.getAttribute('placeholder') || '').trim();
    return (el.textContent || '').replace(/\\s+/g, ' ').trim();
  };
  const clippers = [];
  for (const el of document.querySelectorAll('flt-semantics')) {
    const cs = getComputedStyle(el);
    if (/(auto|scroll|hidden)/.test(cs.overflow + cs.overflowX + cs.overflowY)) clippers.push(el);
  }
  const seen = new Set();
  const nodes = document.querySelectorAll('flt-semantics, flt-semantics input, flt-semantics textarea');
  for (const el of nodes) {
    const role = el.getAttribute('role') || (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' ? 'textbox' : '');
    const tappable = el.hasAttribute('flt-tappable');
    if (!ROLES.has(role) && !tappable) continue;
    // A text field is an <input> inside its semantics node: measure and name the field once.
    if (el.tagName === 'FLT-SEMANTICS' && el.querySelector(':scope > input, :scope > textarea')) continue;
    if (seen.has(el)) continue;
    seen.add(el);
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) continue;
    if (r.right <= 0 || r.bottom <= 0 || r.left >= vw || r.top >= vh) continue;
    const near = (a, b) => Math.abs(a - b) < 1.5;
    let clipped = r.left < 0.5 || r.top < 0.5 || r.right > vw - 0.5 || r.bottom > vh - 0.5;
    for (const c of clippers) {
      if (c === el || !c.contains(el)) continue;
      const b = c.getBoundingClientRect();
      if (near(r.top, b.top) || near(r.bottom, b.bottom) || near(r.left, b.left) || near(r.right, b.right)
          || r.top < b.top || r.bottom > b.bottom) { clipped = true; break; }
    }
    out.push({role: role || 'tappable', name: nameOf(el), w: Math.round(r.width), h: Math.round(r.height),
              x: Math.round(r.left), y: Math.round(r.top), clipped,
              disabled: el.getAttribute('aria-disabled') === 'true'});
  }
  // Everything else a screen reader reads out (a field's counter, a hint): for the language check.
  const said = [];
  for (const el of document.querySelectorAll('flt-semantics')) {
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0 || r.bottom <= 0 || r.top >= vh) continue;
    const label = (el.getAttribute('aria-label') || '').trim();
    if (label) said.push(label);
    if (!el.querySelector('flt-semantics')) {
      const text = (el.textContent || '').replace(/\\s+/g, ' ').trim();
      if (text && text !== label) said.push(text);
    }
  }
  return {targets: out, said};
}
"""


def english_words(name: str) -> list[str]:
    """The English words in an accessible name, proper nouns, codes and addresses left out."""
    # addresses, file names and folders (the data directory) are written as the system has them
    text = re.sub(r"https?://\S+|\S*/\S*|\b[\w.-]+\.(?:pdf|xlsx|jpg|png)\b", " ", name, flags=re.I)
    words = re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]", text)
    words = [wd for wd in words if wd.upper() not in PROPER_NOUNS]
    # Codes (report numbers, ID numbers, insurer codes) mix letters and digits: drop those tokens.
    codes = {m for m in re.findall(r"[A-Za-z0-9-]*\d[A-Za-z0-9-]*", name)}
    return [wd for wd in words if not any(wd in code for code in codes) and len(wd) > 1]


def offences(node: dict, chinese: bool) -> list[str]:
    found = []
    if not node["name"]:
        found.append("no accessible name")
    if not node["clipped"] and (node["w"] < MIN_TARGET or node["h"] < MIN_TARGET):
        found.append(f"{node['w']}×{node['h']} px (< {MIN_TARGET}×{MIN_TARGET})")
    if chinese and node["name"]:
        english = english_words(node["name"])
        if english:
            found.append(f"English in the Chinese UI: {' '.join(english)!r}")
    return found


class Audit:
    """The offenders of every screen walked, reported together at the end."""

    def __init__(self) -> None:
        self.problems: dict[str, list[str]] = {}
        self.counted: dict[str, int] = {}
        self.names: dict[str, set[str]] = {}  # every target seen, for the record

    def walk(self, screen: Screen, name: str, *, chinese: bool = True, scroll: bool = True) -> None:
        page = screen.page
        page.wait_for_timeout(800)  # the screen's last redraw
        screen.shot(name)
        found: dict[tuple, str] = {}
        seen: set[tuple] = set()
        size = page.viewport_size
        x = size["width"] * (0.75 if size["width"] >= 900 else 0.5)
        for step in range(12 if scroll else 1):
            drawn = page.evaluate(_COLLECT)
            before = len(seen)
            if chinese:
                for text in drawn["said"]:
                    self.names.setdefault(name, set()).add(f"read out {text[:80]!r}")
                    english = english_words(text)
                    if english:
                        found.setdefault(("said", text), f"read out {text!r}: English in the Chinese UI: "
                                                         f"{' '.join(english)!r}")
            for node in drawn["targets"]:
                self.names.setdefault(name, set()).add(f"{node['role']} {node['name']!r} {node['w']}×{node['h']}")
                seen.add((node["role"], node["name"]))
                for what in offences(node, chinese):
                    found.setdefault((node["role"], node["name"], what),
                                     f"{node['role']} {node['name']!r} at ({node['x']},{node['y']}): {what}")
            if step and len(seen) == before:
                break
            page.mouse.move(x, size["height"] * 0.6)
            page.mouse.wheel(0, 500)
            page.wait_for_timeout(400)
        if scroll:
            screen.top()
        self.counted[name] = len(seen)
        if found:
            self.problems[name] = sorted(found.values())

    def report(self) -> str:
        return "\n".join(f"[{screen}]\n  " + "\n  ".join(lines) for screen, lines in self.problems.items())


def test_every_control_is_big_enough_and_named_in_chinese(server, workdir, browser):
    audit = Audit()
    phone_app = FieldApp(workdir, "a11y-liaison", server.url)
    desk_app = FieldApp(workdir, "a11y-coordinator", server.url)
    phone = desk = None
    try:
        phone = Screen(browser, phone_app.url, "a11y-phone")
        phone.opened(phone.button("登记"))
        phone.type_into("登记码", "ABCD")  # the field's counter and hint are announced too
        phone.type_into("登记码", "")
        audit.walk(phone, "enrolment")
        enrol(phone, server, "liaison", township_code=LONGSHUI)
        audit.walk(phone, "home")

        # the new-report wizard, step by step
        phone.tap(phone.button("新建报案"), then="选择险种")
        audit.walk(phone, "wizard-coverage")
        phone.tap(phone.button("自然灾害救助保险"), then="村（社区）")
        phone.page.get_by_text(re.compile(r"定位：29\.5")).first.wait_for(state="attached", timeout=30_000)
        phone.type_into("出险经过", "暴雨引发山洪，房屋倒塌。")
        audit.walk(phone, "wizard-place")
        phone.tap(phone.button("高坑村村民委员会"))
        phone.tap(phone.button("下一步"), then="损失类型")
        phone.tap(phone.labelled("房屋及室内财产"))
        phone.type_into("姓名", "周德明")
        phone.type_into("身份证号", "1101051949")  # half typed: the counter says what is left
        audit.walk(phone, "wizard-person")
        phone.type_into("身份证号", "11010519491231002X")
        phone.tap(phone.button("下一步"), then="本次 0 张")  # the photo step: the camera screen
        with phone.page.expect_file_chooser() as chooser:
            phone.tap(phone.button("从相册选择"))
        chooser.value.set_files([str(p) for p in PHOTOS])
        phone.see(f"已保存 {len(PHOTOS)} 张", timeout=90_000)  # the photo step opened the camera screen; its picker was used
        audit.walk(phone, "wizard-photos")
        phone.tap(phone.button("提交报案"))
        phone.see("还缺", timeout=30_000)

        # the claim's four tabs
        for tab, sign in (("概况", "相关人员"), ("资料", "还缺"), ("照片", f"已有 {len(PHOTOS)} 张照片"),
                          ("进度", "地点：")):
            phone.tap(phone.button(tab, exact=True), then=sign)
            audit.walk(phone, f"claim-{tab}")
        phone.back()
        phone.appbar_action("设置")
        phone.see("退出登记")
        audit.walk(phone, "settings")

        # the office console, every section the coordinator has
        desk = Screen(browser, desk_app.url, "a11y-desk", viewport=DESKTOP)
        enrol(desk, server, "coordinator")
        desk.tap(desk.button("办公台"), then="案件总览")
        for section in ("案件总览", "派单队列", "轮值看板", "灾害事件", "共保审核", "工作经费", "报告", "数据冲突"):
            desk.top()
            nav = desk.button(section, exact=True)
            if not nav.count():
                continue
            desk.tap(nav)
            desk.page.wait_for_timeout(1_500)  # the section asks the server
            audit.walk(desk, f"office-{section}")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text((audit.report() or "no offenders") + "\n\nevery target seen:\n" + "\n".join(
            f"[{screen}]\n  " + "\n  ".join(sorted(names)) for screen, names in audit.names.items()), encoding="utf-8")
        assert len(audit.counted) >= 14, audit.counted
        assert not audit.problems, "controls too small, unnamed or named in English:\n" + audit.report()
    except Exception:
        for s, app in ((phone, phone_app), (desk, desk_app)):
            if s is not None:
                s.failed(app.log)
        raise
    finally:
        for s in (phone, desk):
            if s is not None:
                s.close()
        phone_app.stop()
        desk_app.stop()
