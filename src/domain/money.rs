//! Exact decimal helpers for money, points and percentages: the one rounding rule (四舍五入) and the CSV form.

use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds half away from zero to 2 decimals, the only rounding rules.md allows.
pub fn round2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Writes a money or score value with exactly two decimals (interface.md).
pub fn fmt2(value: Decimal) -> String {
    let mut v = round2(value);
    v.rescale(2);
    v.to_string()
}

/// Writes a plain decimal without trailing zeros (`0.3333`, `1.2`, `20`).
pub fn fmt_plain(value: Decimal) -> String {
    value.normalize().to_string()
}

/// Number of decimals a value was written with once trailing zeros are dropped (`12.340` has two).
pub fn decimals(value: Decimal) -> u32 {
    value.normalize().scale()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounds_half_away_from_zero_not_half_even() {
        assert_eq!(round2(dec!(9.005)), dec!(9.01));
        assert_eq!(round2(dec!(11122.845)), dec!(11122.85));
        assert_eq!(round2(dec!(-0.005)), dec!(-0.01));
        assert_eq!(round2(dec!(90.625)), dec!(90.63));
    }

    #[test]
    fn formats_exactly_two_decimals() {
        assert_eq!(fmt2(dec!(0)), "0.00");
        assert_eq!(fmt2(dec!(93.1)), "93.10");
        assert_eq!(fmt2(dec!(1025.8974)), "1025.90");
    }

    #[test]
    fn counts_significant_decimals() {
        assert_eq!(decimals(dec!(12.340)), 2);
        assert_eq!(decimals(dec!(2.555)), 3);
        assert_eq!(decimals(dec!(19.0)), 0);
        assert_eq!(fmt_plain(dec!(1.20)), "1.2");
    }
}
