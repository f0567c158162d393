"""The understanding stages: reading long messages, the semantic signal and its cache, the
decision table of `bot.understanding.index`, FAQ entries, and the lexical fallback."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from types import MappingProxyType

import numpy as np
import pytest
from kbfactory import TOPICS, make_kb

from bot.config import BotConfig
from bot.dialogue.decide import respond
from bot.kb.model import Faq
from bot.understanding import build_index, ranking
from bot.understanding import dense as dense_module
from bot.understanding import index as index_module
from bot.understanding import semantic as semantic_module
from bot.understanding.lexical import LexicalIndex
from bot.understanding.reading import FOCUS_CHARS, MAX_CHARS, AskCues, read
from bot.understanding.semantic import E5Encoder, EmbeddingCache, load_encoder

NOW = dt.datetime(2026, 12, 4, 9, 0)

CUES = AskCues(phrases=(" cho hoi ", " the nao ", " bao lau "), endings=frozenset({"khong"}))

LEXICON = MappingProxyType(
    {
        "reading": MappingProxyType(
            {"ask_phrases": ("cho hỏi", "thế nào", "bao lâu"), "ask_endings": ("không",)}
        ),
        "out_of_scope": MappingProxyType(
            {
                "thue": MappingProxyType(
                    {
                        "name": "thuế",
                        "where": "cơ quan Thuế",
                        "phrasings": (
                            "quyết toán thuế thu nhập cá nhân",
                            "hoàn thuế tncn",
                            "đăng ký mã số thuế cá nhân",
                        ),
                    }
                )
            }
        ),
    }
)

FAQ = Faq(
    id="ket-hon-duoi-18",
    question="Chưa đủ 18 tuổi có đăng ký kết hôn được không?",
    phrasings=(
        "con gái 17 tuổi có được lấy chồng không",
        "chưa đủ tuổi kết hôn có đăng ký được không",
        "nam 19 tuổi đăng ký kết hôn được không",
    ),
    answer="Không. Nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi mới được kết hôn.",
)


def kb_with(**extra):
    """The small test KB, with the FAQ entry on kết hôn and the test lexicon."""
    topics = [dataclasses.replace(t, faqs=(FAQ,)) if t.id == "ket-hon" else t for t in TOPICS]
    kb = make_kb(topics)
    return dataclasses.replace(kb, lexicon=MappingProxyType({**kb.lexicon, **LEXICON}), **extra)


@pytest.fixture(scope="module")
def index():
    return build_index(kb_with(), cache_dir=None)


# --- reading ---------------------------------------------------------------------------------


def test_a_story_is_read_for_its_asking_sentence() -> None:
    text = (
        "Mẹ tôi năm nay 80 tuổi, không có lương hưu. Nhà tôi ở phường Tây Hồ.\n"
        "Cho tôi hỏi mẹ tôi có được trợ cấp hằng tháng không ạ"
    )
    reading = read(text, CUES)
    assert reading.is_long and len(reading.sentences) == 3
    assert reading.asks == ("Cho tôi hỏi mẹ tôi có được trợ cấp hằng tháng không ạ",)


@pytest.mark.parametrize(
    "text, asks",
    [
        ("Con tôi sinh tháng trước. Làm khai sinh mất bao lâu?", 1),
        ("Tôi mới chuyển nhà. Đăng ký tạm trú thế nào. Còn thường trú thì sao?", 2),
        ("Tôi mới chuyển nhà sang phường khác", 1),  # no asking sentence: the last one
    ],
)
def test_asking_sentences_are_found_with_or_without_a_question_mark(text, asks) -> None:
    assert len(read(text, CUES).asks) == asks


def test_the_shipped_cues_tell_a_story_from_a_question(shipped_index) -> None:
    assert not shipped_index.read("Nhà tôi chưa bao giờ được cấp sổ đỏ").asking  # "never"
    assert shipped_index.read("Cho e hỏi bao giờ thì có kết quả ạ").asking
    assert shipped_index.read("làm ở phường mình được ko").asking
    assert not shipped_index.read("em đang học đại học năm hai ạ").asking


@pytest.mark.parametrize(
    "text, asking",
    [
        ("em đang học đại học năm hai", False),
        ("Tôi mới chuyển nhà. Nhà tôi ở phường Tây Hồ", False),
        ("Tôi mới chuyển nhà. Làm tạm trú mất bao lâu", True),
        ("con tôi có phải đi cùng không ạ", True),  # the asking word before a closing particle
        ("chủ nhà có phải đi cùng ko vậy", True),
    ],
)
def test_a_message_that_asks_nothing_is_read_as_telling(text, asking) -> None:
    cues = AskCues.from_kb(kb_with())
    cues = AskCues(cues.phrases, cues.endings | {"ko"}, frozenset({"a", "vay"}))
    assert read(text, cues).asking is asking


def test_a_list_of_documents_does_not_cut_the_asking_sentence_from_its_procedure() -> None:
    text = (
        "Bé nhà tôi không có tên cha trong sổ hộ khẩu. "
        "Vậy làm căn cước gồm giấy tờ: Giấy khai sinh; Sổ hộ khẩu thì cần gì nữa không?"
    )
    reading = read(text, CUES)
    assert reading.asks == (
        "Vậy làm căn cước gồm giấy tờ: Giấy khai sinh; Sổ hộ khẩu thì cần gì nữa không?",
    )


def test_a_message_is_read_only_up_to_the_cap_and_the_model_sees_a_bounded_focus() -> None:
    reading = read("Nhà tôi có chuyện dài. " * 300 + "Cho hỏi làm khai sinh thế nào?", CUES)
    assert len(reading.text) == MAX_CHARS
    assert len(reading.focus) <= FOCUS_CHARS


def test_reading_cues_come_from_the_knowledge_base() -> None:
    cues = AskCues.from_kb(kb_with())
    assert cues.asks("cho hoi lam khai sinh") and cues.asks("Đăng ký ở phường được không")
    assert not cues.asks("nhà tôi ở phường Tây Hồ")
    assert not cues.asks("có được không ạ")  # the test lexicon lists no closing particles
    particles = dataclasses.replace(
        kb_with(),
        lexicon=MappingProxyType(
            {**LEXICON, "reading": {**LEXICON["reading"], "closing_particles": ("ạ",)}}
        ),
    )
    assert AskCues.from_kb(particles).asks("có được không ạ")


# --- the semantic signal ---------------------------------------------------------------------


class CountingEncoder:
    """The real encoder, counting the texts it embeds."""

    def __init__(self) -> None:
        self.real = E5Encoder()
        self.name = self.real.name
        self.embedded: list[str] = []

    def embed(self, texts):
        self.embedded += list(texts)
        return self.real.embed(texts)


def test_embeddings_are_cached_on_disk_and_a_reload_embeds_only_what_changed(tmp_path) -> None:
    encoder = CountingEncoder()
    first = EmbeddingCache(tmp_path, encoder).embed(["làm khai sinh", "đăng ký kết hôn"])
    assert len(encoder.embedded) == 2 and (tmp_path / f"{encoder.name}.npz").exists()
    again = EmbeddingCache(tmp_path, encoder)  # a new process reading the same folder
    vectors = again.embed(["làm khai sinh", "đăng ký kết hôn", "đăng ký tạm trú"])
    assert encoder.embedded[2:] == ["đăng ký tạm trú"]
    assert np.allclose(vectors[:2], first, atol=1e-6)


def test_a_message_sent_again_is_not_embedded_again_even_after_a_reload(monkeypatch) -> None:
    monkeypatch.setattr(dense_module, "RECENT", dense_module.RecentVectors(2))
    monkeypatch.setattr(dense_module, "SCORES_KEPT", 1)  # each index's scores of the last text
    encoder = CountingEncoder()
    first = build_index(kb_with(), encoder=encoder, cache_dir=None)
    before = len(encoder.embedded)
    message = "xin hỏi làm giấy khai sinh cho cháu ở đâu"
    answer = first.match(message)
    reloaded = build_index(kb_with(version="edited"), encoder=encoder, cache_dir=None)
    assert reloaded.match(message).topic == answer.topic
    assert encoder.embedded[before:] == [message]  # the second match reused the vector
    reloaded.match("đăng ký kết hôn ở đâu vậy")
    reloaded.match("làm căn cước cho con ở đâu")  # the store holds two: the first is forgotten
    reloaded.match(message)
    assert encoder.embedded[before:].count(message) == 2


def test_a_damaged_cache_file_is_rebuilt(tmp_path) -> None:
    encoder = CountingEncoder()
    (tmp_path / f"{encoder.name}.npz").write_bytes(b"not a cache")
    vectors = EmbeddingCache(tmp_path, encoder).embed(["làm khai sinh"])
    assert vectors.shape == (1, 384) and encoder.embedded == ["làm khai sinh"]


def test_similar_questions_are_closer_than_unrelated_ones() -> None:
    a, b, c = E5Encoder().embed(
        ["làm giấy khai sinh cho con", "đăng ký khai sinh cho bé mới sinh", "giá vàng hôm nay"]
    )
    assert a @ b > a @ c


def test_without_the_model_the_bot_answers_on_words_and_says_why(monkeypatch, caplog) -> None:
    monkeypatch.setattr(semantic_module, "_shared", None)
    monkeypatch.setattr(semantic_module, "_failed", False)
    monkeypatch.setenv("BOT_SEMANTIC", "0")
    with caplog.at_level(logging.WARNING):
        assert load_encoder() is None
        index = build_index(kb_with())
    assert index.dense is None
    assert "semantic signal off" in caplog.text
    match = index.match("đăng ký kết hôn ở đâu")
    assert (match.outcome, match.topic) == ("answer", "ket-hon")


def test_a_knowledge_base_changed_in_memory_is_not_given_the_index_of_its_files() -> None:
    kb = kb_with(version="same-files")
    full = build_index(kb)
    without = dataclasses.replace(
        kb, topics=MappingProxyType({k: t for k, t in kb.topics.items() if k != "ket-hon"})
    )
    held_out = build_index(without)
    assert build_index(kb) is full  # the same content is still built once
    assert held_out is not full and "ket-hon" not in held_out.kb.topics
    assert held_out.match("đăng ký kết hôn ở đâu").topic != "ket-hon"


# --- the decision table (index.py: named, out_of_scope, confident, plausible) ----------------


def test_rule_named_a_clearly_named_topic_is_answered_by_the_naming_rules(index) -> None:
    match = index.match("thủ tục đăng ký kết hôn")
    assert (match.outcome, match.topic, match.via) == ("answer", "ket-hon", "lexical")


def test_rule_out_of_scope_a_question_closer_to_an_excluded_domain_is_refused(index) -> None:
    match = index.match("em muốn quyết toán thuế thu nhập cá nhân năm nay")
    assert match.outcome == "fallback" and match.domain == "thue"


def test_rule_plausible_an_unsure_message_gets_the_closest_topics_as_choices(index) -> None:
    match = index.match("giấy tờ cho con nhỏ")
    assert match.outcome == "choices"
    assert "khai-sinh" in [c for c, _ in match.candidates]


def test_rule_plausible_the_topic_the_words_point_to_is_offered_when_meaning_ranks_it_low(
    index, monkeypatch
) -> None:
    message = "thủ tục cho người mới chuyển đến"
    by_words = LexicalIndex.match_query(index, index.analyze(message)).candidates[0][0]
    fused = index.fused

    def meaning_elsewhere(query, scores):
        ranked = fused(query, scores)
        others = [s for s in ranked if s.topic != by_words]
        # the semantic favourite's fused score is never below 0 (`fuse`): keep it so
        shift = max(0.0, -others[0].score)
        others = [dataclasses.replace(s, score=s.score + shift) for s in others]
        lowest = min(s.score for s in others) - 1.0
        lexical_best = next(s for s in ranked if s.topic == by_words)
        return [*others, dataclasses.replace(lexical_best, score=lowest)]

    monkeypatch.setattr(index, "fused", meaning_elsewhere)
    match = index.match(message)
    assert match.outcome == "choices" and len(match.candidates) == index_module.MAX_CHOICES
    assert by_words in [c for c, _ in match.candidates]


def test_help_topics_close_to_every_procedure_do_not_make_it_unsure() -> None:
    procedure = ranking.Scored("khai-tu", 0.0, 0.6, 0.90)
    online = ranking.Scored("nop-truc-tuyen", -0.03, 0.5, 0.89)
    other = ranking.Scored("ket-hon", -0.4, 0.0, 0.85)
    ranked = [procedure, online, other]
    assert ranking.confidence(ranked) < ranking.P_ANSWER
    assert ranking.confidence(ranked, {"nop-truc-tuyen"}) >= ranking.P_ANSWER
    # a help topic in the lead is as unsure as before: the procedures still count against it
    lead = [online, procedure, other]
    assert ranking.confidence(lead, {"nop-truc-tuyen"}) == ranking.confidence(lead)


# --- FAQ entries ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "con gái tôi 17 tuổi có được đăng ký kết hôn không",
        "dang ky ket hon khi chua du tuoi co duoc khong",
        "Chưa đủ 18 tuổi có đăng ký kết hôn được không?",
    ],
)
def test_a_specific_question_is_answered_by_its_faq_entry(index, text) -> None:
    match = index.match(text)
    assert (match.outcome, match.topic, match.faq) == ("answer", "ket-hon", "ket-hon-duoi-18")


def test_a_general_question_gets_the_topic_not_an_faq_entry(index) -> None:
    match = index.match("đăng ký kết hôn cần giấy tờ gì")
    assert (match.topic, match.faq) == ("ket-hon", None)


def test_an_faq_entry_out_of_force_does_not_answer(index) -> None:
    ended = dataclasses.replace(FAQ, valid_until=dt.date(2026, 1, 1))
    topics = [dataclasses.replace(t, faqs=(ended,)) if t.id == "ket-hon" else t for t in TOPICS]
    kb = make_kb(topics)
    kb = dataclasses.replace(kb, lexicon=MappingProxyType({**kb.lexicon, **LEXICON}))
    later = build_index(kb, cache_dir=None)
    match = later.match("dang ky ket hon khi chua du tuoi co duoc khong", dt.date(2026, 12, 2))
    assert match.faq is None


# --- the word lists are knowledge-base files --------------------------------------------------


def test_a_broken_word_list_is_reported_with_its_file_and_line(tmp_path) -> None:
    import shutil
    from pathlib import Path

    from bot.kb.loader import read_kb

    root = tmp_path / "kb"
    shutil.copytree(Path(__file__).resolve().parent.parent / "knowledge_base", root)
    words = root / "lexicon" / "words.toml"
    words.write_text(words.read_text(encoding="utf-8") + "\nextra = [1, 2]\n", encoding="utf-8")
    sections = root / "lexicon" / "sections.toml"
    sections.write_text(
        sections.read_text(encoding="utf-8") + 'prices = ["giá cả"]\n', encoding="utf-8"
    )
    _, problems = read_kb(root)
    found = {(Path(p.file).name, p.message.split("'")[1]) for p in problems}
    assert ("words.toml", "extra") in found and ("sections.toml", "prices") in found
    line = next(p.line for p in problems if "extra" in p.message)
    assert words.read_text(encoding="utf-8").splitlines()[line - 1].startswith("extra")


def test_a_cue_added_by_staff_changes_what_is_understood() -> None:
    kb = make_kb()
    cues = dict(kb.lexicon["sections"]["cues"])
    cues["fee"] = (*cues["fee"], "hết mấy đồng")
    sections = MappingProxyType({**kb.lexicon["sections"], "cues": MappingProxyType(cues)})
    edited = dataclasses.replace(kb, lexicon=MappingProxyType({**kb.lexicon, "sections": sections}))
    before = build_index(kb, cache_dir=None).match("khai sinh hết mấy đồng")
    after = build_index(edited, cache_dir=None).match("khai sinh hết mấy đồng")
    assert before.section != "fee" and after.section == "fee"


def test_rule_confident_is_withheld_when_the_words_name_several_topics(index) -> None:
    match = index.match("đăng ký khai mất bao lâu")
    assert match.outcome == "choices"
    assert {"khai-sinh", "khai-tu"} <= {c for c, _ in match.candidates}


def test_rule_confident_answers_what_the_naming_rules_leave_open(index) -> None:
    # "thuê phòng" is not one of tạm trú's names: the words alone offer choices.
    message = "đăng ký cho người thuê phòng ở nhà mình"
    assert LexicalIndex.match_query(index, index.analyze(message)).outcome == "choices"
    match = index.match(message)
    assert (match.outcome, match.topic, match.via) == ("answer", "tam-tru", "fused")


def test_rule_confident_is_withheld_when_an_out_of_scope_domain_is_nearly_as_close(
    index, monkeypatch
) -> None:
    # Confident among the topics (tạm trú), but about tax almost as much: offered, not answered;
    # without the margin the same message would be answered with tạm trú.
    message = "thuê trọ thì khai báo thuế thế nào"
    match = index.match(message)
    assert match.outcome == "choices" and match.confidence >= ranking.P_ANSWER
    assert match.near_domain == "thue"  # the reply names the tax office next to the choices
    monkeypatch.setattr(index_module, "IN_SCOPE_MARGIN", -1.0)
    assert index.match(message).topic == "tam-tru"


def test_rule_fused_a_topic_whose_phrasings_agree_outranks_one_close_stray_phrasing(
    monkeypatch,
) -> None:
    # Topic B has one phrasing a little closer than any of A's; A's phrasings, taken together,
    # are much closer (centroid). A share of centroid ranks A first; the best cosine alone
    # (share 0, shipped) ranks B first.
    best, centroid = np.array([0.90, 0.91]), np.array([0.88, 0.80])
    monkeypatch.setattr(ranking, "CENTROID_SHARE", 0.5)
    ranked = ranking.fuse([], ranking.meaning(best, centroid), ["a", "b"])
    assert [s.topic for s in ranked] == ["a", "b"]
    monkeypatch.setattr(ranking, "CENTROID_SHARE", 0.0)
    ranked = ranking.fuse([], ranking.meaning(best, centroid), ["a", "b"])
    assert [s.topic for s in ranked] == ["b", "a"]


def test_a_topic_centroid_is_the_unit_mean_of_its_rows(index) -> None:
    dense = index.dense
    scores = dense.scores("đăng ký tạm trú cho người thuê nhà")
    vector = dense.embed(index.accents.restore("đăng ký tạm trú cho người thuê nhà"))
    number = dense.topic_ids.index("tam-tru")
    mean = dense.vectors[dense.topic_of == number].mean(axis=0)
    expected = float(vector @ (mean / np.linalg.norm(mean)))
    assert scores.centroids[number] == pytest.approx(expected, abs=1e-5)


def test_choices_far_from_every_out_of_scope_domain_name_no_office(index) -> None:
    match = index.match("đăng ký khai mất bao lâu")
    assert match.outcome == "choices" and match.near_domain is None


def test_choices_near_an_out_of_scope_domain_say_where_to_ask_it_too(index) -> None:
    turn = respond("thuê trọ thì khai báo thuế thế nào", {}, index, NOW, BotConfig())
    assert turn.kind == "choices" and "tam-tru" in turn.candidates
    text = turn.replies[-1].text
    assert "thuế" in text and "cơ quan Thuế" in text
    plain = respond("đăng ký khai mất bao lâu", {}, index, NOW, BotConfig())
    assert plain.kind == "choices" and "cơ quan Thuế" not in plain.replies[-1].text
