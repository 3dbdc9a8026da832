"""Validators for the identifiers the evaluation corpus plants (standard library only).

Owns the rules that decide whether a value is a real-looking positive: Luhn and issuer ranges for
cards, SSA rules for US SSNs, ISO 13616 mod 97 and per-country lengths for IBANs, the ABA 3-7-1
checksum, HMRC rules for UK NINOs, Luhn and first digit for Canadian SINs, NANP area/exchange rules
and E.164 shapes for phones, ISO 9362 shape for BICs. The generator validates every positive with
these and checks every decoy against them; the scorer does not need them.
"""

import ipaddress
import re

# ---------------------------------------------------------------- cards


def luhn_ok(digits: str) -> bool:
    """True if the digit string passes the Luhn (mod 10) check."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial + digit` pass Luhn."""
    for d in "0123456789":
        if luhn_ok(partial + d):
            return d
    raise AssertionError("unreachable: one of ten digits always completes Luhn")


# (name, prefixes as (low, high) inclusive ranges over the first len(low) digits, lengths)
CARD_ISSUERS = [
    ("visa", [("4", "4")], (13, 16, 19)),
    ("mastercard", [("51", "55"), ("2221", "2720")], (16,)),
    ("amex", [("34", "34"), ("37", "37")], (15,)),
    ("discover", [("6011", "6011"), ("644", "649"), ("65", "65"), ("622126", "622925")], (16, 17, 18, 19)),
    ("jcb", [("3528", "3589")], (16, 17, 18, 19)),
    ("diners", [("300", "305"), ("36", "36"), ("38", "39")], (14, 15, 16, 17, 18, 19)),
    ("unionpay", [("62", "62")], (16, 17, 18, 19)),
    ("maestro", [("5018", "5018"), ("5020", "5020"), ("5038", "5038"), ("5893", "5893"),
                 ("6304", "6304"), ("6759", "6759"), ("6761", "6763")], (12, 13, 14, 15, 16, 17, 18, 19)),
]


def card_issuer(digits: str):
    """The issuer whose IIN range and length fit `digits`, or None (no Luhn check here)."""
    for name, ranges, lengths in CARD_ISSUERS:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            head = digits[: len(low)]
            if len(head) == len(low) and low <= head <= high:
                return name
    return None


def card_ok(digits: str) -> bool:
    """A plausible payment card number: digits only, issuer range and length, Luhn."""
    return digits.isdigit() and card_issuer(digits) is not None and luhn_ok(digits)


# ---------------------------------------------------------------- US SSN

# Numbers the SSA never issued but that circulate (Woolworth wallet card, ads, examples).
SSN_KNOWN_INVALID = {"078051120", "219099999", "123456789", "111111111", "333333333"}


def ssn_ok(digits: str) -> bool:
    """SSA rules: area not 000/666/9xx, group not 00, serial not 0000, not a known-invalid number."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9":
        return False
    if group == "00" or serial == "0000":
        return False
    return digits not in SSN_KNOWN_INVALID


# ---------------------------------------------------------------- IBAN

# Per-country total IBAN length (ISO 13616 registry) for the countries the corpus uses, and a few more.
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15,
    "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
}


def iban_mod97(s: str) -> int:
    """ISO 7064 mod 97-10 of an IBAN (country and check digits moved to the end)."""
    moved = s[4:] + s[:4]
    num = "".join(str(int(c, 36)) for c in moved)
    return int(num) % 97


def iban_ok(value: str) -> bool:
    """Known country, exact length for it, alphanumeric BBAN, mod 97 == 1."""
    s = re.sub(r"\s", "", value).upper()
    if len(s) < 5 or not s.isalnum() or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    if IBAN_LENGTHS.get(s[:2]) != len(s):
        return False
    return iban_mod97(s) == 1


def iban_with_check(country: str, bban: str) -> str:
    """The compact IBAN for `country` and `bban` with correct check digits."""
    rem = iban_mod97(country + "00" + bban)
    return f"{country}{98 - rem:02d}{bban}"


# ---------------------------------------------------------------- ABA routing

ABA_PREFIXES = [(0, 12), (21, 32), (61, 72), (80, 80)]


def aba_ok(digits: str) -> bool:
    """ABA routing transit number: valid Federal Reserve prefix and the 3-7-1 checksum."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    prefix = int(digits[:2])
    if not any(lo <= prefix <= hi for lo, hi in ABA_PREFIXES):
        return False
    d = [int(c) for c in digits]
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
    return total % 10 == 0


