"""Elder-care subsidy check (bot/eligibility.py) against the real rules file and small in-memory rules."""
from __future__ import annotations

import copy
import datetime as dt

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.eligibility import (
    CARE_LEVELS,
    DEFAULT_RULES_PATH,
    ECONOMIC,
    NATIONAL,
    QUESTIONS,
    SAMPLE_NOTE,
    ElderProfile,
    RulesError,
    Status,
    care_level_from_text,
    check,
    disability_benefits,
    disability_conditions,
    load_rules,
    mentions_disability,
    parse_age,
    parse_disability_level,
    parse_economic,
    parse_yes_no,
    region_chain,
    render_text,
    rules_from_mapping,
    says_severe_disability,
    self_care_from_adl,
)

from .conftest import DELETE, set_path

TODAY = dt.date(2026, 11, 22)
E, L, N, U = Status.ELIGIBLE, Status.LIKELY, Status.NOT_ELIGIBLE, Status.UNKNOWN


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.fixture(scope="module")
def raw():
    from bot.catalog.loader import standalone_rules

    return standalone_rules(DEFAULT_RULES_PATH)  # labels and bands from the catalogue written in


def run(rules, age, region=None, hukou=None, economic=None, care=None, assessed=False, today=TODAY, parents=None):
    profile = ElderProfile(age, region, hukou, economic, care, assessed)
    return check(profile, rules, parents=parents, today=today)


# --------------------------------------------------------------------------- the rules file


def test_rules_file_lists_the_benefits_in_display_order(rules):
    assert [b.code for b in rules.benefits] == [
        "elder.age_allowance", "elder.service_subsidy", "elder.care_subsidy", "elder.care_voucher",
        "elder.home_adaptation", "elder.institution", "disability.living_subsidy", "disability.care_subsidy",
    ]
    assert rules.benefits[3].service == "elder.care_subsidy"  # the catalogue describes vouchers there


def test_rules_file_uses_the_catalogue_region_codes(rules):
    from bot.catalog.loader import load_content
    from bot.config import CONTENT_DIR

    content = load_content(CONTENT_DIR)
    codes = {region.code for region, _ in content.regions}
    for code in rules.layers:
        assert code == NATIONAL or code in codes, code


def test_sample_cities_are_flagged_and_sourced_cities_are_not(rules):
    for code in ("hunan-chenzhou", "liaoning-yingkou", "hebei-qinhuangdao"):
        assert rules.layers[code]["elder.age_allowance"]["sample"] is True
    for code in ("zhejiang", "zhejiang-hangzhou"):
        assert not rules.layers[code]["elder.age_allowance"].get("sample", False)


# --------------------------------------------------------------------------- 高龄津贴


@pytest.mark.parametrize(
    "region, age, status, monthly",
    [
        ("zhejiang-hangzhou", 79, N, None),
        ("zhejiang-hangzhou", 80, E, 60),  # exactly 80
        ("zhejiang-hangzhou", 89, E, 60),
        ("zhejiang-hangzhou", 90, E, 100),  # band change 89 -> 90
        ("zhejiang-hangzhou", 99, E, 100),
        ("zhejiang-hangzhou", 100, E, 800),  # Hangzhou raised 100+
        ("zhejiang-hangzhou", 112, E, 800),
        ("zhejiang-hangzhou-xihu", 85, E, 60),  # district falls back to its city
        ("zhejiang", 80, E, 60),
        ("zhejiang", 89, E, 60),
        ("zhejiang", 90, E, 100),
        ("zhejiang", 100, E, 300),  # provincial minimum
        ("zhejiang-ningbo", 95, E, 100),  # another city falls back to the province
        ("hunan-chenzhou", 85, E, 50),
        ("hunan-chenzhou", 100, E, 500),
        ("liaoning-yingkou", 92, E, 150),
        ("hebei-qinhuangdao", 100, E, 600),
        ("hebei-qinhuangdao", 79, N, None),
        ("hunan-changsha", 85, U, None),  # no local data
        (None, 85, U, None),  # no region
    ],
)
def test_age_allowance_by_region_and_age(rules, region, age, status, monthly):
    b = run(rules, age, region, hukou=True).benefit("elder.age_allowance")
    assert b.status is status
    assert b.monthly == monthly


@pytest.mark.parametrize(
    "region, sample, automatic",
    [
        ("zhejiang", False, True),
        ("zhejiang-hangzhou", False, True),  # inherited from the province layer
        ("hunan-chenzhou", True, False),
        ("liaoning-yingkou", True, False),
        ("hebei-qinhuangdao", True, False),
    ],
)
def test_age_allowance_sample_and_automatic_flags(rules, region, sample, automatic):
    b = run(rules, 85, region, hukou=True).benefit("elder.age_allowance")
    assert (b.sample, b.automatic) == (sample, automatic)


