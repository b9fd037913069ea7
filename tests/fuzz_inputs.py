"""Bad (and some good) inputs for the reliability battery, and the tally it keeps.

Inputs come from a seeded ``random.Random`` so a run can be repeated exactly
(``--seed``); tests/test_reliability_short.py adds Hypothesis strategies on top.
Nothing here talks to a server: see tests/fuzz_http.py, tests/fuzz_telegram.py
and tests/fuzz_domain.py for the drivers.
"""
from __future__ import annotations

import json
import random
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

# What citizens really type: each must get a reply.
CITIZEN_MESSAGES = (
    "你好", "低保怎么申请", "结婚登记要带什么材料", "我想离婚需要什么手续", "结婚证丢了怎么补办",
    "老人去世了要办哪些手续", "高龄津贴怎么领", "我爸87岁了，住在杭州，能领什么补贴", "帮我预约结婚登记",
    "帮我查一下办件进度", "HZ2026110001 1234", "转人工", "谢谢", "算了", "杭州", "西湖区", "明天", "下周三上午",
    "我电话13812345678", "临时救助找谁", "养老院补贴", "你能做什么", "再见", "取消预约 K7QH2M9T 尾号1234",
    "我想改约到12月3日", "是", "不是", "1998年3月2日", "张三", "9点", "确认", "第2个", "海葬有补贴吗",
)

NASTY = (
    "", " ", "\t\n", "\x00", "\x00" * 50, "\x1b[31mred", "\u202eevil", "\u200b\u200c\u200d", "\ufeff",
    "💩" * 300, "👨‍👩‍👧‍👦" * 50, "Z\u0351\u0352\u0353" * 100, "A" * 5000, "中" * 3000, "9" * 400,
    "/nonexistent", "/nonexistent{...}", '/greet{"region": "杭州"', '/greet{"x": 1}',
    '/inform_region{"entry":"../../etc"}',
    '/inform_region{"region": {"a": 1}}', '/greet{"region": "' + "x" * 200 + '"}', "/restart", "/session_start",
    "/action_listen", "//", "／greet", "<script>alert(1)</script>", "{{7*7}}", "${jndi:ldap://x/a}",
    "'; DROP TABLE services;--", "\" OR 1=1 --", "%s%s%s%n", "../../../../etc/passwd", "NaN", "Infinity", "-0",
    "null", "true", "[]", "{}", "１３８ ００１３ ８０００", "+86 138 0013 8000", "11010519491231002X",
    "110105 1949 1231 002X", "\ud800", "\udfff abc", "尾号", "尾号12345", "第999999999999个", "9999999999月99日",
    "99点99", "20260230", "2026-02-30", "0000年00月00日", "下下下下下下下下下下周三", "K7QH2M9T" * 30,
    "MZ" + "9" * 40, "\r\n\r\nHTTP/1.1 200 OK", "\\u0000", "١٢٣٤", "𝟏𝟑𝟖𝟎𝟎𝟏𝟑𝟖𝟎𝟎𝟎",
)

_ALPHABETS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    " \t\n\r!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面",
    "０１２３４５６７８９ＡＢＣ，。！？：；（）",
    "零一二两三四五六七八九十百千万年月日号点半周星期",
    "😀😂🤔👍🙏🏻💩🇨🇳❤️‍🔥",
    "\x00\x01\x02\x07\x08\x0b\x0c\x1b\x7f\u0085\u2028\u2029",
    "\u0300\u0301\u0351\u200b\u200d\u202e\ufeff\ufffd",
)


def random_text(rng: random.Random, max_len: int = 80) -> str:
    n = rng.choice((0, 1, 2, 4, 8, 16, 32, max_len, rng.randint(0, max_len)))
    pools = rng.sample(_ALPHABETS, rng.randint(1, 3))
    return "".join(rng.choice(rng.choice(pools)) for _ in range(n))


def bad_text(rng: random.Random) -> str:
    """A nasty string, a random one, or a real message with garbage around it."""
    r = rng.random()
    if r < 0.3:
        return rng.choice(NASTY)
    if r < 0.6:
        return random_text(rng)
    if r < 0.8:
        return rng.choice(CITIZEN_MESSAGES) + random_text(rng, 10)
    if r < 0.9:
        return rng.choice(CITIZEN_MESSAGES)
    return random_text(rng, 3000)


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """Any JSON value, nested up to three levels."""
    r = rng.randrange(10 if depth < 3 else 7)
    if r == 0:
        return None
    if r == 1:
        return rng.choice((True, False))
    if r == 2:
        return rng.choice((0, -1, 1, 2**31, 2**63, 10**30, -(10**30), rng.randint(-1000, 1000)))
    if r == 3:
        return rng.choice((0.5, -1e308, 1e308, 3.14159, float(rng.randint(-9, 9))))
    if r in (4, 5, 6):
        return bad_text(rng)
    if r in (7, 8):
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {bad_text(rng)[:20]: random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def valid_sender(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(8, 64)))