def aba_check_digit(eight: str) -> str:
    """The ninth digit completing the 3-7-1 checksum."""
    d = [int(c) for c in eight]
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5])
    return str((10 - total % 10) % 10)


# ---------------------------------------------------------------- UK NINO

NINO_BAD_FIRST = set("DFIQUV")
NINO_BAD_SECOND = set("DFIOQUV")
NINO_BAD_PREFIXES = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
NINO_RE = re.compile(r"^([A-Z]{2})(\d{6})([A-D])$")


def nino_ok(value: str) -> bool:
    """HMRC rules: allowed prefix letters and pairs, six digits, suffix A-D."""
    s = re.sub(r"[\s-]", "", value).upper()
    m = NINO_RE.match(s)
    if not m:
        return False
    prefix = m.group(1)
    if prefix[0] in NINO_BAD_FIRST or prefix[1] in NINO_BAD_SECOND:
        return False
    return prefix not in NINO_BAD_PREFIXES


# ---------------------------------------------------------------- Canadian SIN


def sin_ok(digits: str) -> bool:
    """Canadian SIN: nine digits, Luhn, first digit 1-7 or 9 (0 and 8 are not assigned to people)."""
    return len(digits) == 9 and digits.isdigit() and digits[0] not in "08" and luhn_ok(digits)


# ---------------------------------------------------------------- phones


def nanp_ok(digits: str) -> bool:
    """A NANP number (10 digits, or 11 with a leading 1): NXX area and exchange, no N11, no
    reserved 37X/96X/N9X area codes, no 555 exchange (fiction and directory)."""
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10 or not digits.isdigit():
        return False
    area, exch = digits[:3], digits[3:6]
    if area[0] in "01" or area[1:] == "11" or area[1] == "9" or area[:2] in ("37", "96"):
        return False
    if exch[0] in "01" or exch[1:] == "11" or exch == "555":
        return False
    return True


# Country code -> allowed national significant number lengths (for the countries the corpus uses).
E164_NSN_LENGTHS = {"1": (10,), "44": (10,), "49": (10, 11), "33": (9,), "61": (9,), "353": (9,)}


def e164_ok(value: str) -> bool:
    """An international number: '+', a known country code, a national number of the right length
    with no trunk 0."""
    s = value.strip()
    if not s.startswith("+"):
        return False
    digits = re.sub(r"[\s().-]", "", s[1:])
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        return False
    for cc, lengths in E164_NSN_LENGTHS.items():
        if digits.startswith(cc):
            nsn = digits[len(cc):]
            if nsn[:1] == "0" or len(nsn) not in lengths:
                return False
            return nanp_ok(nsn) if cc == "1" else True
    return False


# ---------------------------------------------------------------- BIC

ISO_COUNTRIES = set(
    "AD AE AF AG AL AM AO AR AT AU AZ BA BB BD BE BF BG BH BI BJ BN BO BR BS BT BW BY BZ CA CD CF "
    "CG CH CI CL CM CN CO CR CU CV CY CZ DE DJ DK DM DO DZ EC EE EG ER ES ET FI FJ FM FR GA GB GD GE "
    "GH GM GN GQ GR GT GW GY HK HN HR HT HU ID IE IL IN IQ IR IS IT JM JO JP KE KG KH KI KM KN KP KR "
    "KW KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MG MH MK ML MM MN MR MT MU MV MW MX MY MZ NA "
    "NE NG NI NL NO NP NR NZ OM PA PE PG PH PK PL PT PW PY QA RO RS RU RW SA SB SC SD SE SG SI SK SL "
    "SM SN SO SR SS ST SV SY SZ TD TG TH TJ TL TM TN TO TR TT TV TW TZ UA UG US UY UZ VA VC VE VN VU "
    "WS YE ZA ZM ZW".split()
)
BIC_RE = re.compile(r"^[A-Z]{4}([A-Z]{2})[A-Z0-9]{2}([A-Z0-9]{3})?$")


