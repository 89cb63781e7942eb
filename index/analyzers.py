"""Language-aware text analysis for the per-language fields of the search index.

Every analyzer starts with the same tokenizer: it finds Unicode words in the original text,
folds each one (NFKC, plus per-language character rules) and turns runs of CJK characters
into overlapping bigrams, while the tokens' offsets keep pointing into the original text so
that Whoosh's highlighter marks the right characters. Languages then differ in their filters
(elision, stop words, stemming).

The analyzers are pickled into the index's table of contents together with the schema, so
the classes below are part of the on-disk format: renaming or moving one makes existing
indexes unreadable (they can always be rebuilt from the database). Their pickled state holds
only plain settings; compiled patterns, tables and stemmers are rebuilt on first use.
"""
from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

import Stemmer
from whoosh.analysis import (STOP_WORDS, Analyzer, CompositeAnalyzer, Filter, LowercaseFilter,
                             StopFilter, Token, Tokenizer)
from whoosh.lang import stopwords_for_language

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "it", "id", "ja", "ar")
GENERIC = "xx"  # field-set suffix and analyzer of every other language

# Longer "words" are base64 blobs, hashes or URLs run together: they would only bloat the
# term dictionary, and nobody types them into a ticket to find a snippet.
MAX_TOKEN_LENGTH = 64

# -- characters ------------------------------------------------------------------------------

