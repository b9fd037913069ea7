"""身后事 checklist (bot/funeral_checklist.py) against the real rules file and small in-memory rules."""
from __future__ import annotations

import copy
import datetime as dt

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.funeral_checklist import (
    CONDOLENCE,
    DEFAULT_RULES_PATH,
    PENSIONS,
    PLACES,
    SAMPLE_NOTE,
    FuneralCase,
    Progress,
    RulesError,
    build,
    funeral_grant,
    load_rules,
    parse_pension,
    parse_place,
    parse_progress,
    render_text,
    rules_from_mapping,
)

from .conftest import DELETE, set_path

TODAY = dt.date(2026, 11, 22)
HANGZHOU_SIX = ["遗体接运", "遗体暂存", "遗体火化", "骨灰寄存", "遗体告别", "骨灰盒"]


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.fixture(scope="module")
def raw():
    from bot.catalog.loader import standalone_rules

    return standalone_rules(DEFAULT_RULES_PATH)  # labels and bands from the catalogue written in


def make(rules, place="hospital", natural=True, region="zhejiang-hangzhou", hukou=True, pension="employee",
         low_income=False, today=TODAY, parents=None):
    return build(FuneralCase(place, natural, region, hukou, pension, low_income), rules, parents=parents, today=today)


def keys(checklist):
    return [s.key for s in checklist.steps]


# --------------------------------------------------------------------------- order of steps


@pytest.mark.parametrize(
    "place, natural, first_keys",
    [
        ("hospital", True, ["certificate_hospital", "transport", "hukou", "cremation"]),
        ("home", True, ["certificate_community", "transport", "hukou", "cremation"]),
        ("care_home", True, ["certificate_community", "transport", "hukou", "cremation"]),
        ("elsewhere", True, ["certificate_community", "transport", "hukou", "cremation"]),
        ("hospital", False, ["police", "certificate_unnatural", "transport", "hukou", "cremation"]),
        ("home", False, ["police", "certificate_unnatural", "transport", "hukou", "cremation"]),
        ("home", None, ["certificate_community", "transport", "hukou", "cremation"]),
    ],
)
def test_steps_start_with_the_right_certificate(rules, place, natural, first_keys):
    checklist = make(rules, place=place, natural=natural)
    assert keys(checklist)[: len(first_keys)] == first_keys
    assert [s.no for s in checklist.steps] == list(range(1, len(checklist.steps) + 1))


@pytest.mark.parametrize(
    "place, where",
    [("hospital", "医院"), ("home", "社区卫生服务中心或乡镇卫生院"), ("care_home", "社区卫生服务中心或乡镇卫生院"),
     ("elsewhere", "社区卫生服务中心或乡镇卫生院")],
)
def test_death_certificate_issuer_depends_on_place(rules, place, where):
    assert where in make(rules, place=place).steps[0].where


def test_unnatural_death_goes_to_the_police_first(rules):
    checklist = make(rules, place="home", natural=False)
    police = checklist.steps[0]
    assert "110" in police.where and "公安机关" in police.where
    assert "公安机关或司法机关出具的相关证明" in checklist.steps[1].bring
    assert "natural" not in checklist.missing


def test_unknown_cause_warns_about_the_police_and_asks(rules):
    checklist = make(rules, place="home", natural=None)
    assert "police" not in keys(checklist)
    assert "110" in checklist.steps[0].notes[0]
    assert "natural" in checklist.missing


def test_every_step_says_where_what_and_when(rules):
    checklist = make(rules, low_income=True)
    for step in checklist.steps:
        assert step.title and step.where and step.bring and step.time_limit and step.source


def test_hukou_cancellation_at_the_hukou_police_station(rules):
    step = next(s for s in make(rules).steps if s.key == "hukou")
    assert step.where == "逝者户籍所在地的派出所"
    assert "安葬前" in step.time_limit and "一个月" in step.time_limit
    assert "死亡证明（纸质版或电子证照；旧版带户口注销联）" in step.bring


