"""The phone's checklist: optional items are shown with their basis and never hold up the claim."""
from __future__ import annotations

import pytest

from claimcore.catalogue import BASES
from fieldapp.i18n import LANGUAGES, t
from fieldapp.state.claims import load_claim
from fieldapp.state.wizard import NewReportWizard

LONGSHUI = "500111100"
GAOKENG = "500111100203"
VALID_ID = "11010519491231002X"
FIX = {"lat": 29.599, "lon": 105.756, "accuracy_m": 12.0}


def _report(ctx, coverage: str, loss: str) -> str:
    w = NewReportWizard(ctx.store, "u-liaison", "liaison", LONGSHUI)
    w.choose_coverage(coverage)
    w.set_fix(FIX)
    w.set_village(GAOKENG)
    w.set_description("救落水儿童时受伤")
    assert w.next(), w.errors
    w.toggle_loss_type(loss)
    w.set_victim(0, "name", "王秀英")
    w.set_victim(0, "id_number", VALID_ID)
    assert w.next(), w.errors
    return w.finish()


def test_good_samaritan_claim_is_complete_without_the_confirmation(ctx):
    claim_id = _report(ctx, "good_samaritan", "death")
    view = load_claim(ctx.store, claim_id, "liaison", "zh")
    codes = [line.code for line in view.checklist]
    assert len(codes) == len(set(codes))  # each paper once, the two-of-three members too
    assert {"death_medical_certificate", "household_deregistration", "cremation_certificate"} <= set(codes)
    lines = {line.code: line for line in view.checklist}
    confirmation = lines["good_samaritan_confirmation"]
    assert not confirmation.item.mandatory and confirmation.item.basis.source == "practice"
    assert lines["police_determination"].item.basis.quote == "街镇协助收集公安局事故认定文件"

    for line in view.checklist:
        if line.item.mandatory and line.code not in ("cremation_certificate",):  # two of three suffice
            ctx.store.documents.set_status(claim_id, line.code, "collected", user="u")
    after = load_claim(ctx.store, claim_id, "liaison", "zh")
    assert after.result.complete, [m.text("zh") for m in after.result.missing]
    assert [m.documents for m in after.result.optional_missing] == [("good_samaritan_confirmation",)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_basis_has_a_line_the_user_can_read(lang):
    for source in BASES:
        assert "证" in t(f"docs.basis.{source}", lang, text="证")
    assert "证" in t("docs.basis.unstated", lang, text="证")
    assert t("docs.optional", "zh") == "可选，不影响提交"
