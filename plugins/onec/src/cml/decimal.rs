//! Exact decimal numbers as 1C writes them in value elements (`ЦенаЗаЕдиницу`, `Количество`,
//! `КоличествоНаСкладе`, `Вес`): an optional sign, digits, optionally `.` and more digits.
//!
//! Money and stock must never pass through `f64` (`0.1 + 0.2`), and the standard allows up to
//! 18 digits, so numbers are parsed digit by digit into integers.

use std::cmp::Ordering;
use std::fmt;

/// A quantity as written by 1C, kept exactly: `mantissa / 10^scale`.
///
/// Used for stock quantities, which may be fractional (`2.5` kg) and negative (rests of a
/// warehouse that sold more than it received). The value is normalised (no trailing zeros
/// in the fraction), so `==` compares values: `2.50 == 2.5`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Decimal {
    mantissa: i64,
    scale: u8,
}

/// Powers of ten that fit in an `i64`.
const POW10: [i64; 19] = {
    let mut table = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

impl Decimal {
    /// Zero.
    pub const ZERO: Decimal = Decimal { mantissa: 0, scale: 0 };

    /// The most fractional digits a `Decimal` keeps.
    pub const MAX_SCALE: u8 = 18;

    /// `mantissa / 10^scale`; `None` when `scale` exceeds [`Decimal::MAX_SCALE`].
    pub fn new(mantissa: i64, scale: u8) -> Option<Decimal> {
        if scale > Self::MAX_SCALE {
            return None;
        }
        let (mut mantissa, mut scale) = (mantissa, scale);
        while scale > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        Some(Decimal { mantissa, scale })
    }

    /// A whole number.
    pub const fn from_int(value: i64) -> Decimal {
        Decimal { mantissa: value, scale: 0 }
    }

    /// The digits without the decimal point (`2.5` → 25).
    pub const fn mantissa(self) -> i64 {
        self.mantissa
    }

    /// How many of the digits are fractional (`2.5` → 1).
    pub const fn scale(self) -> u8 {
        self.scale
    }

    /// Parses `-12.5`, `310.00`, `7`, `.5`; surrounding whitespace is ignored. `None` for
    /// anything else (a comma, an exponent, thousands separators, more than 18 fractional
    /// digits after trailing zeros are dropped, or a value beyond `i64`).
    pub fn parse(text: &str) -> Option<Decimal> {
        let (negative, int, frac) = split_number(text)?;
        let frac = frac.trim_end_matches('0');
        if frac.len() > usize::from(Self::MAX_SCALE) {
            return None;
        }
        let mut mantissa: i64 = 0;
        for digit in int.bytes().chain(frac.bytes()) {
            mantissa = mantissa.checked_mul(10)?.checked_add(i64::from(digit - b'0'))?;
        }
        let scale = u8::try_from(frac.len()).ok()?;
        Decimal::new(if negative { -mantissa } else { mantissa }, scale)
    }

    /// The value times `10^places`, rounded half away from zero (`2.345` with 2 places →
    /// 235); `None` on overflow.
    pub fn to_scaled(self, places: u8) -> Option<i64> {
        if places >= self.scale {
            let factor = *POW10.get(usize::from(places - self.scale))?;
            return self.mantissa.checked_mul(factor);
        }
        let divisor = POW10[usize::from(self.scale - places)];
        let quotient = self.mantissa / divisor;
        let remainder = self.mantissa % divisor;
        if remainder.unsigned_abs() * 2 >= divisor.unsigned_abs() {
            Some(quotient + self.mantissa.signum())
        } else {
            Some(quotient)
        }
    }

    /// The largest whole number not above the value (`2.5` → 2, `-0.5` → -1): stock in the
    /// catalogue is whole.
    pub fn floor(self) -> i64 {
        self.mantissa.div_euclid(POW10[usize::from(self.scale)])
    }

    /// Whether the value is below zero.
    pub const fn is_negative(self) -> bool {
        self.mantissa < 0
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let scale = self.scale.max(other.scale);
        let widen = |d: &Decimal| i128::from(d.mantissa) * i128::from(POW10[usize::from(scale - d.scale)]);
        widen(self).cmp(&widen(other))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let abs = self.mantissa.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{abs}");
        }
        let divisor = POW10[usize::from(self.scale)].unsigned_abs();
        let width = usize::from(self.scale);
        write!(f, "{sign}{}.{:0width$}", abs / divisor, abs % divisor, width = width)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

/// Splits `-12.50` into (negative, "12", "50"); `None` unless it is an optional sign, ASCII
/// digits, an optional `.` and ASCII digits, with at least one digit.
fn split_number(text: &str) -> Option<(bool, &str, &str)> {
    let text = text.trim();
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    Some((negative, int, frac))
}

/// Parses a decimal straight into units of `10^-places`, rounding half away from zero:
/// `parse_scaled("310.00", 2)` = 31000, `parse_scaled("0.125", 2)` = 13,
/// `parse_scaled("-1.005", 2)` = -101. Any number of fractional digits is accepted (only the
/// first dropped digit decides the rounding). `None` for non-numbers and on overflow.
pub fn parse_scaled(text: &str, places: u8) -> Option<i64> {
    let (negative, int, frac) = split_number(text)?;
    let mut value: i64 = 0;
    for digit in int.bytes() {
        value = value.checked_mul(10)?.checked_add(i64::from(digit - b'0'))?;
    }
    let frac = frac.as_bytes();
    for i in 0..usize::from(places) {
        let digit = frac.get(i).map_or(0, |d| d - b'0');
        value = value.checked_mul(10)?.checked_add(i64::from(digit))?;
    }
    if frac.get(usize::from(places)).is_some_and(|&d| d >= b'5') {
        value = value.checked_add(1)?;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_what_1c_writes() {
        assert_eq!(Decimal::parse("310.00"), Some(Decimal::from_int(310)));
        assert_eq!(Decimal::parse(" 2.5 "), Decimal::new(25, 1));
        assert_eq!(Decimal::parse("-1"), Some(Decimal::from_int(-1)));
        assert_eq!(Decimal::parse(".5"), Decimal::new(5, 1));
        assert_eq!(Decimal::parse("5."), Some(Decimal::from_int(5)));
        assert_eq!(Decimal::parse("0.000"), Some(Decimal::ZERO));
        for bad in ["", " ", "-", ".", "1,5", "1e3", "2 042", "abc", "1.2.3", "--1", "9223372036854775808"] {
            assert_eq!(Decimal::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Decimal::parse("9223372036854775807"), Some(Decimal::from_int(i64::MAX)));
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(parse_scaled("310.00", 2), Some(31000));
        assert_eq!(parse_scaled("1719", 2), Some(171900));
        assert_eq!(parse_scaled("2042.66", 2), Some(204266));
        assert_eq!(parse_scaled("0.125", 2), Some(13));
        assert_eq!(parse_scaled("0.124999", 2), Some(12));
        assert_eq!(parse_scaled("-1.005", 2), Some(-101));
        assert_eq!(parse_scaled("0.350", 3), Some(350));
        assert_eq!(parse_scaled("1,5", 2), None);
        assert_eq!(Decimal::parse("2.345").and_then(|d| d.to_scaled(2)), Some(235));
        assert_eq!(Decimal::parse("-2.345").and_then(|d| d.to_scaled(2)), Some(-235));
        assert_eq!(Decimal::parse("2.344").and_then(|d| d.to_scaled(2)), Some(234));
        assert_eq!(Decimal::parse("7").and_then(|d| d.to_scaled(3)), Some(7000));
    }

    #[test]
    fn floor_display_order() {
        let d = |s| Decimal::parse(s).unwrap();
        assert_eq!(d("2.5").floor(), 2);
        assert_eq!(d("-0.5").floor(), -1);
        assert_eq!(d("-3").floor(), -3);
        assert_eq!(d("-2.050").to_string(), "-2.05");
        assert_eq!(d("0.001").to_string(), "0.001");
        assert_eq!(d("12").to_string(), "12");
        assert!(d("2.5") > d("2.45"));
        assert!(d("-1") < d("0.001"));
        assert_eq!(d("2.50"), d("2.5"));
    }

    proptest! {
        #[test]
        fn scaled_matches_integer_arithmetic(int in 0i64..1_000_000_000, frac in 0u32..1_000_000, neg: bool) {
            // "int.frac6" with 6 fractional digits, rounded to 2 places by hand.
            let text = format!("{}{int}.{frac:06}", if neg { "-" } else { "" });
            let micro = int * 1_000_000 + i64::from(frac);
            let expected = (micro + 5_000) / 10_000;
            let expected = if neg { -expected } else { expected };
            prop_assert_eq!(parse_scaled(&text, 2), Some(expected));
            let dec = Decimal::parse(&text).unwrap();
            prop_assert_eq!(dec.to_scaled(2), Some(expected));
            prop_assert_eq!(dec.to_scaled(6), Some(if neg { -micro } else { micro }));
        }

        #[test]
        fn display_round_trips(mantissa in -i64::MAX..=i64::MAX, scale in 0u8..=18) {
            let dec = Decimal::new(mantissa, scale).unwrap();
            prop_assert_eq!(Decimal::parse(&dec.to_string()), Some(dec));
        }

        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = Decimal::parse(&text);
            let _ = parse_scaled(&text, 2);
        }
    }
}