def test_cremation_needs_the_death_certificate(rules):
    step = next(s for s in make(rules).steps if s.key == "cremation")
    assert step.bring[0] == "死亡证明（纸质版或电子证照；旧版带火化联）"
    assert "第13条" not in step.source and "第4条" not in step.source  # 1997/2012 article numbers
    assert "2026年3月30日" in step.source
    transport = next(s for s in make(rules).steps if s.key == "transport")
    assert "殡仪馆" in transport.where


def test_bank_is_always_last(rules):
    for pension in PENSIONS + (None,):
        step = make(rules, pension=pension).steps[-1]
        assert step.key == "bank"
        assert "5万元" in step.money and "2024年6月1日" in step.money and "开户银行" in step.where
        assert "同一家银行" in step.money and "配偶、子女、父母" in step.money  # per bank, named relatives


# --------------------------------------------------------------------------- fee waiver


@pytest.mark.parametrize(
    "region, hukou, today, kind, needle, missing",
    [
        ("zhejiang-hangzhou", True, TODAY, "waived", "六项基本殡葬服务", False),
        ("zhejiang-hangzhou-xihu", True, TODAY, "waived", "六项基本殡葬服务", False),
        ("zhejiang-hangzhou", False, TODAY, "pay", "逝者不是浙江省户籍", False),
        ("zhejiang-hangzhou", None, TODAY, "maybe", "逝者是浙江省户籍的", True),
        ("zhejiang-hangzhou", True, dt.date(2023, 7, 31), "maybe", "减免对象和项目由当地规定", False),
        ("zhejiang-hangzhou", True, dt.date(2023, 8, 1), "waived", "六项基本殡葬服务", False),
        ("zhejiang", True, TODAY, "maybe", "减免对象和项目由当地规定", False),
        ("hunan-chenzhou", True, TODAY, "maybe", "减免对象和项目由当地规定", False),
        (None, True, TODAY, "maybe", "减免对象和项目由当地规定", False),
    ],
)
def test_fee_waiver(rules, region, hukou, today, kind, needle, missing):
    checklist = make(rules, region=region, hukou=hukou, today=today)
    step = next(s for s in checklist.steps if s.key == "cremation")
    assert step.money_kind == kind
    assert needle in step.money
    assert ("local_hukou" in checklist.missing) == missing
    if kind == "waived":
        assert all(service in step.money for service in HANGZHOU_SIX)
        assert any("核实浙江省户籍" in b for b in step.bring)
        assert len([b for b in step.bring if "逝者的居民身份证或户口簿" in b]) == 1


def test_unknown_hukou_is_asked_with_the_rule_label(rules):
    checklist = make(rules, hukou=None)
    assert "逝者是浙江省户籍吗？" in checklist.questions


def test_hangzhou_transport_mentions_the_free_service_only_for_zhejiang_hukou(rules):
    local = next(s for s in make(rules, hukou=True).steps if s.key == "transport")
    other = next(s for s in make(rules, hukou=False).steps if s.key == "transport")
    assert "浙江省户籍" in local.notes[0]
    assert not any("浙江省户籍" in n for n in other.notes)


def test_low_income_hint_on_the_national_waiver(rules):
    poor = next(s for s in make(rules, region="hunan-chenzhou", low_income=True).steps if s.key == "cremation")
    other = next(s for s in make(rules, region="hunan-chenzhou", low_income=False).steps if s.key == "cremation")
    assert "低保、特困" in poor.money and "低保、特困" not in other.money


# --------------------------------------------------------------------------- 民政 and 社保


@pytest.mark.parametrize("low_income, present, missing", [(True, True, False), (False, False, False),
                                                          (None, False, True)])
def test_hardship_assistance_step(rules, low_income, present, missing):
    checklist = make(rules, low_income=low_income)
    assert ("assistance" in keys(checklist)) == present
    assert ("low_income" in checklist.missing) == missing
    if present:
        step = next(s for s in checklist.steps if s.key == "assistance")
        assert "临时救助" in step.money and "乡镇" in step.where