def bad_sender(rng: random.Random) -> Any:
    return rng.choice((None, "", "short", "x" * 65, "含中文的发送者id", "abc def ghi", "../../etc/passwd",
                       "a" * 10_000, 12345678, ["abcdefghij"], {"id": "abcdefghij"}, "abcdefgh\x00",
                       "abcdefgh\n", valid_sender(rng) + "!", random_text(rng, 70)))


def payload(rng: random.Random, intents: List[str]) -> str:
    """A button payload: mostly well-formed (known intent, allowed entity), often not."""
    intent = rng.choice(intents) if rng.random() < 0.7 else random_text(rng, 20)
    r = rng.random()
    if r < 0.3:
        return f"/{intent}"
    if r < 0.55:
        key = rng.choice(("region", "age", "entry", "service", "sender", "__proto__", ""))
        value = rng.choice((bad_text(rng)[:70], rng.randint(-5, 200), None, [1], {"a": "b"}))
        return f"/{intent}" + json.dumps({key: value}, ensure_ascii=rng.random() < 0.5)
    if r < 0.75:
        return f"/{intent}{{" + random_text(rng, 40)
    if r < 0.85:
        return rng.choice(CITIZEN_MESSAGES)
    return bad_text(rng)


def mutate(rng: random.Random, s: str) -> str:
    """A small edit: a character dropped, doubled, swapped for another, or case flipped."""
    if not s:
        return random_text(rng, 4)
    i = rng.randrange(len(s))
    op = rng.randrange(5)
    if op == 0:
        return s[:i] + s[i + 1:]
    if op == 1:
        return s[:i] + s[i] + s[i:]
    if op == 2:
        return s[:i] + rng.choice("-_.A9中/ \x00é") + s[i + 1:]
    if op == 3:
        return s.swapcase()
    return s + random_text(rng, 8)


def short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"…(+{len(text) - limit})"


@dataclass
class Tally:
    """What one entry point did with its inputs. Pass: no server error, crash or lost message."""

    name: str
    inputs: int = 0
    valid: int = 0  # inputs that are a real citizen message and must get a reply
    replied: int = 0
    server_errors: int = 0  # HTTP 5xx, or a traceback in a response
    crashes: int = 0  # an exception escaping a handler, parser or form
    lost: int = 0  # a valid message without a reply
    throttled: int = 0  # HTTP 429 / a polite "too many" answer: not an error
    statuses: Counter = field(default_factory=Counter)
    examples: List[Dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.server_errors == 0 and self.crashes == 0 and self.lost == 0

    def failure(self, kind: str, where: str, given: Any, detail: str = "") -> None:
        if kind == "server_error":
            self.server_errors += 1
        elif kind == "crash":
            self.crashes += 1
        else:
            self.lost += 1
        lines = [line for line in detail.splitlines() if line.strip()]
        signature = lines[-1][:120] if lines else ""  # the exception, or what was wrong
        same = [e for e in self.examples if (e["kind"], e["where"], e["signature"]) == (kind, where, signature)]
        if len(same) < 2 and len(self.examples) < 40:
            self.examples.append({"kind": kind, "where": where, "signature": signature, "input": short(given, 300),
                                  "detail": detail[-3000:]})

    def crash(self, where: str, given: Any, exc: BaseException) -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.failure("crash", where, given, tb)

    def merge(self, other: Tally) -> None:
        for name in ("inputs", "valid", "replied", "server_errors", "crashes", "lost", "throttled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.statuses.update(other.statuses)
        self.examples.extend(other.examples)
        self.seconds += other.seconds

    def summary(self) -> str:
        return (f"{self.name}: {self.inputs} inputs ({self.valid} valid messages, {self.replied} replied), "
                f"{self.server_errors} server errors, {self.crashes} crashes, {self.lost} lost, "
                f"{self.throttled} throttled, {self.seconds:.1f}s")

    def as_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "inputs": self.inputs, "valid": self.valid, "replied": self.replied,
                "server_errors": self.server_errors, "crashes": self.crashes, "lost": self.lost,
                "throttled": self.throttled, "statuses": dict(self.statuses), "seconds": round(self.seconds, 1),
                "examples": self.examples}


def failure_text(tallies: List[Tally]) -> Optional[str]:
    """The failures of a battery as text for an assertion message, or None when all passed."""
    bad = [t for t in tallies if not t.ok]
    if not bad:
        return None
    lines = []
    for t in bad:
        lines.append(t.summary())
        for e in t.examples[:6]:
            lines.append(f"  [{e['kind']}] {e['where']} <- {e['input']}\n{e['detail'][-1500:]}")
    return "\n".join(lines)
