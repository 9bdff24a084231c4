"""Reference data of the generated population: names per region, mail domains, regions with their currency and
time zones, the hours people are active, the product catalogue's categories, and the phone numbering plans
(fictional ranges first, see the package docstring).  Plain constants and pure functions, no randomness of its own
(the callers pass their ``random.Random``)."""

from __future__ import annotations

import math
import random

# --------------------------------------------------------------------------- reference data

_FIRST = {
    "US": "james mary john patricia robert jennifer michael linda david elizabeth william barbara "
          "richard susan joseph jessica thomas sarah chris karen daniel nancy matthew lisa "
          "anthony betty mark sandra kevin ashley brian emily jason megan tyler olivia".split(),
    "CA": "liam olivia noah emma lucas charlotte ethan amelia logan ava benjamin chloe "
          "jacob sophie owen mia samuel zoe nathan claire".split(),
    "GB": "oliver amelia george isla harry ava jack emily jacob sophie charlie grace thomas "
          "lily oscar freya william ella james poppy alfie evie henry chloe".split(),
    "DE": "lukas anna leon lea finn lena jonas hannah paul mia felix laura maximilian sarah "
          "jan julia tim lisa niklas katharina moritz johanna".split(),
    "FR": "lucas emma hugo jade louis louise gabriel alice arthur chloe jules lea adam manon "
          "raphael camille theo ines nathan sarah antoine juliette".split(),
    "ES": "hugo lucia martin sofia pablo maria alejandro paula daniel valeria alvaro carmen "
          "javier elena diego laura".split(),
    "IT": "leonardo sofia francesco giulia alessandro aurora lorenzo alice mattia ginevra "
          "andrea emma gabriele giorgia matteo chiara".split(),
    "NL": "daan emma sem julia lucas mila levi tess finn sophie milan zoe jesse sara "
          "bram anna".split(),
    "AU": "oliver charlotte noah amelia jack isla william olivia leo mia henry ava lucas grace "
          "thomas chloe".split(),
    "JP": "haruto yui sota hina yuto sakura riku aoi hinata mei kaito yuna ren akari "
          "takumi miyu".split(),
    "IN": "aarav ananya vihaan diya arjun isha sai saanvi reyansh aadhya krishna myra "
          "ishaan kavya rohan priya".split(),
}
_LAST = {
    "US": "smith johnson williams brown jones garcia miller davis rodriguez martinez wilson "
          "anderson taylor thomas moore jackson martin lee thompson white harris clark "
          "lewis walker hall allen young king wright scott".split(),
    "CA": "tremblay gagnon roy cote bouchard gauthier morin lavoie fortin smith brown wilson "
          "macdonald campbell stewart".split(),
    "GB": "smith jones williams taylor davies brown evans wilson thomas johnson roberts "
          "robinson thompson wright walker white edwards hughes green hall".split(),
    "DE": "mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann "
          "schaefer koch bauer richter klein wolf schroeder neumann".split(),
    "FR": "martin bernard dubois thomas robert richard petit durand leroy moreau simon "
          "laurent lefebvre michel garcia david bertrand roux".split(),
    "ES": "garcia rodriguez gonzalez fernandez lopez martinez sanchez perez gomez martin "
          "jimenez ruiz hernandez diaz".split(),
    "IT": "rossi russo ferrari esposito bianchi romano colombo ricci marino greco bruno "
          "gallo conti deluca".split(),
    "NL": "dejong jansen devries vandenberg vandijk bakker janssen visser smit meijer "
          "deboer mulder".split(),
    "AU": "smith jones williams brown wilson taylor johnson white martin anderson thompson "
          "nguyen thomas walker".split(),
    "JP": "sato suzuki takahashi tanaka watanabe ito yamamoto nakamura kobayashi kato "
          "yoshida yamada".split(),
    "IN": "sharma verma gupta singh kumar patel reddy iyer nair mehta joshi rao".split(),
}

_MAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com",
                 "inbox.example.net", "post.example.org")
_WORK_DOMAINS = ("corp.example.com", "work.example.net", "company.example.org")

# region -> (weight, currency, fx vs USD, [(timezone, weight, phone scheme)])
_US_AREAS = {
    "America/New_York": (212, 646, 617, 305, 404, 215, 202),
    "America/Chicago": (312, 773, 214, 512, 612, 713),
    "America/Denver": (303, 720, 801),
    "America/Phoenix": (602, 480),
    "America/Los_Angeles": (415, 213, 206, 503, 702, 310),
    "America/Toronto": (416, 647),
    "America/Vancouver": (604, 778),
}
_REGIONS: dict[str, tuple[float, str, float, tuple[tuple[str, float], ...]]] = {
    "US": (0.40, "USD", 1.0, (("America/New_York", 0.45), ("America/Chicago", 0.25),
                              ("America/Denver", 0.08), ("America/Phoenix", 0.04),
                              ("America/Los_Angeles", 0.18))),
    "GB": (0.12, "GBP", 0.8, (("Europe/London", 1.0),)),
    "DE": (0.10, "EUR", 0.92, (("Europe/Berlin", 1.0),)),
    "FR": (0.08, "EUR", 0.92, (("Europe/Paris", 1.0),)),
    "CA": (0.06, "CAD", 1.35, (("America/Toronto", 0.6), ("America/Vancouver", 0.4))),
    "AU": (0.05, "AUD", 1.5, (("Australia/Sydney", 0.7), ("Australia/Perth", 0.3))),
    "ES": (0.04, "EUR", 0.92, (("Europe/Madrid", 1.0),)),
    "IT": (0.04, "EUR", 0.92, (("Europe/Rome", 1.0),)),
    "NL": (0.04, "EUR", 0.92, (("Europe/Amsterdam", 1.0),)),
    "IN": (0.04, "INR", 83.0, (("Asia/Kolkata", 1.0),)),
    "JP": (0.03, "JPY", 150.0, (("Asia/Tokyo", 1.0),)),
}
_REGION_CODES = tuple(_REGIONS)
_REGION_CUM = tuple(_acc for _acc in
                    [sum(_REGIONS[c][0] for c in _REGION_CODES[: i + 1]) for i in range(len(_REGION_CODES))])
_COUNTRY_CODE = {"US": "1", "CA": "1", "GB": "44", "DE": "49", "FR": "33", "AU": "61",
                 "ES": "34", "IT": "39", "NL": "31", "IN": "91", "JP": "81"}
_TRUNK_ZERO = {"GB", "DE", "FR", "AU", "NL", "JP"}  # "+44 (0)20 ..." is a common written form

# Unusual UTC offsets used for a share of ISO timestamps (same instant, other clock).
_OTHER_OFFSETS = (-36000, -25200, -18000, -14400, -10800, 3600, 7200, 10800, 19800, 28800,
                  32400, 34200, 43200, 20700)

_HOUR_WEIGHTS = (0.6, 0.35, 0.2, 0.12, 0.1, 0.2, 0.7, 1.6, 2.6, 3.0, 3.0, 3.2, 3.6, 3.1, 2.8,
                 2.8, 3.0, 3.5, 4.6, 5.6, 6.0, 5.4, 4.0, 2.0)
_HOUR_CUM = tuple(sum(_HOUR_WEIGHTS[: i + 1]) for i in range(24))

_CATEGORIES = ("shoes", "apparel", "outdoor", "electronics", "home", "beauty", "toys", "sports",
               "books", "garden")
_PAGES = ("/", "/", "/", "/sale", "/new", "/help", "/account", "/blog/how-to-choose",
          "/stores", "/shipping")
_REFERRERS = (None, None, None, "google", "google", "instagram", "newsletter", "bing",
              "facebook", "direct")
_STAGES = ("subscriber", "lead", "marketing_qualified", "sales_qualified", "opportunity",
           "customer", "evangelist")
