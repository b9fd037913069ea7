"""Out-of-scope topics (bot/content/out_of_scope.yml): near-domain questions get the
responsible agency, and no topic keyword is part of our own services' wording."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config import CONTENT_DIR
from bot.normalize import normalize


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _our_wording() -> str:
    files = sorted(Path(CONTENT_DIR, "services").glob("*.yml")) + sorted(Path(CONTENT_DIR, "faq").glob("*.yml"))
    assert files
    return "\n".join(normalize(s) for f in files for s in _strings(yaml.safe_load(f.read_text(encoding="utf-8"))))


def test_no_topic_keyword_occurs_in_our_services_wording(content):
    wording = _our_wording()
    clashes = [(t.topic, k) for t in content.out_of_scope for k in t.keywords if normalize(k) in wording]
    assert not clashes, clashes


def test_each_keyword_belongs_to_one_topic(content):
    seen: dict = {}
    for t in content.out_of_scope:
        for k in t.keywords:
            assert k not in seen, (k, seen.get(k), t.topic)
            seen[k] = t.topic


@pytest.mark.parametrize("text,agency,hotline", [
    ("我们小区物业天天不作为，物业费还涨价，找谁管", "住房和城乡建设", "12345"),
    ("现在公墓价格太离谱了，一个墓穴十几万", "殡葬管理", "12345"),
    ("邻居办白事连着三天吹唢呐到半夜，太吵了", "派出所", "12345"),
    ("村口的厂子晚上偷排废水，河里全是臭味", "生态环境", "12345"),
    ("养老公寓让老人交钱说有高额返利，现在老板跑路了", "公安", "110"),
    ("想申请公租房要什么条件", "住房保障", "12345"),
    ("我家老房子拆迁补偿太低了", "房屋征收", "12345"),
    ("农村危房改造怎么申请", "住房和城乡建设", "12345"),
    ("独生子女父母奖励费在哪领", "卫生健康", "12345"),
    ("老年人优待证去哪办，坐公交免费吗", "老龄", "12345"),
    ("退役军人的优抚金怎么申请", "退役军人事务", "12345"),
    ("老公家暴我该怎么办", "妇联", "12338"),
    ("爸妈的遗产兄弟几个怎么分", "公证", "12348"),
    ("种粮补贴什么时候发", "农业农村", "12345"),
    ("婚前体检在哪里做", "卫生健康", None),
    ("大病保险住院报销比例是多少", "医疗保障", "12393"),
    ("养老保险断了几年想补缴社保", "人力资源和社会保障", "12333"),
    ("残疾证到期了要去哪换", "残疾人联合会", "12385"),
    ("農民工工資被拖欠了找誰", "人力资源和社会保障", "12333"),
    ("小区暖气一点都不热找谁", "供热", "12345"),
    ("想成立一个社会组织去哪登记", "社会组织管理", "12345"),
    # a keyword's words in the citizen's own order
    ("我的残疾证丢了怎么补办", "残疾人联合会", "12385"),
    ("我死后想捐献器官，去哪登记", "红十字会", None),
])
def test_near_domain_questions_get_the_responsible_agency(assistant, text, agency, hotline):
    reply = assistant.out_of_scope(text)
    assert agency in reply.text, reply.text
    if hotline:
        assert f"电话 {hotline}" in reply.text, reply.text


@pytest.mark.parametrize("text", ["我想申请低保", "高龄津贴怎么领", "海葬有补贴吗", "结婚登记要带什么"])
def test_our_own_services_match_no_topic(catalog, text):
    assert catalog.out_of_scope_topic(text) is None


@pytest.mark.parametrize("keyword,text,found", [
    ("补办残疾证", "我的残疾证丢了怎么补办", True),
    ("补办残疾证", "补办残疾证", True),
    ("补办残疾证", "残疾证", False),                                 # one word only
    ("补办残疾证", "补办了户口本之后我想问问残疾证的两项补贴", False),  # too far apart
    ("办残疾人证", "残疾人证办了吗", False),                          # 办 alone would match anywhere
    ("遗体捐献", "捐献遗体", True),                                   # two-character words: close together
    ("遗体捐献", "遗体怎么捐献", True),
    ("社会组织", "社会上有没有组织帮助孤寡老人", False),
])
def test_keyword_words_in_another_order(keyword, text, found):
    from bot.keywords import occurs

    assert occurs(keyword, text) is found


# (老人免费体检 is 卫健's indeed: the basic public-health service for people of 65 and over)
@pytest.mark.parametrize("text", ["社会上有没有组织帮助孤寡老人", "房屋漏水找谁鉴定", "孩子上学需要什么手续"])
def test_common_words_far_apart_name_no_agency(catalog, text):
    """Review finding: two generic words of a keyword met by chance."""
    assert catalog.out_of_scope_topic(text, loose=True) is None


def test_the_clarifying_question_matches_topics_exactly(catalog):
    """A message the NLU was unsure of may be ours: only the keyword as written names an agency."""
    assert catalog.out_of_scope_topic("我的残疾证丢了怎么补办") is None
    assert catalog.out_of_scope_topic("我的残疾证丢了怎么补办", loose=True).topic == "残疾人证"