@pytest.mark.parametrize(
    "pension, key, needles",
    [
        ("employee", "pension_employee", ["2倍", "24个月", "最少9个月"]),
        ("resident", "pension_resident", ["没有全国统一的丧葬补助金"]),
        (None, "pension_unknown", ["丧葬补助金和抚恤金"]),
        ("none", None, []),
    ],
)
def test_social_security_step(rules, pension, key, needles):
    checklist = make(rules, pension=pension)
    pension_keys = [k for k in keys(checklist) if k.startswith("pension")]
    assert pension_keys == ([key] if key else [])
    assert ("pension" in checklist.missing) == (pension is None)
    if key:
        step = next(s for s in checklist.steps if s.key == key)
        assert "社保经办机构" in step.where
        assert "次月" in step.time_limit
        for needle in needles:
            assert needle in step.money


def test_employee_step_is_handled_by_social_security_not_civil_affairs(rules):
    step = next(s for s in make(rules, pension="employee").steps if s.key == "pension_employee")
    assert step.money_kind == "receive"
    assert "不在民政部门" in step.where
    assert any("个人账户" in n for n in step.notes)


@pytest.mark.parametrize("base, grant", [(1, 2), (4000, 8000), (5321, 10642)])
def test_funeral_grant_is_twice_the_monthly_income(base, grant):
    assert funeral_grant(base) == grant


@pytest.mark.parametrize("base", [0, -5, 4000.5, "4000", True])
def test_funeral_grant_rejects_bad_bases(base):
    with pytest.raises(ValueError):
        funeral_grant(base)


def test_a_local_income_base_is_used_and_its_sample_flag_shown(raw):
    data = copy.deepcopy(raw)
    data["regions"]["hunan"] = {
        "label": "湖南省",
        "social_security": {"income_base_monthly": 4000, "income_base_year": 2025, "income_base_label": "湖南省",
                            "source": "示例", "sample": True},
    }
    rules = rules_from_mapping(data)
    checklist = make(rules, region="hunan-chenzhou", pension="employee")
    step = next(s for s in checklist.steps if s.key == "pension_employee")
    assert "丧葬补助金为8000元" in step.money and "湖南省2025年" in step.money
    assert step.sample and checklist.sample_data
    text = render_text(checklist)
    assert SAMPLE_NOTE in text and "（示例数据）" in text
    assert SAMPLE_NOTE not in render_text(make(load_rules(), region="hunan-chenzhou"))


def test_city_step_override_merges_field_by_field(raw):
    data = copy.deepcopy(raw)
    data["regions"]["hunan-chenzhou"] = {
        "label": "郴州市", "steps": {"transport": {"where": "郴州市殡仪馆", "sample": True}},
    }
    rules = rules_from_mapping(data)
    step = next(s for s in make(rules, region="hunan-chenzhou-beihu").steps if s.key == "transport")
    assert step.where == "郴州市殡仪馆" and step.sample
    assert step.bring == ["死亡证明"]  # inherited from the national layer


def test_plain_parent_dict_resolves_local_rules(rules):
    checklist = make(rules, region="330106", parents={"330106": "zhejiang-hangzhou"})
    assert checklist.region_label == "杭州市"
    assert next(s for s in checklist.steps if s.key == "cremation").money_kind == "waived"


# --------------------------------------------------------------------------- notes and text


def test_hangzhou_proxy_service_is_flagged_as_unverified(rules):
    notes = make(rules).notes
    proxy = [n for n in notes if "免费全程代办" in n]
    assert proxy and all("示例数据" in n and "尚未核实" in n for n in proxy)
    national = make(rules, region="hunan-chenzhou").notes
    assert any("一件事" in n for n in national) and not any("代办" in n for n in national)


@pytest.mark.parametrize("county", ["zhejiang-hangzhou-tonglu", "zhejiang-hangzhou-chunan", "zhejiang-hangzhou-jiande",
                                    "zhejiang-hangzhou-fuyang", "zhejiang-hangzhou-linan"])
def test_hangzhou_free_basic_services_are_limited_to_the_urban_districts(rules, county):
    step = next(s for s in make(rules, region=county).steps if s.key == "cremation")
    assert step.money_kind != "waived"
    assert "杭州市区" in " ".join(step.notes) + step.source


