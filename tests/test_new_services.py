"""Issue 16 §2: the five services added to the catalogue.

Each answers in the four sample cities, in Simplified and Traditional Chinese, with a
national legal basis and (the local parts being unverified) the sample-data note;
the menu, the clarifying question, the staff console's service list and the Rasa
side know them; questions for other agencies get a referral with the agency.
"""
from __future__ import annotations

import pytest
import yaml

from bot.assistant import DOMAIN_TITLES, intent_for, service_for_intent
from bot.config import PROJECT_ROOT
from bot.guided.engine import SERVICE_INTENTS
from bot.normalize import normalize

CITIES = {"zhejiang-hangzhou": "杭州", "hunan-chenzhou": "郴州",
          "liaoning-yingkou": "营口", "hebei-qinhuangdao": "秦皇岛"}
TRADITIONAL_CITY = {"杭州": "杭州", "郴州": "郴州", "营口": "營口", "秦皇岛": "秦皇島"}

# service -> (Simplified question, Traditional question, national basis, fact in the answer)
NEW = {
    "disability.two_subsidies": ("{c}重度残疾人护理补贴几级能领", "{c}重度殘疾人護理補貼幾級能領",
                                 "国发〔2015〕52号", "一级、二级"),
    "child.orphan_support": ("{c}孩子爸爸坐牢妈妈失联，能领事实无人抚养儿童补贴吗",
                             "{c}孩子爸爸坐牢媽媽失聯，能領事實無人撫養兒童補貼嗎", "民发〔2019〕62号", "服刑在押"),
    "adoption.register": ("{c}收养孩子要满多少岁", "{c}收養孩子要滿多少歲", "民法典", "30周岁"),
    "assistance.vagrant": ("在{c}看到路边有流浪汉在睡觉，打什么电话求助", "在{c}看到路邊有流浪漢在睡覺，打什麼電話求助",
                           "流浪乞讨人员救助管理办法", "12345"),
    "assistance.tekun": ("{c}特困人员认定条件是什么", "{c}特困人員認定條件是什麼", "特困人员认定办法", "没有劳动能力"),
}


def questions():
    for code, (simplified, traditional, basis, fact) in NEW.items():
        for region, city in CITIES.items():
            yield code, region, city, simplified.format(c=city), basis, fact
            yield code, region, city, traditional.format(c=TRADITIONAL_CITY[city]), basis, fact


@pytest.mark.parametrize("code,region,city,text,basis,fact", list(questions()))
def test_answers_in_every_sample_city_and_script(assistant, code, region, city, text, basis, fact):
    reply = assistant.answer(code, text, region)
    assert reply.kind == "guide" and reply.service == code
    assert city in reply.text.splitlines()[0]  # the heading names the city
    assert fact in reply.text, reply.text
    legal = [line for line in reply.text.splitlines() if line.startswith("依据：")]
    assert legal and basis in legal[0], reply.text
    assert "示例数据" in reply.text  # local parts are unverified: the citizen is asked to confirm
    assert "确认" in reply.text


@pytest.mark.parametrize("code", list(NEW))
def test_full_guides_cite_the_national_rules_in_full_width(catalog, assistant, code):
    for region in CITIES:
        text = assistant.guide(code, region).text
        assert "【政策依据】" in text and "示例数据" in text
        sources = [line for line in text.splitlines() if "信息来源" in line]
        assert sources and not any(ch in line for line in sources for ch in "(),;"), sources


def test_each_new_service_has_enough_faq_answers(content):
    for code in NEW:
        assert len([e for e in content.faq if e.service == code]) >= 8, code


def test_rescue_station_is_the_office_for_the_vagrant_service(catalog):
    for region in CITIES:
        offices = catalog.guide("assistance.vagrant", region).offices
        assert offices and "救助管理站" in offices[0].name and offices[0].sample, region


def test_elder_institution_keeps_care_homes_and_tekun_is_its_own_service(catalog, content):
    assert catalog.service("elder.institution").name == "养老机构入住"
    tekun = catalog.service("assistance.tekun")
    assert tekun.name == "特困人员救助供养"
    guide = catalog.guide("assistance.tekun", None)
    assert any("未满16周岁" in c for c in guide.conditions)
    from bot.eligibility import load_rules

    rules = load_rules()
    assert {b.code: b.service for b in rules.benefits}["elder.institution"] == "assistance.tekun"


def test_menu_clarify_and_console_know_the_new_services(assistant, catalog):
    menu = assistant.menu().text
    for code in NEW:
        assert catalog.service(code).name in menu, code
    for title in ("残疾人福利", "儿童福利", "收养登记"):
        assert title in menu
    clarify = assistant.clarify([], "我想问问救助站和特困的事")
    assert {b.payload for b in clarify.buttons} >= {"/assistance_vagrant", "/assistance_tekun"}
    # the console's service list is the catalogue's
    assert {s.code for s in catalog.services()} >= set(NEW)


def test_rasa_side_lists_match_the_catalogue(content):
    intents = {intent_for(s.code) for s in content.services}
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    rules = yaml.safe_load((PROJECT_ROOT / "data/rules/services.yml").read_text(encoding="utf-8"))
    ruled = {step["intent"] for step in rules["rules"][0]["steps"][0]["or"]}
    assert intents <= set(domain["intents"])
    assert ruled == intents
    assert SERVICE_INTENTS == intents
    for s in content.services:
        assert service_for_intent(intent_for(s.code)) == s.code
        assert s.domain in DOMAIN_TITLES


@pytest.mark.parametrize("text,agency,hotline", [
    ("残疾证怎么办理", "残联", "12385"),
    ("我想登记遗体捐献", "红十字会", None),
    ("困难群众的医疗救助找谁", "医疗保障", "12393"),
    ("退休金多少怎么查", "人力资源和社会保障", "12333"),
    ("孩子上户口去哪里", "公安", None),
])
def test_other_agencies_get_a_referral(assistant, text, agency, hotline):
    reply = assistant.out_of_scope(text)
    assert agency in reply.text, reply.text
    if hotline:
        assert hotline in reply.text


def test_traditional_questions_normalise_to_the_simplified_ones():
    for code, (simplified, traditional, *_rest) in NEW.items():
        assert normalize(traditional.format(c="")) == normalize(simplified.format(c="")), code


@pytest.mark.slow
def test_new_services_through_the_trained_model(catalog_url):
    from .conftest import require_model
    from .test_e2e_ask import ask

    require_model()
    rows = list(questions())
    out = ask([text for _, _, _, text, _, _ in rows], env={"MINZHENG_DB_URL": catalog_url}, timeout=1200)
    wrong = []
    for (code, _, city, text, basis, _), o in zip(rows, out, strict=True):
        reply = o["reply"] or ""
        if o["service"] != code or city not in reply or basis not in reply:
            wrong.append((text, o["intent"], o["service"], reply[:80]))
    assert not wrong, wrong
