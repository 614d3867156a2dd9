"""Language codes: the paper's 13 languages and the check every entry point applies.

Codes are ISO 639-1 (two letters), as in the paper's tables and in UD treebank file names.
A researcher may add languages beyond the paper's: any ISO 639-1 code is accepted.
"""

from __future__ import annotations

from melmo.errors import MelmoError

# The paper's 13 languages in the order the paper names them (§1: Arabic, Basque, Chinese, English, ...,
# alphabetical by English name; its Tables 3 and 4 sort them by code). The one list: conf/ reads it
# as ${melmo.paper_languages:} (melmo.utils.labels).
PAPER_LANGUAGES = ("ar", "eu", "zh", "en", "fi", "he", "hi", "it", "ja", "ko", "ru", "sv", "tr")

# ISO 639-3 codes used by the Tatoeba test files (XTREME / LASER naming).
ISO3 = {
    "ar": "ara", "en": "eng", "eu": "eus", "fi": "fin", "he": "heb", "hi": "hin", "it": "ita",
    "ja": "jpn", "ko": "kor", "ru": "rus", "sv": "swe", "tr": "tur", "zh": "cmn",
}

# ISO 639-1 (all 183 two-letter codes).
_ISO639_1 = set("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv
dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig
ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh
mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru
rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug
uk ur uz ve vi vo wa wo xh yi yo za zh zu
""".split())


class UnknownLanguageError(MelmoError, ValueError):
    """A language code that is not ISO 639-1, or one a task has no data for (melmo.tasks.common.context)."""


def check_language(code: object) -> str:
    """Return ``code`` lower-cased, or raise a one-line error if it is not an ISO 639-1 code."""
    if not isinstance(code, str):
        raise UnknownLanguageError(f"language code must be a string, got {code!r}")
    norm = code.strip().lower()
    if norm not in _ISO639_1:
        raise UnknownLanguageError(
            f"unknown language code {code!r}: use ISO 639-1 codes such as {', '.join(PAPER_LANGUAGES)}"
        )
    return norm