def test_render_text_starts_with_condolence_and_lists_every_step(rules):
    checklist = make(rules, low_income=True)
    text = render_text(checklist)
    assert text.splitlines()[0] == CONDOLENCE
    for step in checklist.steps:
        assert f"第{step.no}步：{step.title}" in text
    assert "去哪办：" in text and "带什么：" in text and "时限：" in text
    assert "费用减免：" in text and "可以领取：" in text


def test_render_text_for_missing_region_asks_and_explains(rules):
    checklist = make(rules, region=None, hukou=None, pension=None, low_income=None, natural=None)
    assert checklist.missing == ["region", "natural", "pension", "low_income"]
    text = render_text(checklist)
    assert "全国通用的流程" in text
    assert text.index("方便的话告诉我：") < text.index(checklist.questions[0])


def test_render_text_shows_progress(rules):
    checklist = make(rules)
    checklist.mark_done(1)
    checklist.mark_done(2)
    text = render_text(checklist)
    assert f"第1步：{checklist.steps[0].title}（已办好）" in text
    assert f"接下来办第3步：{checklist.steps[2].title}" in text
    for no in range(1, len(checklist.steps) + 1):
        checklist.mark_done(no)
    assert "都办好了" in render_text(checklist)


# --------------------------------------------------------------------------- progress


def test_mark_done_and_next_step(rules):
    checklist = make(rules)
    assert checklist.next_step().no == 1
    assert checklist.mark_done(2).done
    assert checklist.next_step().no == 1  # step 1 still open
    checklist.mark_done(1)
    assert checklist.next_step().no == 3
    checklist.mark_undone(2)
    assert checklist.next_step().no == 2
    for step in checklist.steps:
        checklist.mark_done(step.no)
    assert checklist.finished and checklist.next_step() is None


@pytest.mark.parametrize("no", [0, -1, 99, "2", True])
def test_mark_done_rejects_unknown_steps(rules, no):
    with pytest.raises(ValueError):
        make(rules).mark_done(no)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("第2步办好了", Progress("done", 2)),
        ("第二步完成了", Progress("done", 2)),
        ("第 3 步搞定", Progress("done", 3)),
        ("第十步已经办完", Progress("done", 10)),
        ("第十二步办妥了", Progress("done", 12)),
        ("第两步弄好了", Progress("done", 2)),
        ("步骤4完成", Progress("done", 4)),
        ("第三步辦好了", Progress("done", 3)),  # Traditional Chinese
        ("办好了", Progress("done", None)),
        ("下一步", Progress("next", None)),
        ("接下来做什么", Progress("next", None)),
        ("第3步怎么办", Progress("show", 3)),
        ("第二步还没办好", Progress("show", 2)),
        ("还没办好", None),
        ("谢谢", None),
        ("", None),
    ],
)
def test_parse_progress(text, expected):
    assert parse_progress(text) == expected


def test_handle_applies_progress_messages(rules):
    checklist = make(rules)
    assert checklist.handle("第1步办好了").no == 2
    assert checklist.steps[0].done
    assert checklist.handle("下一步").no == 2  # asking does not tick anything
    assert not checklist.steps[1].done
    assert checklist.handle("办好了").no == 3  # the current step
    assert checklist.steps[1].done
    assert checklist.handle("第5步怎么办").no == 5
    assert checklist.handle("第九十九步办好了") is None
    assert checklist.handle("谢谢") is None


# --------------------------------------------------------------------------- loader and input validation


NAT_STEPS = ("regions", "national", "steps")
HZ_WAIVER = ("regions", "zhejiang-hangzhou", "fee_waiver")


