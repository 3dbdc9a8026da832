"""Values for the evaluation corpus: planted positives (validated) and hard-negative decoys.

Every positive comes out of `positive(kind)` as the exact text written into the message, already
checked with `validators.validate`; nine-digit identifiers are also made unambiguous (an ABA number
that happens to be a valid SIN is drawn again). Every decoy comes out of `decoy(kind)` checked not
to be a positive of the type it imitates. All randomness comes from the `random.Random` and the
seeded Faker the caller passes in, so a seed gives the same values every time.
"""

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import string
import uuid

import validators as v

START, END = datetime.datetime(2019, 1, 1), datetime.datetime(2026, 1, 1)
B62 = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase
ALNUM_UP = string.ascii_uppercase + string.digits

# Real, assigned NANP area codes (US and Canada).
NANP_AREAS = [
    "201", "202", "206", "212", "213", "214", "216", "224", "303", "305", "312", "313", "323", "347",
    "404", "408", "412", "415", "416", "469", "503", "510", "512", "514", "602", "604", "612", "613",
    "617", "646", "650", "702", "713", "718", "720", "773", "778", "805", "818", "857", "904", "905",
    "917", "919", "949", "972",
]

# Countries and BBAN shapes: 'n' digit, 'a' upper letter, 'c' upper alphanumeric.
IBAN_SHAPES = {
    "GB": "aaaannnnnnnnnnnnnn", "DE": "nnnnnnnnnnnnnnnnnn", "FR": "nnnnnnnnnncccccccccccnn",
    "ES": "nnnnnnnnnnnnnnnnnnnn", "IT": "annnnnnnnnncccccccccccc", "NL": "aaaannnnnnnnnn",
    "BE": "nnnnnnnnnnnn", "CH": "nnnnncccccccccccc", "AT": "nnnnnnnnnnnnnnnn",
    "IE": "aaaannnnnnnnnnnnnn", "PL": "nnnnnnnnnnnnnnnnnnnnnnnn", "SE": "nnnnnnnnnnnnnnnnnnnn",
    "NO": "nnnnnnnnnnn", "PT": "nnnnnnnnnnnnnnnnnnnnn", "DK": "nnnnnnnnnnnnnn", "LU": "nnnccccccccccccc",
}

BIC_COUNTRIES = ["GB", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "US", "CA", "IE", "SE", "JP", "SG", "AU"]

# Eight-letter words whose letters 5-6 are an ISO country code: they have the shape of a BIC.
BIC_SHAPED_WORDS = ["DOCUMENT", "FEEDBACK", "BUSINESS", "CUSTOMER", "HOSPITAL", "TRAINING", "ORIGINAL", "REQUIRED"]


