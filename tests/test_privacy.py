"""mask_personal: mobiles and ID-card numbers however they are written (groups, dashes,
+86, full-width digits, lower-case x), the rest of the text untouched."""
from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.privacy import fold, mask_personal


@pytest.mark.parametrize("raw,masked", [
    ("我电话13812345678", "我电话138****5678"),
    ("身份证330106194001011234", "身份证330106********1234"),
    ("身份证33010619400101123X号", "身份证330106********123X号"),
    ("编号123456789012345678901", "编号123456789012345678901"),  # 21 digits: neither
    ("座机0571-87654321", "座机0571-87654321"),
    ("电话138 0013 8000。", "电话138****8000。"),
    ("电话138-0013-8000", "电话138****8000"),
    ("+86 138 0013 8000", "+86 138****8000"),
    ("86 13800138000", "86 138****8000"),
    ("86138 0013 8000", "86138****8000"),
    ("+86-13800138000", "+86-138****8000"),
    ("０086 13800138000", "０086 138****8000"),
    ("１３８００１３８０００好", "138****8000好"),
    ("（＋８６）１３８－００１３－８０００", "（＋８６）138****8000"),
    ("身份证110101 19900307 123X", "身份证110101********123X"),
    ("身份证110101 1990 0307 123x。", "身份证110101********123x。"),
    ("身份证110101-19900307-1234", "身份证110101********1234"),
    ("１１０１０１１９９００３０７１２３Ｘ", "110101********123X"),
    ("13800138000 110101199003071234", "138****8000 110101********1234"),
    ("电话13800138000 门牌1234567", "电话138****8000 门牌1234567"),  # no birth date: not an ID
    ("2024-01-05 13:30 共3.5元，编号 1234 5678", "2024-01-05 13:30 共3.5元，编号 1234 5678"),
    ("", ""),
])
def test_examples(raw, masked):
    assert mask_personal(raw) == masked


def test_fold_keeps_positions():
    text = "电话：１３８　００１３－８０００，ＡＢＣ"
    assert len(fold(text)) == len(text)
    assert fold(text) == "电话:138 0013-8000,ABC"


def test_no_backtracking_blow_up():
    hostile = ("1 - 3 - 8 - " * 400) + "x" + ("1" * 5000) + ("1  " * 2000)
    start = time.perf_counter()
    mask_personal(hostile)
    assert time.perf_counter() - start < 2


# -- property: generated numbers never survive, whatever the spelling ----------------------------

FULL = str.maketrans("0123456789Xx+-", "０１２３４５６７８９Ｘｘ＋－")
CHINESE = st.text(alphabet="我的电话是身份证号码请帮查一下低保申请，。：、！？（）啊吧呢 ", max_size=12)
SEPARATORS = st.sampled_from(["", "", "", " ", "-", "  ", " - ", "－", "　", "."])


def _spell(draw, digits: str) -> str:
    """The digits with random separators between them and random full-width characters."""
    out = []
    for i, ch in enumerate(digits):
        if i:
            out.append(draw(SEPARATORS))
        out.append(ch.translate(FULL) if draw(st.booleans()) else ch)
    return "".join(out)


@st.composite
def mobiles(draw):
    digits = "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    prefix = draw(st.sampled_from(["", "", "+86", "+86 ", "86", "86 ", "+86-", "＋８６ ", "0086 ", "(+86) "]))
    return prefix, digits, _spell(draw, digits)


@st.composite
def id_numbers(draw):
    region = draw(st.sampled_from("123456789")) + draw(st.text("0123456789", min_size=5, max_size=5))
    birth = (f"{draw(st.integers(1900, 2024))}{draw(st.integers(1, 12)):02d}{draw(st.integers(1, 28)):02d}")
    tail = draw(st.text("0123456789", min_size=3, max_size=3)) + draw(st.sampled_from("0123456789Xx"))
    digits = region + birth + tail
    return digits, _spell(draw, digits)


def _only_digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", fold(text))


@settings(max_examples=400, deadline=None)
@given(left=CHINESE, number=mobiles(), right=CHINESE)
def test_mobiles_never_survive(left, number, right):
    prefix, digits, spelled = number
    out = mask_personal(left + prefix + spelled + right)
    assert out.startswith(left) and out.endswith(right)  # the rest of the text is intact
    assert "****" in out
    # what is left of the number: the prefix, the first three and the last four digits
    # (the middle four digits are gone)
    assert _only_digits(out) == _only_digits(prefix) + digits[:3] + digits[-4:]


@settings(max_examples=400, deadline=None)
@given(left=CHINESE, number=id_numbers(), right=CHINESE)
def test_id_numbers_never_survive(left, number, right):
    digits, spelled = number
    out = mask_personal(left + spelled + right)
    assert out.startswith(left) and out.endswith(right)
    assert "********" in out
    assert _only_digits(out) == _only_digits(digits[:6] + digits[-4:])  # the birth date is gone


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=60))
def test_text_without_digits_is_unchanged(text):
    assert mask_personal(text) == text
