"""The discriminant learned from the knowledge base's phrasings, and the choices it orders."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bot.dialogue.decide import _still_on_topic
from bot.understanding import ranking
from bot.understanding.dense import DenseScores
from bot.understanding.discriminant import ABSENT, Discriminant
from bot.understanding.index import Index
from bot.understanding.query import Match


def _unit(rows: list[tuple[float, float, float]]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# Topic 0's phrasings vary widely along the second axis and sit above the third; topic 1's are
# tight, below it. What tells them apart is the third axis alone.
ROWS = _unit([(1, -0.6, 0.1), (1, -0.3, 0.1), (1, 0.3, 0.1), (1, 0.6, 0.1)])
ROWS = np.vstack([ROWS, _unit([(1, -0.05, -0.1), (1, 0.05, -0.1)])])
OWNER = np.array([0, 0, 0, 0, 1, 1])


def test_a_message_goes_to_the_topic_the_telling_direction_points_to_not_the_nearest_row():
    message = _unit([(1, 0.05, 0.02)])[0]
    assert int(np.argmax(ROWS @ message)) in (4, 5)  # by cosine, a row of topic 1 is nearest
    scores = Discriminant.fit(ROWS, OWNER, 2).scores(message)
    assert scores[0] == 0.0 and scores[1] < 0.0  # the discriminant: topic 0


def test_a_topic_without_rows_is_never_the_favourite_and_rows_of_no_topic_are_ignored():
    owner = np.array([0, 0, 0, 0, -1, -1])  # the last two rows: an out-of-scope domain
    discriminant = Discriminant.fit(ROWS, owner, 2)
    assert discriminant.offsets[1] == pytest.approx(ABSENT)
    for row in ROWS:
        assert np.argmax(discriminant.scores(row)) == 0


def _ranked(*pairs: tuple[str, float]) -> list[ranking.Scored]:
    return [ranking.Scored(topic, score, 0.0, 0.9) for topic, score in pairs]


def test_choices_are_reordered_by_the_discriminant_and_nothing_joins_them(monkeypatch):
    ranked = _ranked(("a", 0.5), ("b", 0.45), ("c", 0.1))
    likely = np.array([-10.0, 0.0, -1.0, 0.0])  # "d", its favourite, was not shortlisted
    topic_ids = ["a", "b", "c", "d"]
    monkeypatch.setattr(ranking, "MENU_WEIGHT", 0.03)
    reordered = ranking.for_choices(ranked, likely, topic_ids)
    assert [s.topic for s in reordered] == ["b", "a", "c"]
    monkeypatch.setattr(ranking, "MENU_WEIGHT", 0.0)
    assert [s.topic for s in ranking.for_choices(ranked, likely, topic_ids)] == ["a", "b", "c"]


STORY = (
    "Nhà tôi bị nứt tường do nhà bên cạnh xây, đã sang nói chuyện nhưng họ không nghe. "
    "Tôi muốn gửi đơn lên phường thì gửi thế nào?"
)


def test_a_story_offers_the_procedure_its_phrasings_point_to(shipped_index, monkeypatch):
    # A neighbour's building work cracked the wall: a complaint to the ward (phản ánh, kiến
    # nghị), which the best cosines alone leave out of the choices.
    match = shipped_index.match(STORY)
    assert match.outcome == "choices"
    assert "phan-anh-kien-nghi" in dict(match.candidates)
    monkeypatch.setattr(ranking, "MENU_WEIGHT", 0.0)
    assert "phan-anh-kien-nghi" not in dict(shipped_index.match(STORY).candidates)


def test_the_menu_weight_never_changes_what_is_answered_or_refused(shipped_index, monkeypatch):
    messages = (
        "Tôi mới chuyển đến thuê nhà ở Tây Hồ để đi làm, quê ở Thanh Hóa. Chủ nhà bảo phải "
        "khai báo, tôi làm thế nào?",
        "Bà ngoại tôi 90 tuổi, muốn ra nước ngoài thăm cháu, bà chưa có hộ chiếu bao giờ.",
        "tìm việc làm online ở tây hồ",
        STORY,
    )
    shipped = [shipped_index.match(m) for m in messages]
    monkeypatch.setattr(ranking, "MENU_WEIGHT", 1.0)
    heavier = [shipped_index.match(m) for m in messages]
    assert [(m.outcome, m.topic) for m in heavier] == [(m.outcome, m.topic) for m in shipped]
    assert [m.outcome for m in shipped] == ["answer", "answer", "choices", "choices"]


def test_a_follow_up_stays_on_a_topic_the_reordered_choices_left_out(shipped_index) -> None:
    # The fused ranking had the current topic among its best three; the discriminant's
    # reordering pushed it out of the choices shown. The follow-up still belongs to it.
    query = shipped_index.analyze("tôi cần để đi làm việc ở nước ngoài")
    assert query.names_topic
    shown = (("ho-chieu", 0.5), ("tam-vang", 0.4), ("lien-he", 0.1))
    match = Match("choices", None, shown, 0.5, query, back=1.0)
    assert not _still_on_topic(query, match, "ly-lich-tu-phap")
    plausible = dataclasses.replace(match, plausible=("ho-chieu", "ly-lich-tu-phap", "tam-vang"))
    assert _still_on_topic(query, plausible, "ly-lich-tu-phap")


def _scores(gap: float, odds: float) -> DenseScores:
    topics = np.array([0.90, 0.85])
    likely = np.array([0.0, -5.0])
    return DenseScores(topics, {}, topics, "thue", 0.90 - gap, topics, likely, odds)


@pytest.mark.parametrize(
    "gap, odds, expected",
    [
        (ranking.IN_SCOPE_MARGIN, -100.0, True),  # clearly closer to a topic: odds unread
        (0.01, ranking.SCOPE_ODDS_AT, True),  # a little closer, and much likelier a topic
        (0.01, ranking.SCOPE_ODDS_AT - 1.0, False),
        (-0.01, 1000.0, False),  # a domain is closer by meaning: never in scope by the odds
    ],
)
def test_in_scope_needs_the_margin_or_the_discriminant_odds(gap, odds, expected) -> None:
    assert Index.in_scope(_scores(gap, odds)) is expected


def test_the_odds_of_a_topic_over_a_domain_are_high_in_scope_and_low_outside(shipped_index):
    in_scope = shipped_index.dense.scores("đăng ký tạm trú cho người thuê nhà")
    other_office = shipped_index.dense.scores("quyết toán thuế thu nhập cá nhân ở đâu")
    assert in_scope.scope_odds >= ranking.SCOPE_ODDS_AT > 0 > other_office.scope_odds
