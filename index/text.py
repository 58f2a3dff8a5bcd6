"""Word-level text handling for keyword retrieval: the same terms for a question and a line
(the index writes lines' terms with it; `qa` reads questions' terms with it)."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

# A general English function-word list (articles, pronouns, auxiliaries, prepositions,
# question words); nothing here is about any particular corpus.
_STOPWORD_TEXT = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom whose why will with would you your yours yourself yourselves also say said says
tell told according many much every
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# "down", "off", "out", "up", "over" carry meaning in phrasal verbs ("broke down"); keep them
# searchable but give them no weight as question focus.
PARTICLES = frozenset({"down", "off", "out", "up", "over"})
# Irregular English verb forms, mapped to their base form so "met" matches "meet". A general
# grammar table (not about any corpus): the Snowball stemmer only strips regular suffixes.
_IRREGULAR_TEXT = """
met:meet said:say held:hold took:take taken:take went:go gone:go came:come gave:give
given:give made:make told:tell spoke:speak spoken:speak began:begin begun:begin fought:fight
won:win lost:lose left:leave led:lead brought:bring bought:buy thought:think found:find
kept:keep shot:shoot struck:strike fell:fall fallen:fall ran:run saw:see seen:see sent:send
built:build paid:pay meant:mean knew:know known:know grew:grow grown:grow threw:throw
thrown:throw wrote:write written:write rose:rise risen:rise chose:choose chosen:choose
drove:drive driven:drive broke:break broken:break spent:spend sold:sell stood:stand
understood:understand flew:fly flown:fly drew:draw drawn:draw ate:eat eaten:eat stole:steal
stolen:steal forgot:forget forgotten:forget sought:seek taught:teach caught:catch felt:feel
heard:hear hid:hide hidden:hide laid:lay lay:lie lain:lie lent:lend
slept:sleep swore:swear sworn:swear woke:wake woken:wake wore:wear worn:wear did:do done:do
had:have has:have was:be were:be been:be is:be are:be am:be shown:show sang:sing sung:sing
sank:sink sunk:sink fled:flee dealt:deal dug:dig fed:feed froze:freeze frozen:freeze
hung:hang bore:bear born:bear borne:bear beat:beat beaten:beat bit:bite bitten:bite
blew:blow blown:blow bound:bind bred:breed shook:shake shaken:shake shone:shine
spun:spin split:split spread:spread swept:sweep swam:swim swum:swim tore:tear torn:tear
wept:weep wound:wind withdrew:withdraw withdrawn:withdraw overcame:overcome overtook:overtake
undertook:undertake undertaken:undertake
"""
IRREGULAR = dict(pair.split(":") for pair in _IRREGULAR_TEXT.split())

_WORD = re.compile(r"\w+(?:[.,'’]\w+)*", re.UNICODE)
_stemmer = Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Words with their inner punctuation kept (1,000 / 10.5 / Smith's)."""
    return _WORD.findall(text)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.replace(",", "")
    w = IRREGULAR.get(w, w)
    return str(_stemmer.stemWord(w))


def terms(text: str) -> list[str]:
    """Stemmed content terms: what keyword retrieval indexes and matches."""
    out = []
    for word in words(text):
        low = word.lower()
        if low in STOPWORDS and low not in PARTICLES:
            continue
        out.append(stem(word))
    return out