_EXCH = tuple(e for e in range(201, 1000) if e != 555 and e % 100 != 11)


def _perm(k: int, m: int, add: int = 0) -> int:
    """Bijection of [0, m) (k in range) that looks random."""
    add += (m * 3) // 7  # so that the first numbers do not look sequential
    for mult in (48271, 69621, 16807, 40692):
        if math.gcd(mult, m) == 1:
            return (k * mult + add) % m
    raise AssertionError("no multiplier")  # pragma: no cover


def _phone_groups(region: str, tz: str, k: int) -> tuple[str, ...]:
    """k-th distinct national number of (region, tz), as digit groups."""
    if region in ("US", "CA"):
        areas = _US_AREAS[tz]
        na = len(areas)
        if k < 100 * na:
            return (str(areas[k % na]), "555", "%04d" % (100 + k // na))
        cap = na * len(_EXCH) * 10000
        u = _perm(k - 100 * na, cap, 7)
        v = u // na
        return (str(areas[u % na]), str(_EXCH[v // 10000]), "%04d" % (v % 10000))
    if region == "GB":
        if k < 1000:
            return ("20", "7946", "%04d" % k)
        if k < 2000:
            return ("191", "498", "%04d" % (k - 1000))
        u = _perm(k - 2000, 10 ** 7, 11)
        return ("20", "8%03d" % (u // 10000), "%04d" % (u % 10000))
    if region == "FR":
        if k < 10000:
            return ("1", "99", "00", "%02d" % (k // 100), "%02d" % (k % 100))
        s = "%08d" % (10 ** 7 + _perm(k - 10000, 89 * 10 ** 6, 13))
        return ("1", s[0:2], s[2:4], s[4:6], s[6:8])
    if region == "AU":
        area = "2" if tz == "Australia/Sydney" else "8"
        if k < 10000:
            return (area, "5550", "%04d" % k)
        s = "%07d" % _perm(k - 10000, 10 ** 7, 17)
        return (area, "9" + s[:3], s[3:])
    if region == "DE":
        s = "%08d" % (10 ** 7 + _perm(k, 9 * 10 ** 7, 19))
        return ("30", s[:4], s[4:])
    if region == "ES":
        s = "91%07d" % _perm(k, 10 ** 7, 23)
        return (s[:3], s[3:6], s[6:])
    if region == "IT":
        s = "%08d" % (10 ** 7 + _perm(k, 9 * 10 ** 7, 29))
        return ("06", s[:4], s[4:])
    if region == "NL":
        s = "%07d" % (10 ** 6 + _perm(k, 9 * 10 ** 6, 31))
        return ("20", s[:3], s[3:])
    if region == "JP":
        s = "%08d" % (10 ** 7 + _perm(k, 9 * 10 ** 7, 37))
        return ("3", s[:4], s[4:])
    if region == "IN":
        s = "98%08d" % _perm(k, 10 ** 8, 41)
        return (s[:5], s[5:])
    raise ValueError(region)  # pragma: no cover


def _phone_formats(region: str, groups: tuple[str, ...]) -> list[str]:
    """Written forms of one number. Only US numbers get national (no +CC) forms."""
    cc = _COUNTRY_CODE[region]
    if region == "US":
        a, b, c = groups
        return [f"+1 {a}-{b}-{c}", f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"{a}-{b}-{c}",
                f"+1{a}{b}{c}", f"1-{a}-{b}-{c}", f"+1 ({a}) {b}-{c}", f"{a}{b}{c}"]
    forms = [f"+{cc} " + " ".join(groups), f"+{cc}" + "".join(groups), f"+{cc}-" + "-".join(groups)]
    if region != "IN":
        forms.append(f"+{cc} ({groups[0]}) " + " ".join(groups[1:]))
    if region in _TRUNK_ZERO:
        forms.append(f"+{cc} (0)" + " ".join(groups))
    return forms


def _uuid(rng: random.Random) -> str:
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

