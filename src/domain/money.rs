//! Exact decimal helpers for money, points and percentages: the one rounding rule (四舍五入) and the CSV form.

use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds half away from zero to 2 decimals, the only rounding rules.md allows.
pub(crate) fn round2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Writes a money or score value with exactly two decimals (interface.md).
pub(crate) fn fmt2(value: Decimal) -> String {
    let mut v = round2(value);
    v.rescale(2);
    v.to_string()
}

/// Writes a plain decimal without trailing zeros (`0.3333`, `1.2`, `20`).
pub(crate) fn fmt_plain(value: Decimal) -> String {
    value.normalize().to_string()
}

/// Number of decimals a value was written with once trailing zeros are dropped (`12.340` has two).
pub(crate) fn decimals(value: Decimal) -> u32 {
    value.normalize().scale()
}

/// An amount in Chinese capital numerals (人民币大写), as written on settlement forms:
/// `10203.40` → `壹万零贰佰零叁元肆角`, `10.00` → `壹拾元整`, `0.05` → `伍分`.
/// Follows the 支付结算办法 conventions: 整 after 元, none after 分, one 零 for a run of zeros.
pub(crate) fn rmb_uppercase(amount: Decimal) -> String {
    const DIGITS: [&str; 10] = ["零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"];
    const PLACES: [&str; 4] = ["", "拾", "佰", "仟"];
    const SECTIONS: [&str; 4] = ["", "万", "亿", "万亿"];
    let rounded = round2(amount);
    let mut out = String::new();
    if rounded.is_sign_negative() && !rounded.is_zero() {
        out.push('负');
    }
    let cents = (rounded.abs() * Decimal::ONE_HUNDRED).trunc();
    let cents = u128::try_from(cents).unwrap_or(u128::MAX);
    let (yuan, jiao, fen) = (cents / 100, (cents / 10 % 10) as usize, (cents % 10) as usize);

    let mut sections = Vec::new();
    let mut rest = yuan;
    while rest > 0 {
        sections.push((rest % 10_000) as usize);
        rest /= 10_000;
    }
    let mut printed = false;
    let mut zero_pending = false;
    for (index, section) in sections.iter().enumerate().rev() {
        if *section == 0 {
            zero_pending = printed;
            continue;
        }
        if printed && (zero_pending || *section < 1000) {
            out.push('零');
        }
        let mut inner_zero = false;
        let mut started = false;
        for place in (0..4).rev() {
            let digit = section / 10usize.pow(place as u32) % 10;
            if digit == 0 {
                inner_zero = started;
                continue;
            }
            if inner_zero {
                out.push('零');
                inner_zero = false;
            }
            out.push_str(DIGITS[digit]);
            out.push_str(PLACES[place]);
            started = true;
        }
        out.push_str(SECTIONS[index.min(3)]);
        printed = true;
        zero_pending = false;
    }
    if printed {
        out.push('元');
    }
    match (jiao, fen) {
        (0, 0) => {
            if !printed {
                out.push_str("零元");
            }
            out.push('整');
        }
        (j, f) => {
            if j > 0 {
                out.push_str(DIGITS[j]);
                out.push('角');
            }
            if f > 0 {
                if j == 0 && printed {
                    out.push('零');
                }
                out.push_str(DIGITS[f]);
                out.push('分');
            }
        }
    }
    out
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
    fn capital_numerals_for_settlement_forms() {
        assert_eq!(rmb_uppercase(dec!(0.05)), "伍分");
        assert_eq!(rmb_uppercase(dec!(10.00)), "壹拾元整");
        assert_eq!(rmb_uppercase(dec!(1000000.00)), "壹佰万元整");
        assert_eq!(rmb_uppercase(dec!(10203.40)), "壹万零贰佰零叁元肆角");
        assert_eq!(rmb_uppercase(dec!(12345.67)), "壹万贰仟叁佰肆拾伍元陆角柒分");
        assert_eq!(rmb_uppercase(dec!(0)), "零元整");
        assert_eq!(rmb_uppercase(dec!(1.05)), "壹元零伍分");
        assert_eq!(rmb_uppercase(dec!(100000001)), "壹亿零壹元整");
        assert_eq!(rmb_uppercase(dec!(102000000)), "壹亿零贰佰万元整");
        assert_eq!(rmb_uppercase(dec!(230000001)), "贰亿叁仟万零壹元整");
        assert_eq!(rmb_uppercase(dec!(1025.90)), "壹仟零贰拾伍元玖角");
        assert_eq!(rmb_uppercase(dec!(120000)), "壹拾贰万元整");
    }

    #[test]
    fn counts_significant_decimals() {
        assert_eq!(decimals(dec!(12.340)), 2);
        assert_eq!(decimals(dec!(2.555)), 3);
        assert_eq!(decimals(dec!(19.0)), 0);
        assert_eq!(fmt_plain(dec!(1.20)), "1.2");
    }
}
