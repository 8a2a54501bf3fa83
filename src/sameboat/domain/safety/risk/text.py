"""Text handling shared by both layers: normalisation, sentences, quotes, windows for long sentences.

Normalising first (lower case, straight quotes, contractions and chat spellings expanded, slang such as
"kms" or "sewerslide" spelled out) lets the phrase list stay short and readable: it only has to know
"i am", never "i'm", "im" and "Im".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sameboat.domain.safety.risk.prefilter import PatternPrefilter

_QUOTE_CHARS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": " - ",
        "\u2014": " - ",
    }
)

# Emoji that mark laughter or hyperbole become a word the phrase layer can see.
_LAUGHTER_EMOJI = re.compile("[\U0001f602\U0001f923\U0001f480\U0001f606\U0001f605\u2620]")
_OTHER_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\ufe0f]")

# (pattern, replacement) applied in order to lower-cased text. Word boundaries are added around patterns.
_REWRITES: tuple[tuple[str, str], ...] = (
    # contractions with an apostrophe
    (r"won't", "will not"),
    (r"can't", "cannot"),
    (r"shan't", "shall not"),
    (r"ain't", "am not"),
    (r"(\w+)n't", r"\1 not"),
    (r"i'm", "i am"),
    (r"(\w+)'re", r"\1 are"),
    (r"(\w+)'ve", r"\1 have"),
    (r"(\w+)'ll", r"\1 will"),
    (r"(i|you|he|she|we|they|it|that|there|who)'d", r"\1 would"),
    (r"(it|he|she|that|there|what|who|where|everything|nothing|life|this)'s", r"\1 is"),
    # the same without an apostrophe, as people type in chat
    (r"im", "i am"),
    (r"ive", "i have"),
    (r"idk", "i do not know"),
    (r"dont", "do not"),
    (r"doesnt", "does not"),
    (r"didnt", "did not"),
    (r"cant", "cannot"),
    (r"wont", "will not"),
    (r"isnt", "is not"),
    (r"wasnt", "was not"),
    (r"arent", "are not"),
    (r"werent", "were not"),
    (r"wouldnt", "would not"),
    (r"couldnt", "could not"),
    (r"shouldnt", "should not"),
    (r"havent", "have not"),
    (r"hasnt", "has not"),
    (r"hadnt", "had not"),
    (r"wanna", "want to"),
    (r"wana", "want to"),
    (r"gonna", "going to"),
    (r"gotta", "got to"),
    (r"tryna", "trying to"),
    (r"kinda", "kind of"),
    (r"sorta", "sort of"),
    (r"u", "you"),
    (r"ur", "your"),
    (r"r", "are"),
    (r"rn", "right now"),
    (r"tn", "tonight"),
    (r"tonite", "tonight"),
    (r"2nite", "tonight"),
    (r"2day", "today"),
    (r"2morrow", "tomorrow"),
    (r"tmrw", "tomorrow"),
    (r"tmr", "tomorrow"),
    (r"bc", "because"),
    (r"cuz", "because"),
    (r"ppl", "people"),
    (r"pls|plz", "please"),
    (r"ded", "dead"),
    (r"gf", "girlfriend"),
    (r"bf", "boyfriend"),
    (r"bff", "best friend"),
    (r"bestie", "best friend"),
    (r"jk", "just kidding"),
    # slang and self-censored spellings of suicide and self-harm
    (r"my self", "myself"),
    (r"me self", "myself"),
    (r"her self", "herself"),
    (r"him self", "himself"),
    (r"them selves", "themselves"),
    (r"them self", "themself"),
    (r"rlly|rly|realy", "really"),
    (r"thinkin", "thinking"),
    (r"feelin", "feeling"),
    (r"tryin", "trying"),
    (r"goin", "going"),
    (r"nothin", "nothing"),
    (r"somethin", "something"),
    (r"bout|abt", "about"),
    (r"s\*+icide|su\*+cide|sui\*+ide|suic\*+de|suici\*+e|s\*+cide|s\*+de|s\*+e|su\*+ide|s\*+ide", "suicide"),
    (r"kms", "kill myself"),
    (r"kmsl", "kill myself lol"),
    (r"kys", "kill yourself"),
    (r"kts", "kill themselves"),
    (r"ctb", "end my life"),
    (r"catch the bus", "end my life"),
    (r"sewer[- ]?slide|sewerslid(e|ing)|sui[- ]?side|suicde|sucide|suiside|suicid|sucicide|suicied", "suicide"),
    (r"s[\W_]*u[\W_]*i[\W_]*c[\W_]*i[\W_]*d[\W_]*e", "suicide"),
    (r"sucidal|suicdal|suisidal|suicial|suicidial|suecidal", "suicidal"),
    (r"sui", "suicide"),
    (r"kermit", "commit"),
    (r"commit (die|dying|sudoku|toaster bath)", "commit suicide"),
    (r"self[- ]?(delete|deleting|deleted|terminate|terminating|exit)", "kill myself"),
    (r"un[- ]?alive (myself|himself|herself|themselves|themself|yourself)", r"kill \1"),
    (r"un[- ]?alive(d)? me", r"kill\1 me"),
    (r"un[- ]?aliving", "dying"),
    (r"un[- ]?alived", "died"),
    (r"un[- ]?alive", "die"),
    (r"off (myself|himself|herself|themselves|yourself)", r"kill \1"),
    (r"offing (myself|himself|herself|themselves|yourself)", r"killing \1"),
    (r"neck (myself|himself|herself|themselves|yourself)", r"hang \1"),
    (r"rope (myself|himself|herself|themselves|yourself)", r"hang \1"),
    (r"toaster bath", "electrocute myself in the bath"),
    (r"od('d|ed|ing)?", "overdose"),
    (
        r"s/h|s\.h\.|sh(?= (urges?|scars?|cuts?|again|relapse|free|clean|wounds?|is|was|helps|helped|makes))",
        "self harm",
    ),
    (r"(relapsed on|relapse on|urges for|urge to|my|did|do|doing|stop|stopped|into) sh", r"\1 self harm"),
    (r"selfharm(ing|ed)?", r"self harm\1"),
    (r"self-harm(ing|ed)?", r"self harm\1"),
)
_COMPILED_REWRITES = tuple((re.compile(rf"(?<!\w)(?:{pattern})(?!\w)"), repl) for pattern, repl in _REWRITES)
_REWRITE_FILTER = PatternPrefilter([pattern for pattern, _ in _COMPILED_REWRITES])

_LAUGHTER_WORDS = re.compile(r"\b(lol+|lmf?ao+|rofl|haha+\w*|hehe+|xd)\b")


def normalise(text: str) -> str:
    """Lower-case, straight quotes, contractions and slang spelled out, single spaces (newlines kept)."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_CHARS)
    text = _LAUGHTER_EMOJI.sub(" lol ", text)
    text = _OTHER_EMOJI.sub(" ", text)
    text = text.lower()
    # Only the rewrites that could apply run (in order); after each change, ask again what could apply now.
    candidates = _REWRITE_FILTER.candidates(text)
    for index, (pattern, replacement) in enumerate(_COMPILED_REWRITES):
        if index in candidates:
            rewritten = pattern.sub(replacement, text)
            if rewritten != text:
                text = rewritten
                candidates = _REWRITE_FILTER.candidates(text)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" *\n[\n ]*", "\n", text)
    return text.strip()


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+|\s*;\s*|(?<=\w)\s+-\s+(?=\w)")


