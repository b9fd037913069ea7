"""Reading the citizen's own words for the eligibility check (bot.eligibility): care
level from a description of daily life, 特困 self-care, the household's economic
state, the 残疾人证 grade and yes/no answers. Pure functions of the text.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from .normalize import compact, first_keyword


# Official level names (GB/T 42195-2022); matched before descriptions.
_OFFICIAL = (
    ("完全失能", "total"), ("重度失能", "severe"), ("中度失能", "moderate"), ("轻度失能", "mild"),
    ("能力完好", "intact"),
)
_NOT_ASSESSED = re.compile(r"(没|未|还没|没有|不曾)(做|有|进行|参加)?过?(能力)?(评估|鉴定)")
# Descriptions, most severe first; a description only suggests a level.
_DESCRIPTIONS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("total", ("完全不能自理", "完全不能动", "植物人", "昏迷", "全身瘫痪", "鼻饲", "什么都要人", "什么都不能自己")),
    ("severe", ("卧床", "瘫痪", "瘫在床", "下不了床", "不能下床", "起不了床", "躺在床上", "生活不能自理",
                "不能自理", "无法自理", "不能自己吃饭", "要人喂饭", "喂饭", "大小便失禁")),
    ("moderate", ("半自理", "部分自理", "部分不能自理", "不能完全自理", "需要有人扶", "要人扶", "需要人扶", "得有人扶",
                  "坐轮椅", "轮椅", "洗澡要人帮", "洗澡需要人", "穿衣要人帮", "半失能", "离不开人")),
    ("mild", ("基本能自理", "基本自理", "大部分能自理", "偶尔需要", "有时需要人帮", "腿脚不太好", "走路不太稳",
              "拄拐")),
    ("intact", ("能自理", "生活自理", "完全自理", "自己能照顾自己", "身体很好", "身体硬朗", "身体挺好", "很健康")),
)


def care_level_from_text(text: str) -> Tuple[Optional[str], bool]:
    """Map an answer about daily life to a GB/T 42195-2022 level.

    Returns ``(level, needs_assessment)``. An official level name ("重度失能") is
    taken as an assessment result unless the text says no assessment was done;
    a description ("卧床不起", "需要有人扶") only suggests a level, so an
    assessment (老年人能力评估) is advised. Unclear answers give ``(None, True)``.
    """
    text = compact(text)
    if not text:
        return None, True
    not_assessed = bool(_NOT_ASSESSED.search(text))
    for name, level in _OFFICIAL:
        if name in text:
            return level, not_assessed
    for level, words in _DESCRIPTIONS:
        if any(w in text for w in words):
            return level, True
    return None, True


def self_care_from_adl(unable: int) -> str:
    """特困人员 self-care from the number of the six daily activities that cannot be done unaided.

    0 → ``"full"`` (有自理能力), 1–3 → ``"partial"`` (部分丧失), 4–6 → ``"lost"`` (完全丧失).
    """
    if isinstance(unable, bool) or not isinstance(unable, int) or not 0 <= unable <= 6:
        raise ValueError("unable must be a whole number from 0 to 6")
    if unable == 0:
        return "full"
    return "partial" if unable <= 3 else "lost"


_ECONOMIC_WORDS = (
    ("tekun", ("特困", "五保", "三无")),
    ("dibao", ("低保",)),
    ("low_income", ("低收入", "低边", "边缘户")),
)
_ECONOMIC_NEGATED = re.compile(
    r"(不是|没有|不属于|没办|没评上|不算)(特困|五保|三无|低保|低收入|低边|边缘户)(户|家庭|人员|对象)?"
)
_ECONOMIC_NONE = re.compile(r"(都不是|都没有|不是|没有|不属于|普通家庭|一般家庭|没困难|不困难)")


def parse_economic(text: str) -> Optional[str]:
    """"低保户" → dibao, "五保/特困" → tekun, "低收入/低边" → low_income, "都不是" → none."""
    text = compact(text)
    if not text:
        return None
    code = first_keyword(_ECONOMIC_NEGATED.sub("", text), _ECONOMIC_WORDS)
    if code:
        return code
    if _ECONOMIC_NONE.search(text):
        return "none"
    return None


# 残疾人证 grades. The grade stands on the certificate (一级 … 四级, GB/T 26341-2010);
# "重度残疾" in the two subsidies' sense (国发〔2015〕52号) is 一级 or 二级, so "重度"
# alone names no grade: the form asks which. "极重度" is 一级 in the standard's own words.
_DISABILITY_WORDS = re.compile(r"(残疾|残障|残废|残联|盲人|聋哑)")
_GRADE = re.compile(r"(?<![0-9零〇一二两三四五六七八九十])([一二三四1-4])级")
_NOT_GRADE = re.compile(r"(不是|并非|不|没有|没|非)([一二三四1-4])级")  # "不是一级，是二级", "没有一级证"
# grades of other things: the 老年人能力评估, care levels, a 残疾军人证 or a work-injury grade
_OTHER_GRADE = re.compile(r"(评估|护理|失能|照护|军人|伤残|工伤|等级评定为?失)")
_KINDS = re.compile(r"(肢体|视力|听力|言语|智力|精神|多重)")  # the categories on a 残疾人证
_UNSURE = re.compile(r"(不知道|不清楚|不确定|不记得|记不清|记不得|说不好|不好说|不晓得|搞不清|弄不清|忘了|忘记|"
                     r"可能|好像|大概|也许|"
                     r"[一二三四1-4]级(还是|或者|或是|或)[一二三四1-4]级)")  # "二级还是三级"; "还是二级" is sure
_QUESTION = re.compile(r"(有没有|是不是|有无|是否)")
_CERTIFICATE = re.compile(r"(残疾人?证|残疾|级|等级)")  # what a clause about the certificate speaks of
_NO_DISABILITY = re.compile(
    r"(没有|没|无|未|不是|不算|不属于)(办|办过|领|领过|申请过|评过|评定过|持有|持)?(过)?(残疾人?证|残疾|残障|残废)")
_NO_ANSWER = re.compile(r"^(没有|没|无|不是|都没有|都不是|没办|没办过|没有办|没领过|没证|没有证)")
_SEVERE = re.compile(r"(?<!极)重度(?!失能)")
_GRADE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
# the check is for a relative ("帮我妈测算", "给我爸算算"): then a clause about the citizen
# ("我是一级残疾") is not about the elder; an elder speaking for themselves keeps theirs
_FOR_RELATIVE = re.compile(r"(帮|给|替|为)(我|我们)?(家)?(妈|爸|父亲|母亲|老人|奶奶|爷爷|外婆|外公|姥姥|姥爷|婆婆|公公|"
                           r"岳父|岳母|老爷子|老太太)")
_ABOUT_ME = re.compile(r"^(我是|我有|我也是|我属于|我本人|本人)")


def mentions_disability(text: str) -> bool:
    """The message speaks of a disability or a 残疾人证 ("我妈是残疾人", "有残疾证")."""
    return bool(_DISABILITY_WORDS.search(compact(text)))


def _clause_grades(clause: str) -> List[int]:
    """The grades a clause states, but not one right next to another grade's word
    ("评估二级", "残疾军人三级", "二级护理")."""
    if "军人" in clause or "工伤" in clause:  # a 残疾军人证 or a work-injury grade, not a 残疾人证
        return []
    out = []
    for m in _GRADE.finditer(clause):
        if _OTHER_GRADE.search(clause[max(0, m.start() - 4):m.start()]) or \
                _OTHER_GRADE.search(clause[m.end():m.end() + 2]):
            continue
        out.append(_GRADE_DIGITS[m.group(1)])
    return out


def parse_disability_level(text: str, asked: bool = False) -> Optional[int]:
    """The 残疾人证 grade: "一级肢体残疾" → 1, "二級殘疾" → 2, "残疾人证是4级的" → 4,
    "极重度残疾" → 1, "没有残疾人证" → 0. ``asked``: the message answers the question
    about the certificate, so a bare "二级" or "没有" counts; otherwise a grade is taken
    only from a clause that speaks of a disability. Never a grade that is not the
    certificate's (能力评估二级, 二级护理, 残疾军人三级), a clause about the certificate
    the citizen is unsure of ("二级还是三级记不清了", "不知道有没有残疾证") or asks about
    ("有没有残疾证都行吗"), or the citizen's own grade when the check is for a relative
    ("我是一级残疾，帮我妈测算"). Unsure words about something else ("一级，不知道能领
    什么") do not matter. "重度" alone is no grade (see :func:`says_severe_disability`);
    unclear → None."""
    t = compact(text)
    if not t:
        return None
    about = bool(_DISABILITY_WORDS.search(t))
    if not about and (not asked or "失能" in t or "评估" in t):
        return None
    clauses = [c for c in re.split(r"[，,。；;！!？?\s]+", t) if c]
    if _FOR_RELATIVE.search(t):
        clauses = [c for c in clauses if not _ABOUT_ME.match(c)]
    if not asked:
        clauses = [c for c in clauses if _DISABILITY_WORDS.search(c)]
    # a clause about the certificate that is unsure or a question says nothing sure
    doubtful = [c for c in clauses if _CERTIFICATE.search(c) and (_UNSURE.search(c) or _QUESTION.search(c))]
    sure = [c for c in clauses if c not in doubtful]
    grades: List[int] = []
    denied = False
    for clause in sure:
        denied = denied or bool(_NOT_GRADE.search(clause))
        clause = _NOT_GRADE.sub("", clause)
        grades += _clause_grades(clause)
        if "极重度" in clause:
            grades.append(1)
    if grades:
        return min(grades)  # 多重残疾: the certificate carries the most severe grade
    if denied or doubtful or not sure:
        return None  # "不是一级" says which grade it is not; "有没有…" asks
    if any(_NO_DISABILITY.search(c) for c in sure) or (asked and _NO_ANSWER.match(sure[0])):
        return 0
    return None


def says_severe_disability(text: str, asked: bool = False) -> bool:
    """"重度残疾" without a grade: 一级 or 二级, the certificate says which."""
    t = compact(text)
    return bool(_SEVERE.search(t)) and (asked or bool(_DISABILITY_WORDS.search(t)))


_YES_FIRST = re.compile(r"(没错|没问题|是的|对的)")
_NO = re.compile(r"(不是|不在|没有|外地|外省|外市|非本地|不对|否|没)")
_YES = re.compile(r"(是|在|对|有|本地|嗯|当地)")


def parse_yes_no(text: str) -> Optional[bool]:
    """Yes/no answers such as "是本地户口" (True) or "外地户口" / "不是" (False)."""
    text = compact(text)
    if not text:
        return None
    if _YES_FIRST.search(text):
        return True
    if _NO.search(text):
        return False
    if _YES.search(text):
        return True
    return None
