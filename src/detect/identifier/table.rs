//! Reference tables the validators consult: IBAN lengths per country (SWIFT IBAN registry), ISO
//! 3166-1 alpha-2 country codes (SWIFT/BIC positions 5-6) and ITU-T E.164 country calling codes.

/// IBAN length per country, from the SWIFT IBAN registry (89 countries).
#[rustfmt::skip]
const IBAN_LENGTHS: &[(&[u8; 2], u8)] = &[
    (b"AD", 24), (b"AE", 23), (b"AL", 28), (b"AT", 20), (b"AZ", 28), (b"BA", 20), (b"BE", 16),
    (b"BG", 22), (b"BH", 22), (b"BI", 27), (b"BR", 29), (b"BY", 28), (b"CH", 21), (b"CR", 22),
    (b"CY", 28), (b"CZ", 24), (b"DE", 22), (b"DJ", 27), (b"DK", 18), (b"DO", 28), (b"EE", 20),
    (b"EG", 29), (b"ES", 24), (b"FI", 18), (b"FK", 18), (b"FO", 18), (b"FR", 27), (b"GB", 22),
    (b"GE", 22), (b"GI", 23), (b"GL", 18), (b"GR", 27), (b"GT", 28), (b"HN", 28), (b"HR", 21),
    (b"HU", 28), (b"IE", 22), (b"IL", 23), (b"IQ", 23), (b"IS", 26), (b"IT", 27), (b"JO", 30),
    (b"KW", 30), (b"KZ", 20), (b"LB", 28), (b"LC", 32), (b"LI", 21), (b"LT", 20), (b"LU", 20),
    (b"LV", 21), (b"LY", 25), (b"MC", 27), (b"MD", 24), (b"ME", 22), (b"MK", 19), (b"MN", 20),
    (b"MR", 27), (b"MT", 31), (b"MU", 30), (b"NI", 28), (b"NL", 18), (b"NO", 15), (b"OM", 23),
    (b"PK", 24), (b"PL", 28), (b"PS", 29), (b"PT", 25), (b"QA", 29), (b"RO", 24), (b"RS", 22),
    (b"RU", 33), (b"SA", 24), (b"SC", 31), (b"SD", 18), (b"SE", 24), (b"SI", 19), (b"SK", 24),
    (b"SM", 27), (b"SO", 23), (b"ST", 25), (b"SV", 28), (b"TL", 23), (b"TN", 24), (b"TR", 26),
    (b"UA", 29), (b"VA", 22), (b"VG", 24), (b"XK", 20), (b"YE", 30),
];

/// ISO 3166-1 alpha-2 codes, concatenated, plus XK (Kosovo, used by SWIFT).
const COUNTRIES: &[u8] = b"\
ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ\
CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFR\
GAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJP\
KEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMT\
MUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURW\
SASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUG\
UMUSUYUZVAVCVEVGVIVNVUWFWSYEYTZAZMZWXK";

/// Two-digit E.164 country calling codes.
const CALLING_2: &[u8] = &[
    20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56,
    57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
];

/// Leading two digits of the three-digit E.164 zones (any code in these blocks is accepted).
const CALLING_3_BLOCKS: &[u8] = &[
    21, 22, 23, 24, 25, 26, 29, 35, 37, 38, 42, 50, 59, 67, 68, 69, 80, 85, 87, 88, 96, 97, 99,
];

/// The registered IBAN length for a country code.
pub(crate) fn iban_length(country: [u8; 2]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| **c == country)
        .map(|&(_, n)| usize::from(n))
}

/// Whether two bytes are an ISO 3166-1 alpha-2 country code.
pub(crate) fn is_country(code: [u8; 2]) -> bool {
    COUNTRIES.chunks_exact(2).any(|c| c == code)
}

/// The length (1 to 3 digits) of the country calling code the digits start with, if assigned.
pub(crate) fn calling_code_len(d: &[u8]) -> Option<usize> {
    let first = *d.first()?;
    if first == 1 || first == 7 {
        return Some(1);
    }
    let two = first * 10 + *d.get(1)?;
    if CALLING_2.contains(&two) {
        return Some(2);
    }
    if CALLING_3_BLOCKS.contains(&two) && d.len() > 2 {
        return Some(3);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_well_formed() {
        assert_eq!(IBAN_LENGTHS.len(), 89);
        assert_eq!(COUNTRIES.len() % 2, 0);
        assert_eq!(COUNTRIES.len() / 2, 250);
        for (c, _) in IBAN_LENGTHS {
            assert!(is_country(**c), "{c:?}");
        }
        assert_eq!(iban_length(*b"GB"), Some(22));
        assert!(!is_country(*b"ZZ"));
        assert_eq!(calling_code_len(&[4, 4, 2, 0]), Some(2));
        assert_eq!(calling_code_len(&[3, 5, 3, 1]), Some(3));
        assert_eq!(calling_code_len(&[2, 8, 1]), None);
    }
}
