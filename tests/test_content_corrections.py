"""Issue 16 §1: the corrected facts, as the citizen reads them in the rendered guides and answers.

Sources per correction: docs/content-corrections.md.
"""
from __future__ import annotations

import re

import pytest

from bot.eligibility import ElderProfile, check, render_text

SAMPLE_CITIES = ("zhejiang-hangzhou", "hunan-chenzhou", "liaoning-yingkou", "hebei-qinhuangdao")
PLACES = (None,) + SAMPLE_CITIES + ("zhejiang-hangzhou-xihu", "zhejiang-hangzhou-tonglu", "zhejiang-ningbo")
NATIONAL_EXAMPLES = ("深圳", "广州", "上海")


def legal_section(text: str) -> list:
    lines = text.split("【政策依据】", 1)[1].splitlines()
    return [ln for ln in lines if ln.startswith("· ")]


@pytest.fixture(scope="module")
def codes(catalog):
    return [s.code for s in catalog.services()]


# -- rendered sources and legal basis --------------------------------------------------------


@pytest.mark.parametrize("region", PLACES)
def test_rendered_sources_use_full_width_punctuation(assistant, codes, region):
    for code in codes:
        lines = legal_section(assistant.guide(code, region, 85).text)
        assert lines, code
        for line in lines:
            assert not re.search(r"[(),;]", line), (code, region, line)
            assert not re.search(r":(?!\d)", line), (code, region, line)  # 9:00 would be fine


@pytest.mark.parametrize("region", PLACES)
def test_each_legal_basis_is_printed_once(catalog, assistant, codes, region):
    for code in codes:
        g = catalog.guide(code, region, 85)
        keys = [(lb["title"], lb.get("article")) for lb in g.legal_basis]
        assert len(keys) == len(set(keys)), (code, region, keys)
        lines = [ln for ln in legal_section(assistant.guide(code, region, 85).text) if "信息来源" not in ln]
        assert len(lines) == len(set(lines)), (code, region)


# -- funeral ---------------------------------------------------------------------------------


@pytest.mark.parametrize("region", (None, "zhejiang-hangzhou", "hunan-chenzhou"))
@pytest.mark.parametrize("code", ["funeral.after_death", "funeral.fee_waiver", "funeral.eco_burial"])
def test_funeral_guides_cite_the_2026_revision_without_old_article_numbers(assistant, code, region):
    text = assistant.guide(code, region).text
    legal = "\n".join(legal_section(text))
    assert "殡葬管理条例" in legal and "2026年3月30日" in legal
    assert not re.search(r"殡葬管理条例[^\n]*第\d+条", text)
    assert "第13条" not in text and "第4条" not in text


def test_waivers_and_rewards_cite_local_documents(catalog):
    for code in ("funeral.fee_waiver", "funeral.eco_burial"):
        titles = [lb["title"] for lb in catalog.guide(code).legal_basis]
        assert titles[0].startswith("各地"), titles
    hz = [lb["title"] for lb in catalog.guide("funeral.fee_waiver", "zhejiang-hangzhou").legal_basis]
    assert "关于杭州市区殡葬基本服务费用免费的实施意见" in hz


def test_death_certificate_is_named_in_full(assistant):
    text = assistant.guide("funeral.after_death").text
    assert "《居民死亡医学证明》" in text and "《居民死亡医学证明（推断）书》" in text
    assert "国卫规划发〔2026〕5号" in text


def test_bank_rule_is_per_bank_for_named_relatives(assistant):
    text = assistant.guide("funeral.after_death").text
    assert "同一家银行" in text and "5万元" in text and "配偶、子女、父母" in text
    assert "丧葬费、抚恤金不计入" in text


def test_death_benefits_name_the_enterprise_scheme(assistant):
    text = assistant.guide("funeral.death_benefits").text
    assert "企业职工基本养老保险遗属待遇暂行办法" in text and "人社部发〔2021〕18号" in text
    assert "机关事业单位" in text  # not covered


# -- marriage --------------------------------------------------------------------------------


