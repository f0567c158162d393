"""Facts the law fixes, asked as citizens ask them: the answer states the fact itself and does
not send the citizen to the portal or the hotline for it (issue 10). The shipped knowledge base
is answered as of 2 December 2026; the 2027 fee versions are checked with their own dates."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.config import BotConfig
from bot.dialogue.decide import respond

DAY = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
REFERRALS = ("1022", "dichvucong.gov.vn", "tra cứu trên cổng", "hỏi tổng đài")

FACTS = [
    ("dk khai sinh mat bao lau", "khai-sinh", "trong ngày"),
    ("khai tử cho bố mất mấy ngày thì xong", "khai-tu", "trong ngày"),
    ("nhập hộ khẩu thường trú bao lâu thì xong", "thuong-tru", "07 ngày làm việc"),
    ("dang ky tam tru mat may ngay", "tam-tru", "03 ngày làm việc"),
    ("xin giấy xác nhận độc thân mất bao lâu", "xac-nhan-tinh-trang-hon-nhan", "03 ngày làm việc"),
    ("lý lịch tư pháp hết bao nhiêu tiền", "ly-lich-tu-phap", "200.000 đồng"),
    ("lam phieu ly lich tu phap bao lau co", "ly-lich-tu-phap", "10 ngày làm việc"),
    ("đổi căn cước hết bao nhiêu tiền", "can-cuoc", "25.000 đồng"),
    ("làm hộ chiếu lệ phí bao nhiêu", "ho-chieu", "100.000 đồng"),
    ("thẻ bhyt cho bé dưới 6 tuổi có mất tiền không", "bhyt-tre-em", "ngân sách nhà nước"),
    ("trợ cấp hưu trí xã hội được bao nhiêu một tháng", "tro-cap-xa-hoi", "500.000 đồng/tháng"),
]


@pytest.mark.parametrize("question, topic, fact", FACTS)
def test_a_fact_the_law_fixes_is_stated_not_referred(shipped_index, question, topic, fact) -> None:
    turn = respond(question, {}, shipped_index, DAY, BotConfig())
    text = "\n".join(r.text for r in turn.replies)
    assert (turn.kind, turn.topic) == ("answer", topic), text
    assert fact.lower() in text.lower()
    assert not any(r in text.lower() for r in REFERRALS), text


@pytest.mark.parametrize(
    "day, fee, gone",
    [
        (dt.datetime(2026, 12, 31, 9, tzinfo=dt.UTC), "25.000 đồng", "50.000 đồng"),
        (dt.datetime(2027, 1, 2, 9, tzinfo=dt.UTC), "50.000 đồng", "25.000 đồng"),
    ],
)
def test_the_fee_in_force_on_the_day_is_the_one_stated(shipped_index, day, fee, gone) -> None:
    turn = respond("phí cấp đổi thẻ căn cước bao nhiêu", {}, shipped_index, day, BotConfig())
    text = turn.replies[-1].text
    assert turn.topic == "can-cuoc" and fee in text and gone not in text