def split_sentences(normalised: str) -> list[str]:
    """Sentences of normalised text; chat messages without punctuation stay one sentence."""
    parts = (p.strip() for p in _SENTENCE_END.split(normalised))
    return [p for p in parts if p and re.search(r"[a-z0-9]", p)]


_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def windows(sentence: str, *, size: int = 32, stride: int = 16) -> list[str]:
    """Overlapping word windows of a long sentence (Reddit posts often have no full stops), so the
    embedding of one alarming phrase is not averaged away by a paragraph of other words."""
    tokens = sentence.split()
    if len(tokens) <= size + stride // 2:
        return [sentence]
    starts = list(range(0, len(tokens) - size + 1, stride))
    if starts[-1] + size < len(tokens):
        starts.append(len(tokens) - size)
    return [" ".join(tokens[s : s + size]) for s in starts]


_QUOTED_SPAN = re.compile(r"(?:^|(?<=[\s(:,]))([\"'])(?=\S)(.+?)(?<=\S)\1(?=[\s.,!?;:)]|$)")


@dataclass(frozen=True)
class Span:
    start: int
    end: int

    def contains(self, start: int, end: int) -> bool:
        return self.start <= start and end <= self.end


def quoted_spans(sentence: str) -> list[Span]:
    """Character spans of text inside quotation marks (after normalisation only quote marks remain)."""
    return [Span(m.start(2), m.end(2)) for m in _QUOTED_SPAN.finditer(sentence)]


def has_laughter(sentence: str) -> bool:
    return bool(_LAUGHTER_WORDS.search(sentence)) or "just kidding" in sentence
