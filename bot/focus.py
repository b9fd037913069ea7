"""Find the part of a long citizen message that carries the request.

Real messages to a civil-affairs bureau often tell a story first and ask last
("我母亲今年80岁……请问能领高龄津贴吗？"), greet an official ("尊敬的领导：…"),
or ask several questions. The NLU scores the whole message and its request
clauses (``request_clauses``); a message whose clauses point at different
services is offered both.

Pure text functions: no Rasa, no catalogue.
"""
from __future__ import annotations

import re
from typing import List

# Sentence ends, and a comma followed by a phrase that starts a question.
_SPLIT = re.compile(
    r"(?<=[。！？!?；;\n…])"
    r"|(?<=[，,：:])(?=请问|想问|问一下|咨询|能否|能不能|可不可以|是否|怎么|如何|请|我想|想申请|想了解)"
)
# Words that mark a clause as a question or a request.
_REQUEST = re.compile(
    r"[？?]|请问|想问|问一下|咨询|了解一下|能否|能不能|可不可以|可以不|是否|怎么|怎样|咋|如何|哪里|哪儿|"
    r"什么|多少|吗|么|呢|需要|申请|办理|办|领(?!导)|有没有|有无|建议|希望|恳请|请求|求助|帮帮|反映"
)
# Greetings and sign-offs that carry no request.
_COURTESY = re.compile(
    r"^(?:尊敬的|敬爱的|亲爱的)?[^，,：:]{0,12}(?:领导|书记|市长|县长|局长|主任|同志|工作人员|老师)"
    r"(?:们)?[！!，,：:\s]*(?:您好|你们好|好)?[！!，,：:。\s]*$"
    r"|^(?:您好|你好|你们好|谢谢|谢谢您|谢谢领导|感谢|麻烦了|辛苦了)[！!。，,]*$"
)
MIN_CLAUSE = 4
MAX_FOCUS = 3


def clauses(text: str) -> List[str]:
    """The message cut into sentences (and question phrases after a comma),
    courtesy phrases dropped."""
    parts = [p.strip(" ，,。：:") for p in _SPLIT.split(text or "")]
    return [p for p in parts if len(p) >= MIN_CLAUSE and not _COURTESY.match(p)]


def request_clauses(text: str) -> List[str]:
    """The clauses that carry the request: the last few question/request
    clauses, else the last sentence. A short one-sentence message is its own
    request (an empty list)."""
    parts = clauses(text)
    if len(parts) <= 1:
        return []
    asked = [p for p in parts if _REQUEST.search(p)]
    return (asked or parts)[-MAX_FOCUS:]