@pytest.mark.parametrize("region", (None, "zhejiang-hangzhou"))
def test_divorce_certificate_collected_where_the_application_was_accepted(assistant, region):
    text = assistant.guide("marriage.divorce", region).text
    steps = text.split("【办理流程】", 1)[1].split("【", 1)[0]
    assert "受理申请的那个登记处撤回" in steps
    assert "回到受理申请的那个登记处，申请发给离婚证" in steps
    materials = text.split("【所需材料】", 1)[1].split("【", 1)[0]
    assert "照片" in materials


def test_both_record_certificates_stopped_in_2015(assistant):
    text = assistant.guide("marriage.reissue").text
    assert "不再对外出具婚姻登记记录证明和无婚姻登记记录证明" in text
    assert "民函〔2015〕266号" in text


# -- assistance ------------------------------------------------------------------------------


def test_temporary_assistance_where_to_apply_and_spending_case(assistant):
    text = assistant.guide("assistance.temporary").text
    assert "居住证" in text and "居住地" in text and "就地救助" in text
    assert "低保家庭" in text  # the sudden-spending case
    assert "社会救助暂行办法 第47条" in text and "国发〔2014〕47号" in text


# -- elder care ------------------------------------------------------------------------------


def test_elder_law_articles_as_written(catalog):
    def article(code):
        return {lb.get("article"): lb.get("note", "") for lb in catalog.guide(code).legal_basis}
    assert "经济困难" in article("elder.care_subsidy")["第30条"]
    assert "低收入" in article("elder.age_allowance")["第33条"]


def test_care_voucher_facts(assistant):
    text = assistant.guide("elder.care_subsidy").text
    for fact in ("中度失能", "完全失能", "800元", "民政通", "特困人员", "据公开报道", "以当地通知为准"):
        assert fact in text, fact


def test_tekun_elder_is_not_told_they_qualify_for_the_voucher():
    result = check(ElderProfile(78, "zhejiang-hangzhou", True, "tekun", "severe", True))
    voucher = [ln for ln in render_text(result).splitlines() if "养老服务消费补贴" in ln and ln.startswith("【")]
    assert voucher and all(ln.startswith("【不符合】") for ln in voucher)


def test_hangzhou_age_allowance_has_one_residence_condition(catalog, assistant):
    g = catalog.guide("elder.age_allowance", "zhejiang-hangzhou", 85)
    residence = [c for c in g.conditions if "户籍" in c]
    assert residence == ["具有杭州市户籍。"]
    text = assistant.guide("elder.age_allowance", "zhejiang-hangzhou", 85).text
    conditions = text.split("【办理条件】", 1)[1].split("【", 1)[0]
    assert "浙江省户籍" not in conditions


def test_hangzhou_funeral_waiver_is_limited_to_the_urban_districts(catalog):
    g = catalog.guide("funeral.fee_waiver", "zhejiang-hangzhou")
    joined = g.summary + " ".join(g.conditions)
    assert "杭州市区" in joined and "桐庐县、淳安县、建德市" in joined


def test_hangzhou_proxy_service_is_sample_data(catalog, assistant):
    g = catalog.guide("funeral.after_death", "zhejiang-hangzhou")
    assert g.has_sample
    assert any(s.scope == "杭州市" and s.sample for s in g.sources)
    text = assistant.guide("funeral.after_death", "zhejiang-hangzhou").text
    assert "示例数据" in text and "尚未核实" in text


@pytest.mark.parametrize("region", SAMPLE_CITIES + ("zhejiang-hangzhou-xihu", "zhejiang-ningbo"))
def test_national_examples_stay_out_of_local_guides(assistant, codes, region):
    for code in codes:
        text = assistant.guide(code, region, 85).text
        for place in NATIONAL_EXAMPLES:
            assert place not in text, (code, region, place)


def test_national_examples_remain_in_the_national_guide(assistant):
    assert "深圳" in assistant.guide("elder.age_allowance").text


@pytest.mark.parametrize("region, automatic", [("zhejiang-hangzhou", True), ("hunan-chenzhou", False)])
def test_to_enjoy_on_reaching_the_age_only_without_application(assistant, region, automatic):
    text = assistant.guide("elder.age_allowance", region, 70).text
    assert ("到龄后即可享受" in text) is automatic
    if not automatic:
        assert "申请" in text.split("【补贴标准】", 1)[1].split("【", 1)[0]