def test_age_allowance_reason_names_the_matched_rule(rules):
    zj = run(rules, 85, "zhejiang", hukou=True).benefit("elder.age_allowance")
    assert zj.reason.startswith("浙江省户籍、年满80周岁：80—89周岁（省定最低标准）每月60元")
    assert "浙江省标准" in zj.reason
    hz = run(rules, 100, "zhejiang-hangzhou", hukou=True).benefit("elder.age_allowance")
    assert "杭州市户籍" in hz.reason and "100周岁及以上每月800元" in hz.reason and "杭州市标准" in hz.reason


def test_zhejiang_allowance_is_paid_without_application(rules):
    result = run(rules, 85, "zhejiang-hangzhou", hukou=True)
    b = result.benefit("elder.age_allowance")
    assert b.automatic and "免申即享" in b.how_to_apply
    assert "高龄津贴：每月60元，不用申请，自动发放" in render_text(result)


def test_age_79_is_told_how_long_to_wait(rules):
    b = run(rules, 79, "zhejiang", hukou=True).benefit("elder.age_allowance")
    assert b.status is N
    assert "还差1年" in b.reason


@pytest.mark.parametrize("region, place", [("zhejiang", "浙江"), ("zhejiang-hangzhou", "杭州"),
                                           ("hunan-chenzhou", "郴州")])
def test_non_local_hukou_gets_no_local_allowance_and_is_told_why(rules, region, place):
    result = run(rules, 88, region, hukou=False)
    b = result.benefit("elder.age_allowance")
    assert b.status is N and b.monthly is None
    assert "户籍" in b.reason and place in b.reason
    assert b.unmet
    assert b.reason in render_text(result)


def test_unknown_hukou_is_asked(rules):
    result = run(rules, 85, "zhejiang-hangzhou", hukou=None, economic="none", care="intact", assessed=True)
    b = result.benefit("elder.age_allowance")
    assert b.status is U and b.missing == ["local_hukou"]
    assert result.missing == ["local_hukou"]
    assert result.next_question() == "老人是杭州市户籍吗？"


def test_region_without_local_data_says_local_rules_are_missing(rules):
    b = run(rules, 85, "hunan-changsha", hukou=True).benefit("elder.age_allowance")
    assert b.missing == ["local_rules"]
    assert "由各地规定" in b.reason


# --------------------------------------------------------------------------- missing region


def test_missing_region_uses_national_default_and_asks_for_the_region(rules):
    result = run(rules, 85, None, hukou=True, economic="dibao", care="severe", assessed=True)
    assert result.chain == [NATIONAL]
    assert result.region_needed
    assert result.missing[0] == "region"
    assert result.next_question() == QUESTIONS["region"]
    allowance = result.benefit("elder.age_allowance")
    assert allowance.status is U and allowance.missing == ["region"]
    # national rules still answer what they can
    assert result.benefit("elder.service_subsidy").status is L
    assert result.benefit("elder.institution").status is N
    assert all(b.rule_region == NATIONAL for b in result.benefits)
    assert "全国的一般规定" in render_text(result)


# --------------------------------------------------------------------------- other benefits


@pytest.mark.parametrize(
    "age, economic, care, assessed, status, missing",
    [
        (80, "dibao", None, False, L, []),  # 80+ 低保: no disability needed
        (95, "tekun", "intact", True, L, []),
        (79, "dibao", None, False, U, ["care_level"]),
        (70, "tekun", "severe", True, L, []),
        (70, "dibao", "mild", True, L, []),
        (70, "dibao", "intact", True, N, []),
        (85, "none", None, False, N, []),
        (85, "low_income", None, False, N, []),
        (59, "dibao", "severe", True, N, []),
        (70, None, "severe", True, U, ["economic"]),
        (70, None, None, False, U, ["economic", "care_level"]),
    ],
)
def test_service_subsidy(rules, age, economic, care, assessed, status, missing):
    b = run(rules, age, "zhejiang-hangzhou", True, economic, care, assessed).benefit("elder.service_subsidy")
    assert b.status is status
    assert b.missing == missing
    if status is L:
        assert "以当地规定为准" in b.reason  # typical practice, not a binding rule
        assert "100—200元" in b.amount


def test_service_subsidy_reason_shows_which_condition_matched(rules):
    old = run(rules, 82, "zhejiang", True, "dibao").benefit("elder.service_subsidy")
    assert "低保老人、年满80周岁" in old.reason
    disabled = run(rules, 66, "zhejiang", True, "tekun", "moderate", True).benefit("elder.service_subsidy")
    assert "特困老人、年满60周岁、中度失能" in disabled.reason
    refused = run(rules, 66, "zhejiang", True, "dibao", "intact", True).benefit("elder.service_subsidy")
    assert "年满80周岁的不要求失能" in refused.reason


