"""Understanding citizens' messages, in stages with typed values between them.

    reading  (reading.py)   text -> Reading: capped, sentences, the asking ones
    words    (normalize.py, sections.py, smalltalk.py, lexical.py)
                            Reading -> Query: section cues, wards, small talk, content words
    retrieval(lexical.py, dense.py, semantic.py)
                            Query -> lexical ranks (rapidfuzz + IDF coverage) and cosines (e5)
    ranking  (ranking.py)   both -> one fused score per topic and a confidence
    decision (index.py, names.py)
                            -> Match: answer / choices / fallback, topic, FAQ entry, domain

`build_index(kb)` gives the `Index` the dialogue uses.
"""

from bot.understanding.index import Index, build_index
from bot.understanding.query import Match, Query

__all__ = ["Index", "Match", "Query", "build_index"]
