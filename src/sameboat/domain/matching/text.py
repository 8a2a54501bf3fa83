"""Reading the member's words before matching: trim, cut very long text, and spot input too thin to use."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The embedder reads at most 256 word pieces (about 1,000 characters of English); this bound keeps
#: tokenising and keyword search cheap for a pasted essay while keeping far more than the model reads.
MAX_REQUEST_CHARS = 2000

MORE_DETAIL_PROMPT = (
    "Could you tell us a little more about what's going on? A sentence or two about what happened "
    "and how it's affecting you helps us find someone who has been through something similar."
)

UNSUPPORTED_LANGUAGE_PROMPT = (
    "Sameboat can only read English descriptions for now. Please choose one or more topics that fit "
    "what you're going through, so we can find someone who has been through something similar."
)

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _vocabulary(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Common function words of English and of the languages members most often write in besides it. The
# embedding model only understands English, so a text whose function words are clearly another
# language's is matched on tags and filters only. Texts with no function words at all ("Internet dating
# sites") get the benefit of the doubt.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": _vocabulary("""a about after all am an and any are as at be been but by can cant could did do does
        dont for from had has have he her him his how i i'm im if in into is it it's its just me my no not
        now of on or our out she so some than that the their them then there they this to up us was we
        were what when who will with would you your"""),
    "es": _vocabulary("""de la que el en y los se del las un por con una su para es al lo como mas más pero
        sus le ya o porque esta está estoy cuando muy sin sobre también hasta hay donde desde todo nos
        mi mis tu yo él ella ellos"""),
    "fr": _vocabulary("""le la les de des du un une et est en que qui dans pour pas sur au avec ce il elle
        je tu nous vous ils sont mais ou mon ma mes ne se plus par"""),
    "de": _vocabulary("""der die das und ist nicht ich du er sie es wir ihr ein eine zu mit auf für den
        dem von sich auch mein meine aber"""),
    "pt": _vocabulary("""o a os as de do da dos das e é em um uma que não com para por eu meu minha mas se
        ele ela"""),
    "it": _vocabulary("""il lo la i gli le di da in con su per tra e è che non un una mio mia ma sono
        ho"""),
}  # fmt: skip


@dataclass(frozen=True)
class PreparedText:
    text: str
    word_count: int
    truncated: bool
    looks_english: bool

    @property
    def too_short(self) -> bool:
        return self.word_count <= 1


def prepare_request_text(raw: str | None) -> PreparedText:
    """Normalise whitespace, cut to :data:`MAX_REQUEST_CHARS` at a word boundary, count words."""
    text = " ".join((raw or "").split())
    truncated = len(text) > MAX_REQUEST_CHARS
    if truncated:
        cut = text[:MAX_REQUEST_CHARS]
        space = cut.rfind(" ")
        text = cut[:space] if space > MAX_REQUEST_CHARS // 2 else cut
    words = [w.lower() for w in _WORD.findall(text)]
    return PreparedText(text=text, word_count=len(words), truncated=truncated, looks_english=_looks_english(words))


def _looks_english(words: list[str]) -> bool:
    if any(not w.isascii() for w in words) and sum(1 for w in words if w.isascii()) < len(words) / 2:
        return False  # mostly another script (Arabic, Cyrillic, Chinese, ...)
    hits = {language: sum(1 for w in words if w in vocabulary) for language, vocabulary in _FUNCTION_WORDS.items()}
    english = hits.pop("en")
    other = max(hits.values(), default=0)
    # Several words plainly from another language, and more of them than English ones.
    return not (other >= 2 and other > english)