class Values:
    """Draws positives and decoys from one `random.Random` and one seeded Faker."""

    def __init__(self, rng, fake):
        self.rng = rng
        self.fake = fake

    # ------------------------------------------------------------ helpers

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(n))

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def group(self, digits: str, sizes, sep: str) -> str:
        out, i = [], 0
        for size in sizes:
            out.append(digits[i : i + size])
            i += size
        if i < len(digits):
            out.append(digits[i:])
        return sep.join(out)

    def sep(self, none_weight=1) -> str:
        return self.rng.choice([" "] * 3 + ["-"] * 2 + [""] * none_weight)

    # ------------------------------------------------------------ positives

    def positive(self, kind: str, context: bool) -> str:
        """A valid value of identifier `kind`, written as a person would write it. Without
        context, nine-digit numbers keep their separators (bare ones need context to be fair)."""
        make = getattr(self, "_" + kind.lower())
        for _ in range(1000):
            value = make(context)
            if v.validate(kind, value) and self._unambiguous(kind, value):
                return value
        raise AssertionError(f"could not draw a valid {kind}")

    def _unambiguous(self, kind: str, value: str) -> bool:
        digits = "".join(c for c in value if c.isdigit())
        if kind in ("US_SSN", "US_BANK_ROUTING", "CA_SIN"):
            others = v.nine_digit_types(digits) - {kind}
            # An ABA number is written bare and may also fit SSN rules; SSN and SIN are written
            # with separators. Only cross-checksum collisions (Luhn vs 3-7-1) are drawn again.
            others.discard("US_SSN")
            return not others
        return True

    def _credit_card(self, context: bool) -> str:
        issuer = self.rng.choice(["visa"] * 4 + ["mastercard"] * 3 + ["amex", "discover", "jcb", "diners"])
        if issuer == "visa":
            body, n, sizes = "4", 16, (4, 4, 4, 4)
        elif issuer == "mastercard":
            body = self.rng.choice(["51", "52", "53", "54", "55", str(self.rng.randint(2221, 2720))])
            n, sizes = 16, (4, 4, 4, 4)
        elif issuer == "amex":
            body, n, sizes = self.rng.choice(["34", "37"]), 15, (4, 6, 5)
        elif issuer == "discover":
            body, n, sizes = self.rng.choice(["6011", "65", str(self.rng.randint(644, 649))]), 16, (4, 4, 4, 4)
        elif issuer == "jcb":
            body, n, sizes = str(self.rng.randint(3528, 3589)), 16, (4, 4, 4, 4)
        else:
            body, n, sizes = "36", 14, (4, 6, 4)
        partial = body + self.digits(n - 1 - len(body))
        number = partial + v.luhn_check_digit(partial)
        return self.group(number, sizes, self.sep())

    def _us_ssn(self, context: bool) -> str:
        area = self.rng.randint(1, 899)
        while area == 666:
            area = self.rng.randint(1, 899)
        digits = f"{area:03d}{self.rng.randint(1, 99):02d}{self.rng.randint(1, 9999):04d}"
        sep = self.rng.choice(["-"] * 6 + [" "] * 2 + ([""] if context else []))
        return self.group(digits, (3, 2, 4), sep)

    def _iban(self, context: bool) -> str:
        country = self.rng.choice(list(IBAN_SHAPES))
        bban = "".join(
            self.rng.choice(string.digits if c == "n" else UPPER if c == "a" else ALNUM_UP)
            for c in IBAN_SHAPES[country]
        )
        compact = v.iban_with_check(country, bban)
        if self.rng.random() < 0.6:
            return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
        return compact

    def _swift_bic(self, context: bool) -> str:
        bank = self.chars(UPPER, 4)
        loc = self.rng.choice(UPPER + "23456789") + self.rng.choice(UPPER + "123456789")
        branch = self.rng.choice(["", "", "XXX", self.chars(ALNUM_UP, 3)])
        while branch.startswith("X") and branch != "XXX":  # SWIFT: only XXX may start with X
            branch = self.chars(ALNUM_UP, 3)
        return bank + self.rng.choice(BIC_COUNTRIES) + loc + branch

    def _us_bank_routing(self, context: bool) -> str:
        lo, hi = self.rng.choice(v.ABA_PREFIXES)
        eight = f"{self.rng.randint(lo, hi):02d}" + self.digits(6)
        return eight + v.aba_check_digit(eight)

    def _uk_nino(self, context: bool) -> str:
        while True:
            prefix = self.rng.choice(UPPER) + self.rng.choice(UPPER)
            if (prefix[0] not in v.NINO_BAD_FIRST and prefix[1] not in v.NINO_BAD_SECOND
                    and prefix not in v.NINO_BAD_PREFIXES):
                break
        digits = self.digits(6)
        suffix = self.rng.choice("ABCD")
        if self.rng.random() < 0.5:
            return f"{prefix} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
        return f"{prefix}{digits}{suffix}"

    def _ca_sin(self, context: bool) -> str:
        partial = self.rng.choice("1234567" * 3 + "9") + self.digits(7)
        digits = partial + v.luhn_check_digit(partial)
        sep = self.rng.choice([" "] * 3 + ["-"] * 2 + ([""] if context else []))
        return self.group(digits, (3, 3, 3), sep)

    def _email_address(self, context: bool) -> str:
        return self.rng.choice([self.fake.email, self.fake.company_email, self.fake.free_email])()

    def _phone_number(self, context: bool) -> str:
        r = self.rng.random()
        if r < 0.7:
            area = self.rng.choice(NANP_AREAS)
            exch = str(self.rng.randint(2, 9)) + self.digits(2)
            line = self.digits(4)
            fmt = self.rng.choice(["({a}) {e}-{l}", "{a}-{e}-{l}", "{a}.{e}.{l}", "+1 {a} {e} {l}",
                                   "+1-{a}-{e}-{l}", "1-{a}-{e}-{l}", "({a}) {e} {l}"])
            return fmt.format(a=area, e=exch, l=line)
        if r < 0.82:
            international = self.rng.random() < 0.6
            if self.rng.random() < 0.5:  # London: 020 3xxx/7xxx/8xxx xxxx
                nsn = "20" + self.rng.choice("378") + self.digits(7)
                parts = f"{nsn[:2]} {nsn[2:6]} {nsn[6:]}"
            else:  # mobile: 07[4-9]xx xxxxxx
                nsn = "7" + str(self.rng.randint(4, 9)) + self.digits(8)
                parts = f"{nsn[:4]} {nsn[4:]}"
            return f"+44 {parts}" if international else f"0{parts}"
        if r < 0.9:
            return f"+49 30 {self.digits(4)} {self.digits(4)}"
        if r < 0.96:
            d = str(self.rng.choice([1, 6])) + self.digits(8)
            return f"+33 {d[0]} {d[1:3]} {d[3:5]} {d[5:7]} {d[7:]}"
        return f"+61 2 {self.rng.randint(8, 9)}{self.digits(3)} {self.digits(4)}"

    def _ip_address(self, context: bool) -> str:
        r = self.rng.random()
        if r < 0.65:
            return self.fake.ipv4_public()
        if r < 0.85:
            return self.fake.ipv4_private()
        return self.fake.ipv6()

    def _aws_access_key(self, context: bool) -> str:
        return self.rng.choice(["AKIA"] * 4 + ["ASIA"]) + self.chars(UPPER + "234567", 16)

    def _aws_secret_key(self, context: bool) -> str:
        while True:
            s = self.chars(B62 + "/+", 40)
            if any(c.isupper() for c in s) and any(c.islower() for c in s) and any(c.isdigit() for c in s):
                return s

    def _private_key(self, context: bool) -> str:
        label = self.rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
        head = {"RSA PRIVATE KEY": "MIIEowIBAAKCAQEA", "PRIVATE KEY": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
                "EC PRIVATE KEY": "MHcCAQEEI", "OPENSSH PRIVATE KEY": "b3BlbnNzaC1rZXktdjEAAAAA"}[label]
        n = self.rng.randint(4, 9)
        body = head + base64.b64encode(self.rng.randbytes(48 * n)).decode()
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])

    def _github_token(self, context: bool) -> str:
        if self.rng.random() < 0.15:
            return "github_pat_" + self.chars(B62, 22) + "_" + self.chars(B62, 59)
        rand = self.chars(B62, 30)
        crc = binascii.crc32(rand.encode())
        check = ""
        for _ in range(6):
            crc, d = divmod(crc, 62)
            check = ("0123456789" + string.ascii_uppercase + string.ascii_lowercase)[d] + check
        return self.rng.choice(["ghp_"] * 5 + ["gho_", "ghs_", "ghu_"]) + rand + check

    def _slack_token(self, context: bool) -> str:
        kind = self.rng.choice(["xoxb", "xoxb", "xoxp"])
        ids = f"{self.digits(1).replace('0', '1')}{self.digits(11)}-{self.digits(1).replace('0', '1')}{self.digits(12)}"
        if kind == "xoxp":
            return f"xoxp-{ids}-{self.rng.randint(10**11, 10**12 - 1)}-{self.chars('0123456789abcdef', 32)}"
        return f"xoxb-{ids}-{self.chars(B62, 24)}"

    def _jwt(self, context: bool) -> str:
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        claims = {"sub": self.digits(8), "name": self.fake.name(), "iat": 1700000000 + self.rng.randint(0, 10**7)}
        if self.rng.random() < 0.5:
            claims["email"] = "user" + self.digits(4) + "@example.invalid"
        payload = b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=True).encode())
        sig = hmac.new(self.rng.randbytes(32), f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{b64(sig)}"

    # ------------------------------------------------------------ decoys

    DECOY_KINDS = [
        "luhn_fail_card", "order_number", "date", "time", "version", "version_ipv4_like", "isbn",
        "ups_tracking", "uuid", "hex_hash", "git_commit", "amount", "ssn_invalid", "iban_bad_check",
        "aba_fail", "nino_invalid", "sin_invalid", "phone_extension", "ip_invalid", "base64_blob",
        "bic_shaped_word", "account_number", "public_key_pem", "customer_id_ssn_words",
    ]

    def decoy(self, kind: str) -> str:
        """A hard negative of `kind`: looks like an identifier, is none (checked)."""
        make = getattr(self, "_d_" + kind)
        for _ in range(1000):
            value = make()
            if self._decoy_ok(kind, value):
                return value
        raise AssertionError(f"could not draw a decoy {kind}")

    def _decoy_ok(self, kind: str, value: str) -> bool:
        digits = "".join(c for c in value if c.isdigit())
        if kind == "luhn_fail_card":
            return not v.luhn_ok(digits)
        if kind == "ssn_invalid":
            return not v.ssn_ok(digits) and not v.aba_ok(digits) and not v.sin_ok(digits)
        if kind == "iban_bad_check":
            return not v.iban_ok(value)
        if kind == "aba_fail":
            return not v.nine_digit_types(digits)
        if kind == "nino_invalid":
            return not v.nino_ok(value)
        if kind == "customer_id_ssn_words":
            # SSN-shaped on purpose; not also a routing number or SIN (those need other words).
            return v.nine_digit_types(digits) == {"US_SSN"}
        if kind == "sin_invalid":
            return not v.sin_ok(digits) and not v.aba_ok(digits)
        if kind == "ip_invalid":
            return not v.ip_ok(value)
        if kind == "version_ipv4_like":
            return True  # syntactically an IPv4 address on purpose: only context says "version"
        if kind in ("bic_shaped_word", "public_key_pem", "uuid", "hex_hash", "git_commit", "base64_blob"):
            return True
        # Nothing else may hide a checksum identifier or a bare NANP number.
        return not v.strong_numeric_types(value) and not (len(digits) == 10 and v.nanp_ok(digits))

    def _d_luhn_fail_card(self) -> str:
        first = self.rng.choice(["4", "5", "4", "37"])
        n = 15 if first == "37" else 16
        partial = first + self.digits(n - 1 - len(first))
        good = v.luhn_check_digit(partial)
        bad = self.rng.choice([d for d in "0123456789" if d != good])
        return self.group(partial + bad, (4, 6, 5) if n == 15 else (4, 4, 4, 4), self.sep())

    def _d_order_number(self) -> str:
        return self.rng.choice([
            f"PO-{self.rng.randint(2019, 2025)}-{self.digits(6)}", f"INV-{self.digits(8)}", f"SO{self.digits(7)}",
            f"#{self.digits(7)}", f"A{self.digits(6)}-{self.digits(2)}", f"ORD{self.digits(10)}",
            f"{self.digits(3)}-{self.digits(7)}-{self.digits(7)}",
        ])

    def _d_date(self) -> str:
        # Fixed bounds: relative ones ("-5y") would change the corpus from one day to the next.
        d = self.fake.date_time_between(start_date=START, end_date=END)
        return d.strftime(self.rng.choice([
            "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%B %d, %Y", "%d %b %Y", "%Y%m%d",
            "%Y-%m-%dT%H:%M:%SZ", "%a, %d %b %Y %H:%M:%S +0000", "%d-%m-%Y", "%m-%d-%y",
        ]))

    def _d_time(self) -> str:
        h, m, s = self.rng.randint(0, 23), self.rng.randint(0, 59), self.rng.randint(0, 59)
        return self.rng.choice([f"{h:02d}:{m:02d}", f"{h:02d}:{m:02d}:{s:02d}",
                                f"{h % 12 or 12}:{m:02d} {'AM' if h < 12 else 'PM'}", f"{h}h{m:02d}"])

    def _d_version(self) -> str:
        a, b, c = self.rng.randint(0, 20), self.rng.randint(0, 40), self.rng.randint(0, 300)
        return self.rng.choice([f"v{a}.{b}.{c}", f"{a}.{b}.{c}", f"{a}.{b}.{c}-rc{self.rng.randint(1, 5)}",
                                f"10.0.{self.rng.randint(10000, 22631)}.{self.rng.randint(256, 4000)}"])

    def _d_version_ipv4_like(self) -> str:
        return ".".join(str(self.rng.randint(0, 20)) for _ in range(4))

    def _d_isbn(self) -> str:
        if self.rng.random() < 0.6:
            core = self.rng.choice(["978", "979"]) + self.digits(9)
            check = (10 - sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(core)) % 10) % 10
            s = core + str(check)
            return f"{s[:3]}-{s[3]}-{s[4:7]}-{s[7:12]}-{s[12]}"
        core = self.digits(9)
        check = sum((10 - i) * int(c) for i, c in enumerate(core)) % 11
        check = (11 - check) % 11
        s = core + ("X" if check == 10 else str(check))
        return f"{s[0]}-{s[1:4]}-{s[4:9]}-{s[9]}"

    def _d_ups_tracking(self) -> str:
        s = "1Z" + self.chars(ALNUM_UP, 6) + self.digits(10)
        return s if self.rng.random() < 0.5 else f"{s[:2]} {s[2:5]} {s[5:8]} {s[8:10]} {s[10:14]} {s[14:]}"

    def _d_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _d_hex_hash(self) -> str:
        return self.chars("0123456789abcdef", self.rng.choice([32, 64, 40]))

    def _d_git_commit(self) -> str:
        return self.chars("0123456789abcdef", self.rng.choice([40, 40, 7, 12]))

    def _d_amount(self) -> str:
        x = self.rng.randint(1, 9_999_999) / 100
        return self.rng.choice([f"${x:,.2f}", f"USD {x:,.2f}", f"EUR {x:,.2f}".replace(",", " "),
                                f"{x:,.2f} EUR".replace(",", "X").replace(".", ",").replace("X", "."),
                                f"GBP {x:.2f}"])

    def _d_ssn_invalid(self) -> str:
        digits = self.rng.choice([
            "000" + self.digits(6), "666" + self.digits(6), "9" + self.digits(8), "078051120", "219099999",
            f"{self.rng.randint(1, 899):03d}00{self.digits(4)}", f"{self.rng.randint(1, 899):03d}{self.digits(2)}0000",
        ])
        return self.group(digits, (3, 2, 4), self.rng.choice(["-", "-", " "]))

    def _d_iban_bad_check(self) -> str:
        good = v.iban_with_check("GB", "NWBK" + self.digits(14)) if self.rng.random() < 0.3 else \
            v.iban_with_check("DE", self.digits(18))
        bad = good[:2] + f"{(int(good[2:4]) + self.rng.randint(1, 90)) % 100:02d}" + good[4:]
        return " ".join(bad[i : i + 4] for i in range(0, len(bad), 4)) if self.rng.random() < 0.5 else bad

    def _d_aba_fail(self) -> str:
        # Shaped like real routing numbers (021000021): group digits 00, so never a valid SSN.
        lo, hi = self.rng.choice(v.ABA_PREFIXES)
        return f"{self.rng.randint(lo, hi):02d}" + self.digits(1) + "00" + self.digits(4)

    def _d_nino_invalid(self) -> str:
        digits = self.digits(6)
        return self.rng.choice([
            f"ZZ{digits}{self.rng.choice('ABCD')}", f"AB {digits[:2]} {digits[2:4]} {digits[4:]} E",
            f"{self.rng.choice('DFIQUV')}{self.rng.choice('ABCEH')}{digits}{self.rng.choice('ABCD')}",
            f"{self.rng.choice(['BG', 'GB', 'NK', 'TN'])}{digits}{self.rng.choice('ABCD')}",
            f"Q{self.rng.choice('ABCEH')} {digits[:2]} {digits[2:4]} {digits[4:]} {self.rng.choice('ABCD')}",
        ])

    def _d_sin_invalid(self) -> str:
        return self.group(self.rng.choice("123456789") + self.digits(8), (3, 3, 3), self.rng.choice([" ", "-"]))

    def _d_phone_extension(self) -> str:
        return self.rng.choice([f"ext. {self.digits(4)}", f"x{self.digits(4)}", f"extension {self.digits(3)}",
                                f"Ext {self.digits(5)}"])

    def _d_ip_invalid(self) -> str:
        parts = [self.rng.randint(0, 255) for _ in range(4)]
        parts[self.rng.randint(0, 3)] = self.rng.randint(256, 999)
        if self.rng.random() < 0.2:
            return ".".join(map(str, parts[:3]))
        return ".".join(map(str, parts))

    def _d_base64_blob(self) -> str:
        return base64.b64encode(self.rng.randbytes(self.rng.randint(45, 120))).decode()

    def _d_bic_shaped_word(self) -> str:
        return self.rng.choice(BIC_SHAPED_WORDS)

    def _d_account_number(self) -> str:
        return self.digits(self.rng.choice([10, 11, 12]))

    def _d_customer_id_ssn_words(self) -> str:
        return self.digits(9)

    def _d_public_key_pem(self) -> str:
        label = self.rng.choice(["PUBLIC KEY", "CERTIFICATE", "RSA PUBLIC KEY"])
        body = "MII" + base64.b64encode(self.rng.randbytes(48 * self.rng.randint(3, 8))).decode()
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])