@pytest.mark.parametrize(
    "care, assessed, status, needs_assessment",
    [
        ("intact", True, N, False),
        ("mild", True, L, False),
        ("moderate", True, L, False),
        ("severe", False, L, True),
        ("total", True, L, False),
        (None, False, U, False),
    ],
)
def test_care_subsidy(rules, care, assessed, status, needs_assessment):
    b = run(rules, 75, "hunan-chenzhou", True, "none", care, assessed).benefit("elder.care_subsidy")
    assert (b.status, b.needs_assessment) == (status, needs_assessment)


@pytest.mark.parametrize(
    "care, assessed, today, status",
    [
        ("moderate", True, TODAY, E),
        ("severe", True, TODAY, E),
        ("total", True, TODAY, E),
        ("mild", True, TODAY, N),
        ("intact", True, TODAY, N),
        ("severe", False, TODAY, L),  # from a description: assess first
        (None, False, TODAY, U),
        ("severe", True, dt.date(2025, 10, 1), N),  # before the nationwide start
        ("severe", True, dt.date(2026, 1, 1), E),
    ],
)
def test_care_voucher(rules, care, assessed, today, status):
    b = run(rules, 70, "liaoning-yingkou", True, "none", care, assessed, today=today).benefit("elder.care_voucher")
    assert b.status is status
    assert b.unverified  # secondary sources only
    if status is E:
        assert "800元" in b.amount
    if today < dt.date(2026, 1, 1):
        assert "2026年1月1日" in b.reason


@pytest.mark.parametrize(
    "region, age, status, share",
    [
        ("zhejiang", 59, N, None),
        ("zhejiang", 60, E, "50%"),
        ("zhejiang", 79, E, "50%"),
        ("zhejiang", 80, E, "60%"),
        ("zhejiang-hangzhou", 101, E, "60%"),
        ("hebei-qinhuangdao", 70, L, None),  # national: local rules decide
        (None, 70, L, None),
    ],
)
def test_home_adaptation(rules, region, age, status, share):
    b = run(rules, age, region, True, "none", "intact", True).benefit("elder.home_adaptation")
    assert b.status is status
    if share:
        assert share in b.amount and "2万元" in b.amount
        assert "浙里康养" in b.how_to_apply


@pytest.mark.parametrize(
    "economic, status",
    [("tekun", E), ("dibao", N), ("low_income", N), ("none", N), (None, U)],
)
def test_institution_support_is_for_tekun(rules, economic, status):
    b = run(rules, 72, "hunan-chenzhou", True, economic, "moderate", True).benefit("elder.institution")
    assert b.status is status
    if status is N:
        assert "特困人员认定" in b.reason  # tells how to become eligible


def test_every_benefit_is_refused_under_60(rules):
    result = run(rules, 55, "zhejiang-hangzhou", True, "tekun", "total", True)
    assert all(b.status is N for b in result.benefits)
    assert result.granted == []


def test_unknown_answers_give_unknown_not_refusal(rules):
    result = run(rules, 85, "zhejiang-hangzhou")
    statuses = {b.code: b.status for b in result.benefits}
    assert statuses == {
        "elder.age_allowance": U, "elder.service_subsidy": U, "elder.care_subsidy": U,
        "elder.care_voucher": U, "elder.home_adaptation": E, "elder.institution": U,
    }
    assert result.missing == ["local_hukou", "economic", "care_level"]
    assert result.questions == ["老人是杭州市户籍吗？", QUESTIONS["economic"], QUESTIONS["care_level"]]


# --------------------------------------------------------------------------- sample data


def test_sample_flag_reaches_result_and_text(rules):
    result = run(rules, 85, "hunan-chenzhou-beihu", True, "none", "intact", True)
    assert result.benefit("elder.age_allowance").sample
    assert result.sample_data
    text = render_text(result)
    assert SAMPLE_NOTE in text and "（示例数据）" in text and "确认" in text


def test_sourced_region_has_no_sample_note(rules):
    result = run(rules, 85, "zhejiang-hangzhou", True, "none", "intact", True)
    assert not result.sample_data
    assert SAMPLE_NOTE not in render_text(result)


def _mini(**national_overrides):
    national = {"min_age": 60, "apply": "向社区申请。", "source": "测试", "amount_text": "标准由当地规定。"}
    national.update(national_overrides)
    return {
        "benefits": [{"code": "elder.age_allowance", "name": "高龄津贴"}],
        "regions": {
            "national": {"label": "全国", "benefits": {"elder.age_allowance": national}},
            "prov": {"label": "某省", "benefits": {"elder.age_allowance": {
                "sample": True, "typical": True, "min_age": 80,
                "bands": [{"min_age": 80, "monthly": 70, "label": "80周岁以上"}]}}},
            "prov-city": {"label": "某市", "benefits": {"elder.age_allowance": {
                "bands": [{"min_age": 80, "monthly": 90, "label": "80周岁以上"}]}}},
        },
    }