@pytest.mark.parametrize(
    "path, value, field, message",
    [
        (NAT_STEPS + ("hukou", "bring"), "户口簿", "regions.national.steps.hukou.bring", "expected a list"),
        (NAT_STEPS + ("hukou", "bring", 1), 3, "regions.national.steps.hukou.bring.1", "non-empty text"),
        (NAT_STEPS + ("bank", "money_kind"), "gift", "regions.national.steps.bank.money_kind", "unknown value"),
        (NAT_STEPS + ("bank", "money_kind"), DELETE, "regions.national.steps.bank.money_kind", "field required"),
        (NAT_STEPS + ("police", "where"), DELETE, "regions.national.steps.police.where", "field required"),
        (NAT_STEPS + ("police",), DELETE, "regions.national.steps.police", "field required"),
        (NAT_STEPS + ("wake",), {"title": "守灵"}, "regions.national.steps.wake", "unknown step"),
        (NAT_STEPS + ("hukou", "deadline"), "1个月", "regions.national.steps.hukou.deadline", "unknown field"),
        (HZ_WAIVER + ("applies_to",), "everyone", "regions.zhejiang-hangzhou.fee_waiver.applies_to", "unknown value"),
        (HZ_WAIVER + ("services",), DELETE, "regions.zhejiang-hangzhou.fee_waiver.services", "field required"),
        (HZ_WAIVER + ("valid_from",), "八月", "regions.zhejiang-hangzhou.fee_waiver.valid_from", "date"),
        (("regions", "zhejiang-hangzhou", "label"), DELETE, "regions.zhejiang-hangzhou.label", "field required"),
        (("regions", "national"), DELETE, "regions.national", "field required"),
        (("regions", "hunan", ), {"label": "湖南省", "social_security": {"income_base_monthly": "四千",
                                                                          "income_base_year": 2025, "source": "x"}},
         "regions.hunan.social_security.income_base_monthly", "whole number"),
    ],
)
def test_bad_rules_name_file_and_field(tmp_path, raw, path, value, field, message):
    data = copy.deepcopy(raw)
    set_path(data, path, value)
    target = tmp_path / "funeral.yml"
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(target)
    assert info.value.file == str(target) and info.value.field == field
    assert message in info.value.message
    assert str(info.value).startswith(f"{target}: {field}: ")


def test_invalid_yaml_names_the_line(tmp_path):
    target = tmp_path / "funeral.yml"
    target.write_text("regions:\n  national: {label: [\n", encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(target)
    assert info.value.field.startswith("line ")


@pytest.mark.parametrize("kwargs", [{"place": "street"}, {"place": "home", "pension": "civil_servant"}])
def test_case_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        FuneralCase(**kwargs)


# --------------------------------------------------------------------------- properties


_cases = st.builds(
    FuneralCase,
    place=st.sampled_from(PLACES),
    natural=st.sampled_from([None, True, False]),
    region_code=st.sampled_from([None, "zhejiang-hangzhou", "zhejiang-hangzhou-xihu", "hunan-chenzhou", "hebei"]),
    local_hukou=st.sampled_from([None, True, False]),
    pension=st.sampled_from((None,) + PENSIONS),
    low_income=st.sampled_from([None, True, False]),
)


@settings(max_examples=300, deadline=None)
@given(_cases)
def test_every_checklist_is_well_formed(rules, case):
    checklist = build(case, rules, today=TODAY)
    ks = keys(checklist)
    assert [s.no for s in checklist.steps] == list(range(1, len(ks) + 1))
    assert sum(k.startswith("certificate") for k in ks) == 1
    assert (ks[0] == "police") == (case.natural is False)
    assert ks.index("transport") < ks.index("hukou") < ks.index("cremation") < ks.index("burial")
    assert ks[-1] == "bank"
    assert len(set(ks)) == len(ks)
    assert ("region" in checklist.missing) == (case.region_code is None)
    text = render_text(checklist)
    assert text.startswith(CONDOLENCE)
    assert not checklist.sample_data and SAMPLE_NOTE not in text


@pytest.mark.parametrize(
    "text, place",
    [
        ("在医院走的", "hospital"), ("在ICU抢救无效", "hospital"), ("今天早上在家里走了", "home"),
        ("在养老院去世的", "care_home"), ("敬老院", "care_home"), ("在路上出的事", "elsewhere"), ("不知道", None),
    ],
)
def test_parse_place(text, place):
    assert parse_place(text) == place


@pytest.mark.parametrize(
    "text, pension",
    [
        ("他退休了，每月领养老金", "employee"), ("在单位交的社保", "employee"), ("城乡居民养老保险", "resident"),
        ("交的新农保", "resident"), ("没交过养老保险", "none"), ("都没有", "none"), ("不清楚", None),
    ],
)
def test_parse_pension(text, pension):
    assert parse_pension(text) == pension