# Han, kana and Hangul, after NFKC (so half-width katakana are already full width). Runs of
# these have no spaces between words, so they are indexed as overlapping bigrams.
_CJK_RANGES = (
    "\u1100-\u11ff"  # Hangul jamo
    "\u3005-\u3007"  # 々 〆 〇
    "\u3021-\u3029\u3031-\u3035\u303b"  # Suzhou numerals, kana repeat marks, 〻
    "\u3040-\u30ff"  # hiragana, katakana (incl. ー and the combining voicing marks)
    "\u3130-\u318f"  # Hangul compatibility jamo
    "\u31f0-\u31ff"  # katakana phonetic extensions
    "\u3400-\u4dbf\u4e00-\u9fff"  # CJK ideographs (extension A, unified)
    "\ua960-\ua97f\uac00-\ud7ff"  # Hangul jamo extension A, syllables, extension B
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
# Half-width katakana only become CJK after NFKC, so the cheap whole-text check includes them.
_MAYBE_CJK_RE = re.compile(f"[{_CJK_RANGES}\uff66-\uff9f]")
_CJK_SEGMENT_RE = re.compile(f"([{_CJK_RANGES}]+)|[^{_CJK_RANGES}]+")
_HAS_WORD_CHAR_RE = re.compile(r"[^\W_]")

# Invisible format characters that may sit inside a word (soft hyphen, zero-width (non-)joiner,
# word joiner, bidi marks, BOM). They are part of a word's span and are deleted by folding.
# U+200B ZERO WIDTH SPACE is left out on purpose: it separates words (Thai, Khmer).
_JOINER_CODEPOINTS = (0x00AD, 0x061C, *range(0x200C, 0x2010), *range(0x202A, 0x202F), 0x2060,
                      *range(0x2066, 0x206A), 0xFEFF)

# Characters that stand for an apostrophe in English and Italian text.
_APOSTROPHES = "'\u2019\u02bc\uff07"
_APOSTROPHE_LANGUAGES = frozenset({"en", "it"})

_ARABIC_DIACRITICS = [*range(0x064B, 0x0660), 0x0670]  # tashkeel, superscript alef
_ARABIC_FOLDING = {
    0x0640: None,  # tatweel
    0x0622: "\u0627", 0x0623: "\u0627", 0x0625: "\u0627", 0x0671: "\u0627",  # آ أ إ ٱ → ا
    0x0649: "\u064a",  # ى → ي
    0x0629: "\u0647",  # ة → ه
    **{cp: None for cp in _ARABIC_DIACRITICS},
}


def _char_class(codepoints: list[int]) -> str:
    """A regex character-class body listing ``codepoints`` as ranges."""
    parts = []
    start = prev = None
    for cp in [*codepoints, None]:
        if prev is not None and cp == prev + 1:
            prev = cp
            continue
        if start is not None:
            parts.append(re.escape(chr(start)) if start == prev
                         else f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
        start = prev = cp
    return "".join(parts)


@functools.cache
def _unicode_tables() -> tuple[str, dict[int, str]]:
    """Combining marks (as a character class) and the non-ASCII decimal digits to fold."""
    # Python's \w does not match combining marks, so without them a word with a Hindi vowel
    # sign, a Thai tone mark or an Arabic harakah would be cut in pieces. Built from the
    # interpreter's Unicode database (~30 ms, once) rather than a hand-made list of ranges.
    marks = []
    digits = {}
    for cp in [*range(0x20000), *range(0xE0100, 0xE01F0)]:
        category = unicodedata.category(chr(cp))
        if category[0] == "M":
            marks.append(cp)
        elif category == "Nd" and cp > 0x7F:
            # Arabic-Indic, Devanagari, ... digits: an order number must match however typed.
            digits[cp] = str(unicodedata.digit(chr(cp)))
    return _char_class(marks), digits


@functools.cache
def _rules(lang: str) -> tuple[re.Pattern[str], dict[int, str | None]]:
    """The word pattern and the folding table of one analysis language."""
    marks, digits = _unicode_tables()
    # A word starts with a letter or digit, may continue with marks and joiners, and does not
    # end with an underscore (snake_case stays one word, "__init__" becomes "init").
    joiners = _char_class(list(_JOINER_CODEPOINTS))
    word = rf"[^\W_][\w{marks}{joiners}]*(?<!_)"
    table: dict[int, str | None] = {**digits, **dict.fromkeys(_JOINER_CODEPOINTS)}
    if lang in _APOSTROPHE_LANGUAGES:
        # "l'ordine", "customer's", "don't" stay one token; filters below decide what to keep.
        word = rf"{word}(?:[{_APOSTROPHES}]{word})*"
        table.update({ord(c): "'" for c in _APOSTROPHES})
    if lang == "ar":
        table.update(_ARABIC_FOLDING)
    return re.compile(word), table


@functools.cache
def _ascii_words(lang: str) -> re.Pattern[str]:
    """``_rules(lang)``'s word pattern for ASCII text: the same matches, ~2.5x faster.

    Marks, joiners and the other apostrophes are never ASCII, so on an ASCII text they can't
    match; without those large classes (and with ASCII ``\\w``) the scan is cheaper.
    """
    word = r"[^\W_]\w*(?<!_)"
    if lang in _APOSTROPHE_LANGUAGES:
        word = rf"{word}(?:'{word})*"
    return re.compile(word, re.ASCII)


def _fold(text: str, table: dict[int, str | None]) -> str:
    return unicodedata.normalize("NFKC", text).translate(table)


def _fold_with_offsets(run: str, table: dict[int, str | None],
                       ) -> tuple[str, list[int], list[int]]:
    """Fold ``run`` and give, for each folded character, its start and end in ``run``."""
    folded = _fold(run, table)
    if folded == run:
        return run, list(range(len(run))), list(range(1, len(run) + 1))
    # NFKC changes lengths ("ｶﾞ" → "ガ", "ﬁ" → "fi"; joiners are deleted), so offsets are
    # mapped back rather than kept 1:1: we fold one cluster at a time (a base character with
    # its marks and half-width voicing marks) and give every output character its cluster's
    # span. A bigram then spans its first character's start to its second character's end.
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(run)
    while i < n:
        j = i + 1
        while j < n and _continues_cluster(run[j]):
            j += 1
        for ch in _fold(run[i:j], table):
            chars.append(ch)
            starts.append(i)
            ends.append(j)
        i = j
    return "".join(chars), starts, ends


def _continues_cluster(ch: str) -> bool:
    return (unicodedata.category(ch)[0] == "M"
            or ch in "\uff9e\uff9f"  # half-width (semi-)voiced sound marks
            or "\u1160" <= ch <= "\u11ff")  # Hangul medial vowels and final consonants


def _word_spans(text: str, lang: str) -> Iterator[tuple[str, int, int]]:
    """Yield ``(folded_text, start, end)`` for every token of ``text``; offsets into ``text``."""
    pattern, table = _rules(lang)
    # One C-level scan spares the per-word CJK check for the usual all-Latin ticket.
    may_have_cjk = _MAYBE_CJK_RE.search(text) is not None
    for match in pattern.finditer(text):
        run = match.group()
        if may_have_cjk and _MAYBE_CJK_RE.search(run):
            yield from _cjk_spans(run, match.start(), table)
            continue
        # NFKC and the folding tables leave ASCII alone: skip both for the usual English word.
        folded = run if run.isascii() else _fold(run, table)
        if folded and len(folded) <= MAX_TOKEN_LENGTH:
            yield folded, match.start(), match.end()


def _cjk_spans(run: str, offset: int, table: dict[int, str | None],
               ) -> Iterator[tuple[str, int, int]]:
    """Split a word with CJK characters: CJK runs into bigrams, the rest into whole words."""
    folded, starts, ends = _fold_with_offsets(run, table)
    for segment in _CJK_SEGMENT_RE.finditer(folded):
        a, b = segment.span()
        if segment.group(1) is None:  # Latin letters, digits... between CJK characters
            if _HAS_WORD_CHAR_RE.search(segment.group()) and b - a <= MAX_TOKEN_LENGTH:
                yield segment.group(), offset + starts[a], offset + ends[b - 1]
        elif b - a == 1:
            # A lone character stays a unigram, so a one-kanji word is still searchable.
            yield folded[a], offset + starts[a], offset + ends[a]
        else:
            for i in range(a, b - 1):
                yield folded[i:i + 2], offset + starts[i], offset + ends[i + 1]


# -- Whoosh components -----------------------------------------------------------------------


class FoldingTokenizer(Tokenizer):
    """Unicode words, NFKC-folded, CJK runs as bigrams; offsets point into the original text."""

    def __init__(self, lang: str) -> None:
        self.lang = lang  # selects the word pattern and folding table in _rules()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "",
                 **kwargs) -> Iterator[Token]:
        # Follows Whoosh's tokenizer protocol: one Token object, updated and yielded again.
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if tokenize:
            spans = _word_spans(value, self.lang)
        else:  # Whoosh wants the whole value as one term
            spans = iter([(_fold(value, _rules(self.lang)[1]), 0, len(value))])
        for pos, (text, start, end) in enumerate(spans, start_pos):
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = value[start:end]
            if positions:
                t.pos = pos
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t


class ElisionFilter(Filter):
    """Drops an elided article or preposition: "dell'ordine" → "ordine" (Italian)."""

    # An elided word that is kept, not the word after it: "dov'è" asks where, as "dove" does.
    KEPT = {"dov": "dove"}

    def __init__(self, articles: frozenset[str]) -> None:
        self.articles = articles

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            head, apostrophe, tail = t.text.partition("'")
            if apostrophe and tail and head in self.articles:
                t.text = tail
                if t.chars:
                    # Articles are ASCII letters (or their full-width forms, also one
                    # character each), so the original head has the same length.
                    t.startchar += len(head) + 1
            elif apostrophe and head in self.KEPT:
                t.text = self.KEPT[head]
                if t.chars:
                    t.endchar = t.startchar + len(head)
            yield t


class PossessiveFilter(Filter):
    """Drops the English possessive: "customer's" → "customer", so "it's" meets the stop list."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            if t.text.endswith("'s") and len(t.text) > 2:
                t.text = t.text[:-2]
                if t.chars:
                    t.endchar -= 2
            yield t


class ArabicPrefixFilter(Filter):
    """Strips article/conjunction prefixes and the "-ات" plural before Snowball stems.

    Snowball's Arabic stemmer alone left "والطلب"/"فالطلب" unstemmed, kept ه after an article
    ("الفاتوره" → "فاتوره" but "فاتوره" → "فاتور") and stemmed "طلبات" to "طلبا". Measured on
    10 hand-made word families (order, invoice, shipment, account, ...): 10 extra stems
    without this step, 2 with it (broken plurals like رسائل remain), no false merges.
    """

    is_morph = True
    # Light10's prefixes (و/ف/ب/ك + ال, لل), only when at least three letters remain.
    _prefix = re.compile("^(?:[\u0648\u0641\u0628\u0643]?\u0627\u0644|\u0644\u0644)(?=...)")
    _plural = re.compile("(?<=...)\u0627\u062a$")
    # A ta marbuta written ت before a pronoun: "بطاقتي" (my card) is "بطاقة" + ي; folded to ه as the
    # bare word is, so both stem alike. Three letters before it at least: "بيتي", "وقتي" keep their ت.
    _suffixed = re.compile("(?<=...)\u062a(?:\u064a|\u0643|\u0647|\u0647\u0627|\u0646\u0627|\u0643\u0645|\u0647\u0645)$")

    # The forms of ألغى (to cancel: إلغاء, ألغيت, ألغوا, يلغي, ملغاة), folded (أ/إ → ا). Their
    # hamza was folded into the article's alef, so the prefix step read "الغاء" as ال + غاء, and
    # "ألغوا طلبي" (cancel my order) met no reply that says "إلغاء". One stem for all of them.
    _cancel = re.compile("^[\u0648\u0641]?\u0628?(?:\u0627\u0644\u063a(?:\u0627[\u0621\u0626\u0624]|[\u064a\u0649\u0648])"
                         "|[\u064a\u062a\u0646]\u0644\u063a[\u064a\u0649]|\u0645\u0644\u063a[\u0627\u064a\u0649])")
    CANCEL_STEM = "\u0644\u063a\u064a"  # لغي, the root

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            if not t.stopped:
                t.text = self.strip(t.text)
            yield t

    @classmethod
    def strip(cls, text: str) -> str:
        """The word without its article or conjunction prefix and "-ات" plural."""
        if cls._cancel.match(text):
            return cls.CANCEL_STEM
        return cls._suffixed.sub("\u0647", cls._plural.sub("", cls._prefix.sub("", text)))


class IndonesianStemFilter(Filter):
    """A light Indonesian stemmer: suffixes first, then prefixes with the initial letter restored.

    Snowball's Indonesian stemmer drops the letter a nasal prefix replaced and reads "pe-" in
    "pesanan" (order): "pesanan" → "sanan", "pengiriman" → "irim", "kembali" → "mbali", so a
    ticket's "pesanan" never met a reply's "pesan". Here (after Nazief-Adriani, without its
    dictionary): particles, possessives, then -kan/-an; then di-/ter-/ber-/per- and the
    nasal prefixes meN-/peN- with their replaced letter put back (memesan → pesan, menukar →
    tukar, menyimpan → simpan, mengirim → kirim). A stem keeps at least four letters.
    """

    is_morph = True
    # meng-/peng- before a vowel hides either a k (kirim) or nothing (ubah): these k-roots
    # are the ones support tickets use.
    _K_ROOTS = frozenset("kirim kembali kembalikan kurang kunci klaim konfirmasi kode keluh kemas kecewa "
                         "kabar kartu kosong kotak kupon kurir".split())
    # Words that only look affixed.
    # Words of six letters or more that end in -in of their own (not the spoken suffix).
    _IN_WORDS = frozenset("kemarin mungkin domain protein disiplin jamin dijamin terjamin bensin cermin "
                          "vaksin miskin margin pingin pengin".split())
    _KEEP = frozenset("diskon digital dingin pesan terima tetapi bersih berat berita belanja "
                      "perlu pernah permisi pertama pelan pena beritahu".split())

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            if not t.stopped:
                t.text = self.stem(t.text)
            yield t

    @classmethod
    def stem(cls, word: str) -> str:
        if len(word) < 5 or word in cls._KEEP or not word.isalpha():
            return word
        # The suffix that goes with the prefix: pe-...-an nouns (perbaikan: baik), me-/di-...-kan
        # verbs (memesan is pesan, not pes-an).
        derivational = ("an",) if word.startswith("pe") else ("kan",) if word[:2] in ("me", "di") else ("kan", "an")
        if not word.startswith("pe"):
            # Spoken -in stands for -kan/-i: "tolong batalin" is "batalkan" (cancel), "kirimin" "kirimkan".
            derivational = (*derivational, "in")
        for suffixes in (("lah", "kah", "tah", "pun"), ("nya", "ku", "mu"), derivational):
            for suffix in suffixes:
                if (word.endswith(suffix) and len(word) - len(suffix) >= 4
                        and not (suffix == "in" and (len(word) < 6 or word in cls._IN_WORDS))):
                    word = word[:-len(suffix)]
                    break
        for _ in range(2):
            stripped = cls._prefix(word)
            shortest = 3 if word.startswith(("menge", "penge")) else 4  # mengecek → cek
            if stripped == word or len(stripped) < shortest:
                break
            word = stripped
            if word in cls._KEEP:
                break
        return word

    @classmethod
    def _prefix(cls, w: str) -> str:
        vowels = "aeiou"
        for p in ("di", "ter", "ber", "per"):
            if w.startswith(p) and len(w) > len(p) + 1:
                rest = w[len(p):]
                # "diskon", "dibantu": di- only before a consonant-vowel or a vowel start
                if p == "di" and rest[0] not in vowels and rest[1] not in vowels:
                    return w
                return rest
        if w[:2] not in ("me", "pe"):
            return w
        head, rest = w[:2], w[2:]
        if rest.startswith("nge") and len(rest) <= 6:  # mengecek → cek
            return rest[3:]
        if rest.startswith("ng"):
            tail = rest[2:]
            if tail[:1] in vowels:
                return "k" + tail if "k" + tail in cls._K_ROOTS else tail
            return tail  # menghubungi, mengganti
        if rest.startswith("ny") and rest[2:3] in vowels:
            return "s" + rest[2:]  # menyimpan → simpan
        if rest.startswith("m"):
            tail = rest[1:]
            return "p" + tail if tail[:1] in vowels else tail  # memesan → pesan, membayar → bayar
        if rest.startswith("n"):
            tail = rest[1:]
            return "t" + tail if tail[:1] in vowels else tail  # menukar → tukar, mencari → cari
        if rest[:1] in "lrwy":
            return rest  # melihat, merasa
        return w


_thread_state = threading.local()


def _stem_function(algorithm: str) -> Callable[[str], str]:
    # PyStemmer objects can't be pickled and are not thread-safe (they keep per-call buffers
    # and a cache), so each thread builds its own, on first use, outside the pickled filter.
    stemmers = _thread_state.__dict__.setdefault("stemmers", {})
    stem = stemmers.get(algorithm)
    if stem is None:
        stem = stemmers[algorithm] = Stemmer.Stemmer(algorithm).stemWord
    return stem


class SnowballFilter(Filter):
    """Stems tokens with a PyStemmer (Snowball) algorithm, e.g. ``"english"``."""

    is_morph = True

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        stem = _stem_function(self.algorithm)
        for t in tokens:
            if not t.stopped:
                t.text = stem(t.text)
            yield t


# -- stop words and elisions -------------------------------------------------------------------

# Elided forms that only carry grammar (Lucene's ItalianAnalyzer list, plus a few frequent
# ones: quell', quest', nessun', ...).
ITALIAN_ELISIONS = frozenset((
    "c l all dall dell nell sull coll pell gl agl dagl degl negl sugl un m t s v d "
    "quell quest nessun ciascun buon sant bell"
).split())

# Question words that ask for a place or a time are what a ticket asks ("where is my parcel",
# "kapan sale"; a reply's title says "Where is my order"), so they are not stop words. Words that
# also join clauses stay stopped ("when I add it to the cart", "come", "perché"): kept, "when" and
# "how" cost ABCD dev 0.003 of top-1. nn dev 0.704/0.879 -> 0.709/0.893 (English top-3 0.85 ->
# 0.88, Indonesian 0.89 -> 0.93); ABCD dev top-1 unchanged, top-3 one ticket less (0.772 -> 0.771).
QUESTION_WORDS = {"en": frozenset({"where"}), "it": frozenset({"dove"}),
                  "id": frozenset({"mana", "kapan"}), "ar": frozenset({"أين", "متى"})}

# Written for support tickets: pronouns, prepositions, conjunctions, auxiliaries and
# question words. Negations (tidak, belum, bukan) are kept: "belum diterima" (not yet
# received) means something else than "diterima".
# Snowball's English stop list plus the greetings and fillers every support ticket carries
# ("hi", "please", "thanks", "would like"): on ABCD dev, Whoosh's 60-word list left those in
# and cost our ranking and plain BM25 alike about 0.1 of top-1 (bench/relevance.py).
ENGLISH_STOP_WORDS = frozenset(STOP_WORDS) | frozenset("""
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom
    this that these those am is are was were be been being have has had having do does did
    doing a an the and but if or because as until while of at by for with about against
    between into through during before after above below to from up down in out on off over
    under again further then once here there when where why how all any both each few more
    most other some such no nor not only own same so than too very s t can will just don
    should now d ll m o re ve y ain aren couldn didn doesn hadn hasn haven isn ma mightn
    mustn needn shan shouldn wasn weren won wouldn
    hi hello hey dear please thanks thank ok okay yes yeah would like want need could also
""".split()) - QUESTION_WORDS["en"]

INDONESIAN_STOP_WORDS = frozenset("""
    yang dan di ke dari saya aku kami kita anda kamu dia ia mereka ini itu untuk dengan pada
    dalam adalah ada akan atau juga sudah telah sedang bisa dapat harus oleh karena jika kalau
    agar supaya sehingga tetapi tapi namun seperti bahwa hanya lagi masih lebih sangat saja
    pun apa apakah bagaimana kapan mengapa kenapa siapa mana para sebuah seorang tersebut
    terhadap secara bagi antara maupun serta mohon tolong nya
""".split()) - QUESTION_WORDS["id"]

# Prepositions, pronouns, demonstratives, relatives, conjunctions, auxiliaries. Spelled as
# written; _stop_list() folds them like the text (so "إلى" is stored as "الي").
ARABIC_STOP_WORDS = frozenset("""
    في من على إلى عن مع أن إن أو ثم قد لقد كما حتى منذ بين عند عندما إذا لكن لأن حيث كل بعض
    هذا هذه ذلك تلك هؤلاء هنا هناك الذي التي الذين اللذان اللتان اللواتي
    هو هي هم هن أنا نحن أنت أنتم أنتن
    كان كانت يكون تكون ما ماذا متى أين كيف هل أي غير
    له لها لهم به بها بهم فيه فيها فيهم منه منها منهم عليه عليها عليهم إليه إليها إليهم عنه عنها
    يا
""".split()) - QUESTION_WORDS["ar"]


def _stop_list(lang: str, words: frozenset[str]) -> frozenset[str]:
    """Stop words folded and lowercased exactly like indexed text."""
    table = _rules(lang)[1]
    return frozenset(_fold(w, table).lower() for w in words)


# -- public API -----------------------------------------------------------------------------


def field_language(lang: str) -> str:
    """The field-set suffix of ``lang``: itself if supported ("en-US" → "en"), else "xx"."""
    if not isinstance(lang, str):
        return GENERIC
    # Detectors and browsers hand us "EN", "en-US" or "pt_BR": the primary subtag decides.
    primary = lang.strip().lower().replace("_", "-").partition("-")[0]
    return primary if primary in SUPPORTED_LANGUAGES else GENERIC


def analyzer_for(lang: str) -> Analyzer:
    """The Whoosh analyzer for ``lang``'s fields (the generic one for unsupported languages)."""
    return _fused(field_language(lang))


def _text_step(item: Filter) -> Callable[[str], str | None] | None:
    """One filter of a chain as a function on a token's text (None: the token is dropped)."""
    if isinstance(item, LowercaseFilter):
        return str.lower
    if isinstance(item, PossessiveFilter):
        return lambda text: text[:-2] if text.endswith("'s") and len(text) > 2 else text

    if isinstance(item, ElisionFilter):
        def elide(text: str) -> str:
            head, apostrophe, tail = text.partition("'")
            if apostrophe and tail and head in item.articles:
                return tail
            return item.KEPT[head] if apostrophe and head in item.KEPT else text
        return elide
    if isinstance(item, StopFilter):
        stops, low, high = item.stops, item.min, item.max
        return lambda text: (text if len(text) >= low and (high is None or len(text) <= high)
                             and text not in stops else None)
    if isinstance(item, ArabicPrefixFilter):
        return ArabicPrefixFilter.strip
    if isinstance(item, SnowballFilter):
        return lambda text: _stem_function(item.algorithm)(text)
    if isinstance(item, IndonesianStemFilter):
        return IndonesianStemFilter.stem
    return None  # a filter without a fast form: the whole analyzer keeps to the chain


_UNSEEN = object()
_TERM_CACHE = 200_000  # distinct words remembered per analyzer (~30 MB at most)


class FusedAnalyzer(CompositeAnalyzer):
    """The same chain, run as one loop over plain strings when nobody needs offsets or positions.

    Indexing and query analysis only want each token's text, and Whoosh's filter protocol
    costs a generator per filter per token: fused, a 10k rebuild analyses ~2× faster
    (bench/build.py). Highlighting asks for offsets and takes the chain as written; tests
    (tests/index/test_analyzers.py) hold both paths to the same tokens.
    """

    def __call__(self, value, no_morph=False, **kwargs):
        if (no_morph or kwargs.get("chars") or kwargs.get("positions") or kwargs.get("keeporiginal")
                or not kwargs.get("removestops", True) or not kwargs.get("tokenize", True)
                or None in self._text_steps()):
            return super().__call__(value, no_morph=no_morph, **kwargs)
        return self._fast(value, kwargs.get("mode", ""))

    def _fast(self, value: str, mode: str) -> Iterator[Token]:
        terms = self.__dict__.get("_terms")
        if terms is None:
            terms = self.__dict__["_terms"] = {}
        t = Token(mode=mode)
        t.boost, t.stopped = 1.0, False
        for word in self._words(value):  # inline lookups: this runs for every query too
            term = terms.get(word, _UNSEEN)
            if term is _UNSEEN:
                term = self._term_of(word)
            if term is not None:
                t.text = term
                yield t

    def terms(self, value: str) -> list[str]:
        """``_fast``'s terms as a list, for text without CJK (no Token per word: ~25% faster)."""
        out = []
        for word in self._words(value):  # the ASCII scan for ASCII text
            term = self._term_of(word)
            if term is not None:
                out.append(term)
        return out

    def term_counts(self, value: str) -> dict[str, int]:
        """Each term of ``value`` with how often it occurs, as indexing it would count them.

        The bulk segment writer's input. Each new word is analysed once (and remembered, as
        for queries); the lookups and the counting then run in C, not once per token in Python.
        """
        if None in self._text_steps():
            counts: dict[str, int] = {}
            for t in self(value, mode="index"):
                if not t.stopped:
                    counts[t.text] = counts.get(t.text, 0) + 1
            return counts
        words = self._words(value)
        if not isinstance(words, list):
            words = list(words)
        for word in set(words).difference(self.__dict__.get("_terms", ())):
            self._term_of(word)  # each new word analysed once, then looked up in C below
        try:
            counts = Counter(map(self.__dict__["_terms"].__getitem__, words))
        except KeyError:  # the cache is full: count term by term
            counts = Counter(self._term_of(word) for word in words)
        counts.pop(None, None)  # dropped words (stop words, overlong)
        return counts

    def _words(self, value: str) -> Iterable[str]:
        """The folded words of ``value``, in order, before the filters."""
        lang = self.items[0].lang
        if value.isascii():  # one C-level scan for the usual text
            return _ascii_words(lang).findall(value)
        if _MAYBE_CJK_RE.search(value):
            return (text for text, _, _ in _word_spans(value, lang))
        return _rules(lang)[0].findall(value)

    def _term_of(self, word: str) -> str | None:
        """``_term(word)``, remembered: each distinct word is analysed once per process."""
        terms = self.__dict__.get("_terms")
        if terms is None:
            terms = self.__dict__["_terms"] = {}
        term = terms.get(word, _UNSEEN)
        if term is _UNSEEN:
            term = self._term(word)
            if len(terms) < _TERM_CACHE:
                terms[word] = term
        return term

    def _text_steps(self) -> list:
        steps = self.__dict__.get("_steps")
        if steps is None:  # built on first use: the pickled state stays the plain chain
            steps = self.__dict__["_steps"] = [_text_step(item) for item in self.items[1:]]
        return steps

    def _term(self, word: str) -> str | None:
        """The term one word becomes (None: dropped), exactly as the chain would make it."""
        steps = self._text_steps()
        text = word if word.isascii() else _fold(word, _rules(self.items[0].lang)[1])
        if not text or len(text) > MAX_TOKEN_LENGTH:
            return None
        for step in steps:
            text = step(text)
            if text is None:
                return None
        return text

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_steps", "_terms")}


@functools.cache
def _fused(lang: str) -> FusedAnalyzer:
    return FusedAnalyzer(*_build_analyzer(lang).items)


@functools.cache
def _build_analyzer(lang: str) -> Analyzer:
    # Cached on the field language, not the caller's string, so "fr", "de" and "generic"
    # share one object and arbitrary input can't grow the cache.
    tokenizer = FoldingTokenizer(lang)
    if lang == "en":
        return (tokenizer | LowercaseFilter() | PossessiveFilter()
                | StopFilter(_stop_list(lang, ENGLISH_STOP_WORDS)) | SnowballFilter("english"))
    if lang == "it":
        return (tokenizer | LowercaseFilter() | ElisionFilter(ITALIAN_ELISIONS)
                | StopFilter(_stop_list(lang, stopwords_for_language("it") - QUESTION_WORDS["it"]))
                | SnowballFilter("italian"))
    if lang == "id":
        return (tokenizer | LowercaseFilter()
                | StopFilter(_stop_list(lang, INDONESIAN_STOP_WORDS))
                | IndonesianStemFilter())
    if lang == "ar":
        # Snowball rather than Whoosh's ISRI root stemmer: ISRI conflates more of one word's
        # forms but merges different words onto one root (طالب student = طلب order,
        # مكتب office = كتاب book = كاتب writer, منتج product = نتيجة result: 5 false merges
        # in 13 distinct words) and breaks common article forms ("الشحن" → "لشح", not
        # "شحن"). Snowball is a light stemmer: no false merges; the prefix filter covers
        # the forms it missed. ISRI also keeps state on the instance (not thread-safe).
        return (tokenizer | LowercaseFilter() | StopFilter(_stop_list(lang, ARABIC_STOP_WORDS))
                | ArabicPrefixFilter() | SnowballFilter("arabic"))
    # ja and every other language: folding and CJK bigrams are the whole job. Japanese has no
    # spaces to find words by, and bigrams make "注文" in a ticket meet "ご注文" in a snippet.
    return tokenizer | LowercaseFilter()


def analyze(lang: str, text: str) -> list[str]:
    """The terms of ``text`` in order (with repeats), analysed as the index analyses ``lang``."""
    if not text or not isinstance(text, str):
        return []
    analyzer = analyzer_for(lang)
    if None not in analyzer._text_steps() and not _MAYBE_CJK_RE.search(text):
        return analyzer.terms(text)
    return [t.text for t in analyzer(text, mode="query")]