def test_sample_in_a_parent_layer_propagates_through_a_city_override():
    rules = rules_from_mapping(_mini())
    b = check(ElderProfile(85, "prov-city"), rules, today=TODAY).benefit("elder.age_allowance")
    assert b.monthly == 90 and b.rule_region == "prov-city"
    assert b.sample
    assert b.status is E  # "typical" belongs to the province layer and is not inherited


def test_sample_flag_on_the_national_rule_propagates():
    rules = rules_from_mapping(_mini(sample=True))
    result = check(ElderProfile(70, None), rules, today=TODAY)
    assert result.sample_data and SAMPLE_NOTE in render_text(result)


# --------------------------------------------------------------------------- region ancestry


@pytest.mark.parametrize(
    "code, parents, expected",
    [
        (None, None, ["national"]),
        ("zhejiang-hangzhou-xihu", None, ["zhejiang-hangzhou-xihu", "zhejiang-hangzhou", "zhejiang", "national"]),
        ("x", {"x": "y", "y": "z", "z": None}, ["x", "y", "z", "national"]),
        ("x", {"x": ["y", "z", "national"]}, ["x", "y", "z", "national"]),
        ("x", {"x": ["x", "y"]}, ["x", "y", "national"]),
        ("x", {"x": "y", "y": "x"}, ["x", "y", "national"]),  # a cycle does not loop forever
        ("x", lambda c: ["x", "p"], ["x", "p", "national"]),
        ("x", lambda c: ["p"], ["x", "p", "national"]),
        ("x", {}, ["x", "national"]),
    ],
)
def test_region_chain(code, parents, expected):
    assert region_chain(code, parents) == expected


def test_check_accepts_a_plain_parent_dict(rules):
    parents = {"330106": "zhejiang-hangzhou", "zhejiang-hangzhou": "zhejiang"}
    b = run(rules, 100, "330106", True, parents=parents).benefit("elder.age_allowance")
    assert (b.monthly, b.rule_region) == (800, "zhejiang-hangzhou")


def test_check_accepts_a_callable(rules):
    b = run(rules, 100, "somewhere", True, parents=lambda code: [code, "zhejiang"]).benefit("elder.age_allowance")
    assert (b.monthly, b.rule_region) == (300, "zhejiang")


# --------------------------------------------------------------------------- loader errors


ZJ_ALLOWANCE = ("regions", "zhejiang", "benefits", "elder.age_allowance")
NAT = ("regions", "national", "benefits")
ZJF = "regions.zhejiang.benefits.elder.age_allowance"


@pytest.mark.parametrize(
    "path, value, field, message",
    [
        (ZJ_ALLOWANCE + ("bands", 0, "monthly"), "六十", f"{ZJF}.bands.0.monthly", "whole number"),
        (ZJ_ALLOWANCE + ("bands", 1, "min_age"), 85, f"{ZJF}.bands.1.min_age", "overlap"),
        (ZJ_ALLOWANCE + ("bands", 0, "amount_text"), "六十元", f"{ZJF}.bands.0", "exactly one"),
        (ZJ_ALLOWANCE + ("automatic",), "yes", f"{ZJF}.automatic", "true or false"),
        (ZJ_ALLOWANCE + ("valid_from",), "2023-13-01", f"{ZJF}.valid_from", "date"),
        (ZJ_ALLOWANCE + ("amount",), 60, f"{ZJF}.amount", "unknown field"),
        (NAT + ("elder.service_subsidy", "economic"), ["dibao", "poor"],
         "regions.national.benefits.elder.service_subsidy.economic.1", "unknown value 'poor'"),
        (NAT + ("elder.care_subsidy", "care_levels"), ["bedridden"],
         "regions.national.benefits.elder.care_subsidy.care_levels.0", "unknown value"),
        (NAT + ("elder.care_subsidy", "apply"), DELETE, "regions.national.benefits.elder.care_subsidy.apply",
         "field required"),
        (NAT + ("elder.care_subsidy",), DELETE, "regions.national.benefits.elder.care_subsidy",
         "national rule"),
        (("regions", "national"), DELETE, "regions.national", "field required"),
        (("regions", "zhejiang", "benefits", "elder.pension"), {"min_age": 60},
         "regions.zhejiang.benefits.elder.pension", "unknown benefit"),
        (("regions", "Zhe Jiang"), {"label": "x", "benefits": {}}, "regions.Zhe Jiang", "bad region code"),
        (("regions", "zhejiang", "label"), "", "regions.zhejiang.label", "non-empty text"),
        (("benefits", 1, "code"), "elder.age_allowance", "benefits.1.code", "duplicate"),
    ],
)
def test_bad_rules_name_file_and_field(tmp_path, raw, path, value, field, message):
    data = copy.deepcopy(raw)
    set_path(data, path, value)
    target = tmp_path / "eligibility.yml"
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(target)
    err = info.value
    assert err.file == str(target) and err.field == field
    assert message in err.message
    assert str(err).startswith(f"{target}: {field}: ")


