"""Realistic Chinese names and obviously fake phone numbers for simulated residents.

Given names follow the generation: elderly residents get names common for people born in
the 1940s–50s (桂英, 建国), adults names of the 1980s–90s (伟, 静), children names of the
2010s (子涵, 梓轩). Phone numbers start with 100, which no Chinese mobile number does.
"""

from __future__ import annotations

import random
from typing import Literal

Generation = Literal["elder", "adult", "child"]
Gender = Literal["f", "m"]

SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
    "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯",
    "邓", "曹", "彭", "曾", "萧", "田", "董", "潘", "袁", "蔡", "蒋", "余",
)

GIVEN: dict[Generation, dict[Gender, tuple[str, ...]]] = {
    "elder": {
        "f": ("桂英", "秀英", "玉兰", "淑珍", "凤英", "秀兰", "桂兰", "玉珍", "素芬", "翠花",
              "玉梅", "秀珍", "金凤", "淑英"),
        "m": ("建国", "国强", "德明", "志刚", "福生", "长林", "文华", "振华", "永福", "德胜",
              "金水", "宝山", "树林", "明德"),
    },
    "adult": {
        "f": ("芳", "娜", "敏", "静", "丽", "艳", "婷", "雪", "慧", "琳", "倩", "晓燕", "丹",
              "颖"),
        "m": ("伟", "强", "磊", "洋", "勇", "军", "杰", "涛", "超", "鹏", "浩", "俊", "斌",
              "宇"),
    },
    "child": {
        "f": ("子涵", "欣怡", "雨桐", "一诺", "梓涵", "诗涵", "可馨", "思琪", "语嫣", "若曦"),
        "m": ("梓轩", "浩然", "宇轩", "子墨", "俊熙", "一鸣", "子豪", "睿泽", "皓轩", "明轩"),
    },
}

CHILD_RELATIONS = {"f": "女儿", "m": "儿子"}


def surname(rng: random.Random) -> str:
    """A family name."""
    return rng.choice(SURNAMES)


def given_name(rng: random.Random, generation: Generation, gender: Gender) -> str:
    """A given name typical of the generation."""
    return rng.choice(GIVEN[generation][gender])


def gender(rng: random.Random) -> Gender:
    """Female or male, evenly."""
    return "f" if rng.random() < 0.5 else "m"


class FakePhones:
    """Hands out unique phone numbers that cannot belong to anyone: 100-0000-NNNN."""

    def __init__(self) -> None:
        self._next = 1

    def next(self) -> str:
        number = f"100-{self._next // 10000:04d}-{self._next % 10000:04d}"
        self._next += 1
        return number
