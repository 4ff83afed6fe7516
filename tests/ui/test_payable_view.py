"""The claim's money screen under the programme's caps: the payable amount with the reduction ratio
and the caps' source when the server said the event is over its cap; a note that the server sets
it while the phone has no answer (asking once); a stale answer (another adjusted amount) unused."""
from __future__ import annotations

from types import SimpleNamespace

import flet as ft

from claimcore import amounts
from fieldapp.i18n import t as translate
from fieldapp.views import claim_money

YUAN = 100


def _texts(controls) -> list[str]:
    out = []
    for c in controls:
        if isinstance(c, ft.Text):
            out.append(c.value)
        out += _texts(getattr(c, "controls", None) or [])
    return out


class _Shell:
    def __init__(self, answer, lang="zh"):
        self.asked: list[str] = []
        self.screen_state: dict = {}
        self.ctx = SimpleNamespace(language=lang, t=lambda key, **kw: translate(key, lang, **kw),
                                   known_payable=lambda claim_id: answer,
                                   load_payable=lambda claim_id: self.asked.append(claim_id), notify=lambda what: None)
        self.page = SimpleNamespace(run_thread=lambda fn: fn())


def _event_answer() -> dict:
    pool = [amounts.PoolClaim(f"c{i}", 20_000_000 * YUAN, 2026, "flood") for i in range(2)]
    return amounts.payable_for(pool[0], pool).as_dict()


def _claim(adjusted=20_000_000 * YUAN, status="stamped"):
    return SimpleNamespace(id="c0", adjusted_amount_fen=adjusted, status=status)


def test_an_event_over_its_cap_shows_the_ratio_the_payable_amount_and_the_source():
    shell = _Shell(_event_answer())
    text = "\n".join(_texts(claim_money._payable(shell, _claim())))
    assert "15,000,000.00 元" in text and "按 75.00% 比例赔付" in text
    assert "超过每次事故限额 30,000,000.00 元" in text
    assert "限额来源：2026年度：《重庆市大足区巨灾保险合作协议》" in text and "暂按渝府办发〔2017〕121号" in text
    english = "\n".join(_texts(claim_money._payable(_Shell(_event_answer(), "en"), _claim())))
    assert "paid at 75.00%" in english and "Caps: policy year 2026" in english
    assert shell.asked == []  # an answer about this amount is on the phone


def test_without_the_servers_answer_the_screen_says_the_server_sets_it_and_asks_once():
    shell = _Shell(None)
    text = "\n".join(_texts(claim_money._payable(shell, _claim())))
    assert "可赔付金额由服务器按每次事故限额和年度限额核定" in text
    claim_money._payable(shell, _claim())
    assert shell.asked == ["c0"]
    stale = _Shell(_event_answer())  # the answer was about another adjusted amount
    assert "可赔付金额由服务器" in "\n".join(_texts(claim_money._payable(stale, _claim(adjusted=19_000_000 * YUAN))))
    assert claim_money._payable(_Shell(None), _claim(adjusted=None)) == []


def test_the_servers_refusal_of_a_payment_over_the_share_reads_as_something_to_correct():
    from fieldapp.sync.errors import problem_text

    problem = {"code": "paid_over_payable", "entity": "claim", "field": "paid_amount_fen"}
    what, todo = problem_text(problem, "zh")
    assert "赔付金额超过本案可赔付金额" in what and "按比例赔付" in what and "请在案件中修改" in todo
    what, todo = problem_text(problem, "en")
    assert "payable amount" in what and "pro rata" in what and "Correct it in the claim" in todo