def test_invalid_yaml_names_the_line(tmp_path):
    target = tmp_path / "eligibility.yml"
    target.write_text("benefits:\n  - code: [unclosed\n", encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(target)
    assert info.value.field.startswith("line ")
    assert str(target) in str(info.value)


def test_missing_file_is_a_rules_error(tmp_path):
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "nope.yml")


# --------------------------------------------------------------------------- profile and answers


@pytest.mark.parametrize(
    "kwargs",
    [
        {"age": -1}, {"age": 131}, {"age": "85"}, {"age": True},
        {"age": 80, "economic": "poor"}, {"age": 80, "care_level": "bedridden"},
    ],
)
def test_profile_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        ElderProfile(**kwargs)


@pytest.mark.parametrize(
    "text, level, needs_assessment",
    [
        ("卧床不起", "severe", True),
        ("瘫痪在床好几年了", "severe", True),
        ("完全不能自理，靠鼻饲", "total", True),
        ("生活不能自理", "severe", True),
        ("需要有人扶着才能走", "moderate", True),
        ("部分自理", "moderate", True),
        ("不能完全自理", "moderate", True),
        ("坐轮椅", "moderate", True),
        ("基本能自理，偶尔需要帮忙", "mild", True),
        ("能自理", "intact", True),
        ("身体硬朗得很", "intact", True),
        ("评估结果是重度失能", "severe", False),
        ("中度失能", "moderate", False),
        ("评估是能力完好", "intact", False),
        ("完全失能", "total", False),
        ("應該是重度失能，還沒做過評估", "severe", True),  # Traditional Chinese, not assessed
        ("不知道", None, True),
        ("", None, True),
    ],
)
def test_care_level_from_text(text, level, needs_assessment):
    assert care_level_from_text(text) == (level, needs_assessment)


@pytest.mark.parametrize(
    "text, age",
    [("85", 85), ("八十五岁", 85), ("1940年出生", 86), ("85周岁了", 85), ("一百零二岁", 102), ("我妈今年89了", 89)],
)
def test_ages_are_parsed_with_the_shared_parser(text, age):
    assert parse_age(text, dt.date(2026, 5, 1)) == age


@pytest.mark.parametrize(
    "text, code",
    [
        ("低保户", "dibao"), ("我们家吃低保", "dibao"), ("五保户", "tekun"), ("是特困人员", "tekun"),
        ("低收入家庭", "low_income"), ("低边户", "low_income"), ("都不是", "none"), ("没有", "none"),
        ("不是低保，是低收入", "low_income"), ("不是低保户", "none"), ("普通家庭", "none"), ("你好", None), ("", None),
    ],
)
def test_parse_economic(text, code):
    assert parse_economic(text) == code


@pytest.mark.parametrize(
    "text, answer",
    [
        ("是", True), ("是的", True), ("本地户口", True), ("户口在杭州", True), ("没错", True),
        ("不是", False), ("外地户口", False), ("户口不在这边", False), ("没有", False), ("嗯…", True),
        ("不清楚吧", None),
    ],
)
def test_parse_yes_no(text, answer):
    assert parse_yes_no(text) is answer


@pytest.mark.parametrize("unable, result", [(0, "full"), (1, "partial"), (3, "partial"), (4, "lost"), (6, "lost")])
def test_self_care_from_adl(unable, result):
    assert self_care_from_adl(unable) == result


@pytest.mark.parametrize("unable", [-1, 7, "3", True])
def test_self_care_from_adl_rejects_bad_counts(unable):
    with pytest.raises(ValueError):
        self_care_from_adl(unable)


# --------------------------------------------------------------------------- text


def test_render_text_order_amounts_missing_apply_notes(rules):
    result = run(rules, 85, "hunan-chenzhou", True, "dibao", None)
    text = render_text(result)
    lines = text.splitlines()
    assert lines[0] == "养老补贴测算（郴州市，老人85周岁）"
    allowance = text.index("【符合】高龄津贴：每月50元（示例数据）")
    unknown = text.index("【待确认】失能老年人护理补贴")
    refused = text.index("【不符合】特困人员供养")
    missing = text.index("还需要了解：")
    apply = text.index("怎么办理：")
    note = text.index(SAMPLE_NOTE)
    assert allowance < unknown < refused < missing < apply < note
    assert QUESTIONS["care_level"] in text
    assert "老年人能力评估" in text
    assert "。。" not in text


def test_render_text_only_explains_how_to_apply_for_granted_benefits(rules):
    text = render_text(run(rules, 85, "zhejiang-hangzhou", True, "none", "intact", True))
    how = text[text.index("怎么办理："):]
    assert "高龄津贴" in how and "居家适老化改造补助" in how
    assert "特困人员供养" not in how and "经济困难老年人养老服务补贴" not in how


