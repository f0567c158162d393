"""The dialogue: follow-ups, topic switches, choices, fallback and hand-over, wards, feedback."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from kbfactory import TOPICS, make_kb
from kbfactory import topic as make_topic

from bot.config import BotConfig
from bot.dialogue import REQUIRED_TEXTS
from bot.dialogue.answers import unsupported, welcome
from bot.dialogue.decide import respond
from bot.dialogue.replies import shorten
from bot.understanding import Index, build_index

INDEX = build_index(make_kb())
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
SETTINGS = BotConfig()


def talk(*messages: str, buttons: bool = True, state=None, settings=SETTINGS):
    """Send messages in one conversation; return every turn."""
    state = dict(state or {})
    turns = []
    for message in messages:
        turn = respond(message, state, INDEX, NOW, settings, buttons)
        json.dumps(turn.state)  # the state must stay JSON-serialisable
        state = dict(turn.state)
        turns.append(turn)
    return turns


def payloads(turn) -> list[str]:
    return [b.payload for r in turn.replies for b in r.buttons]


def test_follow_up_without_a_procedure_answers_for_the_last_topic() -> None:
    first, fee, online = talk(
        "làm giấy khai sinh cần gì", "thế lệ phí bao nhiêu?", "nộp online được không"
    )
    assert (first.kind, first.topic, first.section) == ("answer", "khai-sinh", "documents")
    assert (fee.kind, fee.topic, fee.section) == ("answer", "khai-sinh", "fee")
    assert "miễn phí" in fee.replies[-1].text
    assert (online.topic, online.section) == ("khai-sinh", "online")


def test_follow_up_typed_without_accents_also_keeps_the_topic() -> None:
    _, turn = talk("dang ky ket hon o dau", "mat bao lau")
    assert (turn.topic, turn.section) == ("ket-hon", "duration")


def test_a_new_procedure_switches_topic() -> None:
    _, turn = talk("khai sinh cần giấy tờ gì", "còn kết hôn thì mất bao lâu")
    assert (turn.topic, turn.section) == ("ket-hon", "duration")
    assert turn.state["topic"] == "ket-hon"


def test_section_question_without_any_context_asks_which_procedure() -> None:
    (turn,) = talk("lệ phí bao nhiêu?")
    assert turn.kind == "choices"
    assert turn.topic is None
    assert "lệ phí" in turn.replies[-1].text


def test_overview_is_short_and_offers_section_buttons() -> None:
    (turn,) = talk("thủ tục đăng ký khai sinh")
    assert (turn.kind, turn.topic, turn.section) == ("answer", "khai-sinh", None)
    assert "#section:khai-sinh:fee" in payloads(turn)
    assert "Lệ phí" not in turn.replies[-1].text.split("\n")[0]


def test_section_button_payload_answers_that_section() -> None:
    (turn,) = talk("#section:ket-hon:where")
    assert (turn.kind, turn.topic, turn.section) == ("answer", "ket-hon", "where")


def test_close_topics_are_offered_as_buttons_and_a_tap_answers() -> None:
    offer, answer = talk("đăng ký khai", "#topic:khai-sinh")
    assert offer.kind == "choices"
    assert offer.topic is None
    assert {"#topic:khai-sinh", "#topic:khai-tu"} <= set(payloads(offer))
    assert "thủ tục nào" in offer.replies[-1].text
    assert (answer.kind, answer.topic) == ("answer", "khai-sinh")


def test_choices_keep_the_section_asked() -> None:
    (turn,) = talk("đăng ký khai mất bao lâu")
    assert turn.kind == "choices"
    assert "#section:khai-tu:duration" in payloads(turn)


def test_without_buttons_choices_are_numbered_and_a_number_selects() -> None:
    offer, answer = talk("đăng ký khai", "2", buttons=False)
    text = offer.replies[-1].text
    assert offer.replies[-1].buttons == ()
    assert "1. " in text and "2. " in text
    second = offer.state["pending"][1].removeprefix("#topic:")
    assert (answer.kind, answer.topic) == ("answer", second)
    assert "pending" not in answer.state or answer.state["pending"] != offer.state["pending"]


def test_a_number_without_pending_choices_is_not_a_choice() -> None:
    (turn,) = talk("2", buttons=False)
    assert turn.kind == "fallback"
    assert turn.candidates == ()


def test_fallback_apologises_shows_menu_and_hotline_and_marks_unanswered() -> None:
    (turn,) = talk("giá vàng hôm nay")
    assert turn.kind == "fallback"
    assert turn.unanswered and not turn.handover
    assert "024.1022" in turn.replies[-1].text
    assert "đăng ký khai sinh" in payloads(turn)


def test_second_fallback_in_a_row_hands_over() -> None:
    first, second, third = talk("giá vàng hôm nay", "thời tiết ngày mai", "tỉ số bóng đá")
    assert first.kind == "fallback" and not first.handover
    assert second.kind == "handover" and second.handover and second.unanswered
    assert "cán bộ" in second.replies[-1].text
    assert third.kind == "fallback" and not third.handover


def test_an_answer_between_fallbacks_resets_the_count() -> None:
    turns = talk("giá vàng hôm nay", "khai sinh ở đâu", "thời tiết ngày mai")
    assert [t.kind for t in turns] == ["fallback", "answer", "fallback"]


def test_handover_threshold_comes_from_settings() -> None:
    (turn,) = talk("giá vàng hôm nay", settings=BotConfig(fallbacks_before_handover=1))
    assert turn.handover


@pytest.mark.parametrize(
    "message", ["cho tôi gặp cán bộ", "muốn nói chuyện với người thật", "gap nhan vien ho tro"]
)
def test_asking_for_a_person_hands_over_at_once(message: str) -> None:
    (turn,) = talk(message)
    assert turn.kind == "handover" and turn.handover
    assert not turn.unanswered


def test_old_ward_is_remembered_explained_and_used_for_where() -> None:
    ward, where = talk("tôi ở phường Bưởi", "làm khai sinh ở đâu")
    assert ward.state["old_ward"] == "buoi"
    assert ward.state["ward"] == "tay-ho"
    assert "1/7/2025" in ward.replies[0].text
    assert (where.topic, where.section) == ("khai-sinh", "where")
    assert "657 Lạc Long Quân" in where.replies[-1].text


def test_new_ward_gives_its_office_when_the_topic_has_no_ward_text() -> None:
    _, where = talk("mình ở phường Hồng Hà", "kết hôn nộp ở đâu")
    assert where.state["ward"] == "hong-ha"
    assert "30 phố Tứ Liên" in where.replies[-1].text


def test_old_ward_split_between_new_wards_does_not_guess() -> None:
    (turn,) = talk("nhà tôi ở Nhật Tân")
    assert turn.state["old_ward"] == "nhat-tan"
    assert "ward" not in turn.state
    text = " ".join(r.text for r in turn.replies)
    assert "Hồng Hà" in text and "1/7/2025" in text


def test_ward_named_with_a_question_is_kept_and_the_question_answered() -> None:
    (turn,) = talk("ở phường Tây Hồ làm tạm trú ở đâu")
    assert (turn.topic, turn.section, turn.state["ward"]) == ("tam-tru", "where", "tay-ho")


def test_section_answer_offers_rating_buttons_and_a_tap_is_a_rating() -> None:
    answer, rating = talk("khai sinh mất bao lâu", "#rate:khai-sinh:0")
    assert "#rate:khai-sinh:1" in payloads(answer)
    assert "#rate:khai-sinh:0" in payloads(answer)
    assert rating.kind == "feedback"
    assert rating.rating == ("khai-sinh", False)
    assert rating.state["topic"] == "khai-sinh"


def test_helpful_rating_is_recorded_as_helpful() -> None:
    (turn,) = talk("#rate:ket-hon:1")
    assert turn.rating == ("ket-hon", True)


@pytest.mark.parametrize(
    "text",
    ["#rate:khong-co:1", "#topic:khai-sinh thì sao", "cho hỏi #topic:khai-sinh", "#section:x:fee"],
)
def test_text_that_is_not_a_valid_payload_is_treated_as_a_message(text: str) -> None:
    (turn,) = talk(text)
    assert turn.rating is None
    assert turn.kind != "feedback"


@pytest.mark.parametrize(
    ("message", "needle"),
    [
        ("xin chào", "Xin chào"),
        ("chao ad", "Xin chào"),
        ("cảm ơn nhiều ạ", "Cảm ơn"),
        ("bạn là ai", "trợ lý tự động"),
        ("👍👍", "đã nhận được"),
        ("asdfghjkl qwrt", "chưa đọc được"),
    ],
)
def test_small_talk_gets_a_short_reply_and_the_menu_never_a_procedure(
    message: str, needle: str
) -> None:
    (turn,) = talk(message)
    assert turn.kind == "smalltalk"
    assert turn.topic is None
    assert needle in turn.replies[-1].text
    assert payloads(turn)


def test_greeting_with_a_question_answers_the_question() -> None:
    (turn,) = talk("chào bạn, cho mình hỏi làm khai sinh ở đâu")
    assert (turn.kind, turn.topic, turn.section) == ("answer", "khai-sinh", "where")


def test_respond_does_not_change_the_state_it_is_given() -> None:
    state = {"topic": "khai-sinh", "fallbacks": 1}
    respond("giá vàng hôm nay", state, INDEX, NOW, SETTINGS)
    assert state == {"topic": "khai-sinh", "fallbacks": 1}


def test_welcome_and_unsupported_show_the_menu() -> None:
    assert welcome(INDEX, SETTINGS).kind == "welcome"
    turn = unsupported("image", INDEX, SETTINGS, state={"topic": "khai-sinh"})
    assert turn.kind == "unsupported"
    assert turn.state["topic"] == "khai-sinh"
    assert payloads(turn)
    numbered = welcome(INDEX, SETTINGS, buttons=False)
    assert "1. " in numbered.replies[-1].text and numbered.state["pending"]


def test_every_text_the_dialogue_uses_is_in_the_shipped_knowledge_base(
    shipped_index: Index,
) -> None:
    kb = shipped_index.kb
    assert [key for key in REQUIRED_TEXTS if key not in kb.texts] == []


def test_button_titles_fit_zalo() -> None:
    for turn in talk("thủ tục đăng ký khai sinh", "khai sinh mất bao lâu", "đăng ký khai"):
        assert all(len(b.title) <= 35 for r in turn.replies for b in r.buttons)
        assert all(len(r.buttons) <= 5 for r in turn.replies)


def test_ward_office_is_not_suggested_for_a_procedure_of_another_body() -> None:
    _, where = talk("mình ở phường Hồng Hà", "đăng ký tạm trú ở đâu")
    assert (where.topic, where.section) == ("tam-tru", "where")
    assert "30 phố Tứ Liên" not in where.replies[-1].text


def test_only_procedure_neutral_words_show_the_menu_and_never_guess() -> None:
    (turn,) = talk("đăng ký thủ tục")
    assert (turn.kind, turn.topic) == ("choices", None)
    assert "đăng ký khai sinh" in payloads(turn)


def test_asking_how_in_a_conversation_gives_the_steps_of_the_last_topic() -> None:
    _, turn = talk("kết hôn mất bao lâu", "thủ tục thế nào")
    assert (turn.kind, turn.topic, turn.section) == ("answer", "ket-hon", "steps")
    assert "\n1. " in turn.replies[-1].text and "\n2. " in turn.replies[-1].text


def test_only_procedure_neutral_words_in_a_conversation_give_the_last_overview() -> None:
    _, turn = talk("kết hôn mất bao lâu", "còn thủ tục")
    assert (turn.kind, turn.topic, turn.section) == ("answer", "ket-hon", None)


# Generalisation classes, with utterances written for these tests (with and without accents).


@pytest.mark.parametrize(
    ("follow_up", "section"),
    [
        ("the nop o dau", "where"),
        ("thế nộp ở đâu", "where"),
        ("the con lam o dau", "where"),
        ("thế còn làm ở đâu ạ", "where"),
        ("vay nop o cho nao", "where"),
        ("the het bao nhieu tien", "fee"),
        ("the nop online duoc ko", "online"),
        ("the thi mang theo nhung gi", "documents"),
    ],
)
def test_follow_up_of_filler_and_section_cue_keeps_the_topic(follow_up: str, section: str) -> None:
    _, turn = talk("dang ky ket hon mat bao lau", follow_up)
    assert (turn.kind, turn.topic, turn.section) == ("answer", "ket-hon", section)


@pytest.mark.parametrize("message", ["the can cuoc lam o dau", "thẻ căn cước làm ở đâu"])
def test_plain_the_before_a_procedure_still_reads_as_the_card(message: str) -> None:
    _, turn = talk("dang ky ket hon mat bao lau", message)
    assert (turn.kind, turn.topic, turn.section) == ("answer", "can-cuoc", "where")


@pytest.mark.parametrize("message", ["tôi ở phường Bưởi", "toi o phuong buoi", "nhà mình ở Bưởi"])
def test_naming_an_old_ward_in_a_conversation_is_one_short_message(message: str) -> None:
    first, turn = talk("khai sinh nộp ở đâu", message)
    (reply,) = turn.replies
    assert "1/7/2025" in reply.text and "Tây Hồ" in reply.text
    assert "657 Lạc Long Quân" in reply.text  # the ward-specific where of khai sinh
    assert first.replies[-1].text not in reply.text
    assert len(reply.text) < 400
    assert (turn.topic, turn.section, turn.state["ward"]) == ("khai-sinh", "where", "tay-ho")


@pytest.mark.parametrize("message", ["mình ở phường Hồng Hà", "minh o phuong hong ha"])
def test_naming_a_new_ward_gives_its_office_for_a_procedure_filed_by_ward(message: str) -> None:
    _, turn = talk("kết hôn cần giấy tờ gì", message)
    (reply,) = turn.replies
    assert "1/7/2025" not in reply.text
    assert "30 phố Tứ Liên" in reply.text
    assert turn.state["ward"] == "hong-ha"


@pytest.mark.parametrize("message", ["tôi ở phường Bưởi", "toi o phuong buoi"])
def test_naming_a_ward_for_a_procedure_filed_elsewhere_gives_no_ward_office(message: str) -> None:
    _, turn = talk("đăng ký tạm trú ở đâu", message)
    (reply,) = turn.replies
    assert "1/7/2025" in reply.text
    assert "657 Lạc Long Quân" not in reply.text
    assert turn.state["ward"] == "tay-ho"


@pytest.mark.parametrize("message", ["tôi ở phường Bưởi", "nhà em ở Nhật Tân", "minh o hong ha"])
def test_naming_a_ward_after_another_section_gives_where_a_procedure_is_filed(message) -> None:
    first, turn = talk("đăng ký tạm trú cần giấy tờ gì", message)
    (reply,) = turn.replies
    assert (turn.kind, turn.topic, turn.section) == ("answer", "tam-tru", "where")
    assert "Nộp đăng ký tạm trú tại UBND phường." in reply.text
    assert "657 Lạc Long Quân" not in reply.text and "30 phố Tứ Liên" not in reply.text
    # the procedure is not filed by ward: the citizen is not asked for a new ward
    assert "cho trợ lý biết phường mới" not in reply.text
    assert first.replies[-1].text not in reply.text


def test_a_split_old_ward_is_asked_about_for_a_procedure_filed_by_ward() -> None:
    _, turn = talk("kết hôn cần giấy tờ gì", "nhà em ở Nhật Tân")
    (reply,) = turn.replies
    assert "cho trợ lý biết phường mới" in reply.text
    assert (turn.topic, turn.section) == ("ket-hon", "where")


def test_a_ward_already_explained_is_not_explained_again() -> None:
    _, _, turn = talk("khai sinh ở đâu", "tôi ở phường Bưởi", "toi o p buoi")
    assert "1/7/2025" not in " ".join(r.text for r in turn.replies)


@pytest.mark.parametrize(
    ("title", "short"),
    [
        ("Cấp Giấy xác nhận tình trạng hôn nhân", "Cấp Giấy xác nhận tình trạng hôn…"),
        ("Đăng ký biến động đất đai (chuyển nhượng, tặng cho)", "Đăng ký biến động đất đai…"),
        ("Đăng ký khai sinh", "Đăng ký khai sinh"),
        ("Chứngthựcbảnsaotừbảnchínhgiấytờvănbản", "Chứngthựcbảnsaotừbảnchínhgiấytờvăn…"),
    ],
)
def test_long_button_titles_are_cut_at_a_word_boundary(title: str, short: str) -> None:
    assert shorten(title) == short
    assert len(shorten(title)) <= 35


@pytest.mark.parametrize(
    ("short_title", "shown"),
    [("Khai tử", "Khai tử"), ("", "Đăng ký khai tử cho người mất tại…")],
)
def test_choice_buttons_name_a_long_topic_by_its_short_title_or_whole_words(
    short_title: str, shown: str
) -> None:
    topics = [
        make_topic(
            t.id,
            "Đăng ký khai tử cho người mất tại nhà hoặc bệnh viện",
            list(t.questions),
            short_title=short_title,
        )
        if t.id == "khai-tu"
        else t
        for t in TOPICS
    ]
    index = build_index(make_kb(topics))
    turn = respond("khai sinh hay khai tử", {}, index, NOW, SETTINGS)
    assert turn.kind == "choices"
    titles = {b.payload: b.title for r in turn.replies for b in r.buttons}
    assert titles["#topic:khai-tu"] == shown


def test_a_follow_up_sharing_only_a_common_word_with_other_topics_keeps_the_topic(
    shipped_index: Index,
) -> None:
    index = shipped_index
    state: dict = {}
    for message in ("dk ket hon can gi", "the neu di cong tac thi nop o dau"):
        turn = respond(message, state, index, NOW, SETTINGS)
        state = dict(turn.state)
    assert (turn.kind, turn.topic, turn.section) == ("answer", "ket-hon", "where")


@pytest.mark.parametrize(
    ("follow_up", "section"),
    [
        ("có cần giấy khai sinh không", "documents"),
        ("co can giay khai sinh khong", "documents"),
        ("thế có phải mang sổ hộ khẩu nữa không", "documents"),
        ("hôm nay có lấy được không", "duration"),
        ("có cần căn cước không", None),  # the document is the topic itself
    ],
)
def test_a_follow_up_about_a_document_or_the_same_day_stays_on_the_topic(
    follow_up: str, section: str | None, shipped_index: Index
) -> None:
    index = shipped_index
    first = respond("làm căn cước cho con", {}, index, NOW, SETTINGS)
    turn = respond(follow_up, dict(first.state), index, NOW, SETTINGS)
    assert (turn.kind, turn.topic, turn.section) == ("answer", "can-cuoc", section)