def bic_ok(value: str) -> bool:
    """ISO 9362 shape: 4-letter institution, ISO country, 2-character location (second not '0', a
    test BIC), optional 3-character branch (starting with X only as XXX, the primary office)."""
    m = BIC_RE.match(value)
    branch = value[8:]
    return (bool(m) and m.group(1) in ISO_COUNTRIES and value[7] != "0"
            and not (branch.startswith("X") and branch != "XXX"))


# ---------------------------------------------------------------- the rest

EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


def email_ok(value: str) -> bool:
    return bool(EMAIL_RE.match(value))


def ip_ok(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def nine_digit_types(digits: str) -> set:
    """Which of the nine-digit identifiers a bare nine-digit string is valid as."""
    out = set()
    if ssn_ok(digits):
        out.add("US_SSN")
    if aba_ok(digits):
        out.add("US_BANK_ROUTING")
    if sin_ok(digits):
        out.add("CA_SIN")
    return out


DIGIT_RUN_RE = re.compile(r"\d(?:[ -]?\d)*")


def strong_numeric_types(text: str) -> set:
    """Checksum identifiers that some digit run of `text` (single spaces or dashes allowed
    between digits) would validate as: CREDIT_CARD for 12-19 digits, the nine-digit types. Used
    to make sure decoys and filler are not accidental positives."""
    out = set()
    for m in DIGIT_RUN_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 12 <= len(digits) <= 19 and card_ok(digits):
            out.add("CREDIT_CARD")
        if len(digits) == 9:
            out |= nine_digit_types(digits)
    return out


def validate(kind: str, value: str) -> bool:
    """True if `value` is a valid positive of identifier `kind` (the scan format's type names)."""
    digits = re.sub(r"\D", "", value)
    if kind == "CREDIT_CARD":
        return card_ok(digits) and re.fullmatch(r"[\d -]+", value) is not None
    if kind == "US_SSN":
        return ssn_ok(digits)
    if kind == "IBAN":
        return iban_ok(value)
    if kind == "SWIFT_BIC":
        return bic_ok(value)
    if kind == "US_BANK_ROUTING":
        return aba_ok(digits)
    if kind == "UK_NINO":
        return nino_ok(value)
    if kind == "CA_SIN":
        return sin_ok(digits)
    if kind == "EMAIL_ADDRESS":
        return email_ok(value)
    if kind == "PHONE_NUMBER":
        return e164_ok(value) if value.startswith("+") else (nanp_ok(digits) or uk_national_ok(digits))
    if kind == "IP_ADDRESS":
        return ip_ok(value)
    if kind == "AWS_ACCESS_KEY":
        return re.fullmatch(r"(AKIA|ASIA)[A-Z2-7]{16}", value) is not None
    if kind == "AWS_SECRET_KEY":
        return re.fullmatch(r"[A-Za-z0-9/+]{40}", value) is not None
    if kind == "PRIVATE_KEY":
        return re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", value) is not None
    if kind == "GITHUB_TOKEN":
        return re.fullmatch(r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}", value) is not None
    if kind == "SLACK_TOKEN":
        return re.fullmatch(r"xox[bpas]-\d{10,13}-\d{10,13}(-\d{10,13})?-[A-Za-z0-9]{24,32}", value) is not None
    if kind == "JWT":
        return re.fullmatch(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", value) is not None
    raise ValueError(f"unknown identifier type {kind}")


def uk_national_ok(digits: str) -> bool:
    """A UK number in national format: trunk 0 then 10 digits, London (020) or mobile (07)."""
    return len(digits) == 11 and (digits.startswith("020") or digits.startswith("07"))