_answers = st.tuples(
    st.integers(0, 130),
    st.sampled_from([None, "zhejiang", "zhejiang-hangzhou", "hunan-chenzhou", "liaoning-yingkou", "hunan-changsha"]),
    st.sampled_from([None, True, False]),
    st.sampled_from((None,) + ECONOMIC),
    st.sampled_from((None,) + CARE_LEVELS),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(_answers)
def test_every_result_is_consistent(rules, answers):
    age, region, hukou, economic, care, assessed = answers
    result = run(rules, age, region, hukou, economic, care, assessed)
    # every benefit, but the disability ones only when the 残疾人证 grade is known (not asked here)
    assert [b.code for b in result.benefits] == [b.code for b in rules.benefits if not b.code.startswith("disab")]
    for b in result.benefits:
        assert b.reason
        if b.status is N:
            assert b.unmet and not b.missing
        elif b.status is U:
            assert b.missing and not b.unmet
        else:
            assert not b.unmet and not b.missing and b.how_to_apply
        if b.status is E:
            assert not b.needs_assessment
    text = render_text(result)
    assert all(b.name in text for b in result.benefits)
    assert (SAMPLE_NOTE in text) == result.sample_data


@settings(max_examples=100, deadline=None)
@given(st.integers(80, 129), st.sampled_from(["zhejiang", "zhejiang-hangzhou", "hebei-qinhuangdao"]))
def test_allowance_never_drops_with_age(rules, age, region):
    younger = run(rules, age, region, True).benefit("elder.age_allowance").monthly
    older = run(rules, age + 1, region, True).benefit("elder.age_allowance").monthly
    assert younger is not None and older >= younger


# --------------------------------------------------------------------------- 养老服务消费补贴 and 特困人员 (issue 16)


@pytest.mark.parametrize("region", [None, "zhejiang-hangzhou", "hunan-chenzhou", "liaoning-yingkou"])
@pytest.mark.parametrize("care", ["moderate", "severe", "total"])
def test_care_voucher_is_never_granted_to_a_tekun_elder(rules, region, care):
    result = run(rules, 75, region, True, "tekun", care, True)
    b = result.benefit("elder.care_voucher")
    assert b.status is N
    assert not b.granted and b not in result.granted
    assert "特困" in b.reason
    text = render_text(result)
    granted_lines = [line for line in text.splitlines() if line.startswith(("【符合】", "【可能符合】"))]
    assert not any("养老服务消费补贴" in line for line in granted_lines), text
    assert "养老服务消费补贴" not in text.split("怎么办理：")[-1].split("\n\n")[0]  # no "how to apply" for it


def test_care_voucher_waits_for_the_economic_answer(rules):
    # while it is unknown whether the elder is 特困, the voucher is not promised
    b = run(rules, 75, "liaoning-yingkou", True, None, "severe", True).benefit("elder.care_voucher")
    assert b.status is U
    assert "economic" in b.missing
    for economic in ("dibao", "low_income", "none"):
        b = run(rules, 75, "liaoning-yingkou", True, economic, "severe", True).benefit("elder.care_voucher")
        assert b.status is E and "800元" in b.amount and "据公开报道" in b.amount


def test_care_voucher_exclusion_is_validated(raw):
    data = copy.deepcopy(raw)
    set_path(data, ["regions", "national", "benefits", "elder.care_voucher", "excluded_economic"], ["rich"])
    with pytest.raises(RulesError) as err:
        rules_from_mapping(data, "eligibility.yml")
    assert "regions.national.benefits.elder.care_voucher.excluded_economic.0" in str(err.value)


# --------------------------------------------------------------------------- 残疾人两项补贴 (issue 16 §2)


DISABILITY = ("disability.living_subsidy", "disability.care_subsidy")


def test_disability_subsidies_only_when_the_grade_is_known(rules):
    result = run(rules, 75, "hunan-chenzhou", True, "dibao", "severe", True)
    assert not [b for b in result.benefits if b.code in DISABILITY]


@pytest.mark.parametrize("grade, economic, living, care", [
    (2, "dibao", E, E),    # 低保家庭、二级: both
    (3, "dibao", E, N),    # 三级: the living subsidy only
    (1, "none", N, E),     # not 低保: the nursing subsidy only
    (0, "dibao", N, N),    # no 残疾人证
])
def test_disability_subsidies_follow_the_national_rules(rules, grade, economic, living, care):
    profile = ElderProfile(75, "hunan-chenzhou", True, economic, "severe", True, disability_level=grade)
    result = check(profile, rules, today=TODAY)
    assert result.benefit("disability.living_subsidy").status is living
    assert result.benefit("disability.care_subsidy").status is care
    b = result.benefit("disability.care_subsidy")
    assert "国发〔2015〕52号" in b.source and "年满0周岁" not in b.reason
    if care is E:
        assert "选其中较高的一项" in render_text(result)  # with the elder nursing subsidy: the higher one


def test_disability_grade_is_validated(raw):
    with pytest.raises(ValueError):
        ElderProfile(70, disability_level=5)
    data = copy.deepcopy(raw)
    set_path(data, ["regions", "national", "benefits", "disability.care_subsidy", "disability_levels"], [5])
    with pytest.raises(RulesError) as err:
        rules_from_mapping(data, "eligibility.yml")
    assert err.value.field == "regions.national.benefits.disability.care_subsidy.disability_levels.0"


# --------------------------------------------------------------------------- the 残疾人证 grade, read from answers


@pytest.mark.parametrize("text, asked, grade", [
    ("一级", True, 1),
    ("1级", True, 1),
    ("１级", True, 1),                       # full-width digit
    ("二級", True, 2),                       # Traditional
    ("我媽媽是二級殘疾", False, 2),           # Traditional, said outright
    ("我爸是一级肢体残疾，能领什么补贴", False, 1),
    ("残疾人证是4级的", False, 4),
    ("极重度残疾", False, 1),                 # GB/T 26341-2010: 一级 is 极重度
    ("肢体二级、视力四级残疾", False, 2),      # 多重残疾: the most severe grade
    ("不是一级，是二级残疾", False, 2),
    ("没有", True, 0),
    ("没有残疾人证", False, 0),
    ("还没有办残疾人证", True, 0),
    ("我妈没有残疾", False, 0),
    ("没有", False, None),                   # outside its question "没有" says nothing about a certificate
    ("二级", False, None),                   # nor does a bare grade
    ("评估过，三级", True, None),             # a 老年人能力评估 grade, not a 残疾人证 one
    ("重度", True, None),                    # 一级 or 二级: no grade (says_severe_disability)
    ("重度残疾", False, None),
    ("不知道", True, None),
    ("有", True, None),
    # review findings: unsure answers, questions, other grades, the citizen's own grade
    ("不知道有没有残疾证", True, None),
    ("不清楚他有没有办残疾证", False, None),
    ("不记得是不是残疾人", True, None),
    ("不确定有没有残疾证", False, None),
    ("二级还是三级记不清了", True, None),
    ("她没有一级残疾证，是二级", True, 2),
    ("不是一级", True, None),                  # the answer to "一级还是二级？" names no grade
    ("我爸残疾三级能力评估二级", False, 3),
    ("能力评估是二级，残疾证是三级", False, 3),
    ("我妈是残疾人二级护理", False, None),
    ("是残疾军人三级", True, None),            # a 残疾军人证 is not a 残疾人证
    ("我爸是二级残疾军人", False, None),
    ("我是一级残疾，帮我妈测算一下养老补贴", False, None),
    ("我今年80岁，是二级残疾", False, 2),       # the elder asking for themselves
    ("证上写的是肢体三级", True, 3),
    ("还是二级残疾，没有变", False, 2),          # 还是 = still
    ("二级或者三级吧", True, None),
    # second review: doubt or a question about something else keeps the grade; care words
    ("我妈87岁，一级肢体残疾，不知道能领什么补贴", False, 1),
    ("老人残疾证二级，大概80岁", False, 2),
    ("一级，不知道能不能领", True, 1),
    ("我妈没有残疾证，有没有别的补贴", False, 0),
    ("没有，是不是必须有证", True, 0),
    ("有没有残疾证都可以吗", True, None),
    ("一级需要护理", True, 1),
    ("二级要人照护", True, 2),
    ("我妈的残疾人证上写的是二级", False, 2),
    ("我是二级残疾，我老伴去世了", False, 2),      # an elder speaking for themselves
])
def test_disability_grade_parser(text, asked, grade):
    assert parse_disability_level(text, asked=asked) == grade


@pytest.mark.parametrize("text, asked, severe", [
    ("重度", True, True), ("我媽是重度殘疾人", False, True), ("重度残疾", False, True),
    ("重度失能", True, False),              # a care level, not a disability grade
    ("我妈重度失能", False, False), ("极重度残疾", False, False), ("重度", False, False),
])
def test_severe_disability_names_no_grade(text, asked, severe):
    assert says_severe_disability(text, asked=asked) is severe


def test_disability_words():
    assert mentions_disability("我妈是残疾人") and mentions_disability("有殘疾證") and mentions_disability("他是盲人")
    assert not mentions_disability("老人卧床，重度失能") and not mentions_disability("87岁，低保户")


def test_disability_conditions_come_from_the_rules(rules, raw):
    assert disability_conditions(rules) == [
        "困难残疾人生活补贴要求残疾等级为一级、二级、三级、四级，并且是低保家庭",
        "重度残疾人护理补贴要求残疾等级为一级、二级",
    ]
    data = copy.deepcopy(raw)
    set_path(data, ["regions", "national", "benefits", "disability.care_subsidy", "disability_levels"], [1, 2, 3])
    wider = rules_from_mapping(data, "eligibility.yml")
    assert disability_conditions(wider)[1] == "重度残疾人护理补贴要求残疾等级为一级、二级、三级"
    assert [b.code for b in disability_benefits(wider)] == list(DISABILITY)
    set_path(data, ["regions", "national", "benefits", "disability.care_subsidy", "disability_levels"], DELETE)
    assert [b.code for b in disability_benefits(rules_from_mapping(data, "eligibility.yml"))] == [DISABILITY[0]]


@pytest.mark.parametrize("grade, granted, refused", [
    (2, ["困难残疾人生活补贴", "重度残疾人护理补贴"], []),
    (4, ["困难残疾人生活补贴"], ["重度残疾人护理补贴"]),
    (0, [], ["困难残疾人生活补贴", "重度残疾人护理补贴"]),
])
def test_disability_result_text_names_the_right_subsidies_with_their_basis(rules, grade, granted, refused):
    profile = ElderProfile(78, "zhejiang-hangzhou", True, "dibao", "severe", True, disability_level=grade)
    text = render_text(check(profile, rules, today=TODAY))
    for name in granted:
        assert f"【符合】{name}：标准由省级人民政府确定，按月发放" in text
        assert f"· {name}：持第二代残疾人证向户籍所在地的乡镇人民政府或街道办事处提交书面申请" in text
    for name in refused:
        assert f"【不符合】{name}。" in text
    basis = text[text.index("政策依据："):] if "政策依据：" in text else ""
    assert ("国发〔2015〕52号" in basis) is bool(granted)
    if grade == 4:
        assert "要残疾等级为一级、二级，老人是四级残疾" in text
    if grade == 0:
        assert "老人没有残疾人证（残疾人证向户籍所在地的县级残联申请评定）" in text
    assert "。。" not in text


@pytest.mark.parametrize("care, assessed, mark, says", [
    ("severe", True, "【符合】", None),
    ("intact", True, "【可能符合】", "护理补贴还要经当地认定需要长期照护；您说老人生活能自理"),
    ("mild", True, "【可能符合】", "您说老人生活基本能自理"),
    (None, False, "【可能符合】", "护理补贴还要经当地认定需要长期照护"),
])
def test_the_care_subsidy_needs_long_term_care(rules, care, assessed, mark, says):
    """国发〔2015〕52号: 一级、二级 *and* in need of long-term care (review finding)."""
    profile = ElderProfile(78, "zhejiang-hangzhou", True, "dibao", care, assessed, disability_level=2)
    text = render_text(check(profile, rules, today=TODAY))
    line = next(x for x in text.splitlines() if "重度残疾人护理补贴：" in x and x.startswith("【"))
    assert line.startswith(mark + "重度残疾人护理补贴"), line
    if says:
        assert says in line
    assert "【符合】困难残疾人生活补贴" in text  # the living subsidy asks no care


def test_the_legal_basis_lists_granted_benefits_but_not_sample_figures(rules):
    text = render_text(run(rules, 85, "hunan-chenzhou", True, "dibao", None))
    basis = text[text.index("政策依据："):] if "政策依据：" in text else ""
    assert "高龄津贴" in text and "· 高龄津贴" not in basis, "郴州's allowance is sample data: no basis to cite yet"
    assert "特困人员供养" not in basis, "not granted"
    hangzhou = render_text(check(ElderProfile(85, "zhejiang-hangzhou", True, "dibao", "severe", True), rules,
                                 today=TODAY))
    assert hangzhou.index("怎么办理：") < hangzhou.index("政策依据：")


def test_the_legal_basis_cites_documents_not_press_reports_or_local_practice(rules):
    """Review finding: the 消费券's press-report source and the 'typical' rules' 各地… were
    listed under 政策依据."""
    result = run(rules, 82, None, None, "dibao", "moderate", True)
    granted = {b.code for b in result.benefits if b.granted}
    assert any(b.unverified for b in result.benefits if b.granted), granted  # the case is exercised
    text = render_text(result)
    basis = text[text.index("政策依据："):].split("\n\n")[0] if "政策依据：" in text else ""
    assert "公开报道" not in basis and "各地" not in basis, basis
    assert "公开报道" in text.replace(basis, ""), "the reader is still told the figure is from the press"
    assert "老年人权益保障法" in basis, "the binding part of a 'typical' rule's source stays"


def test_binding_source_keeps_documents_only():
    from bot.eligibility import binding_source

    assert binding_source("老年人权益保障法第30条；各地居家适老化改造政策") == "老年人权益保障法第30条"
    assert binding_source("据公开报道（人民网2026年2月2日）") == ""
    assert binding_source("国发〔2015〕52号；民发〔2021〕70号") == "国发〔2015〕52号；民发〔2021〕70号"
