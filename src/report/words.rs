//! The program's codes in the words of a locale (`reports/labels/*.toml`): indicators, statuses,
//! flags, hold reasons, data-quality problems, evidence details. The CSVs keep the codes (they are
//! for programs); everything a person reads goes through here.

use super::templates::labels;

/// A label if the locale has it.
pub(crate) fn known(locale: &str, key: &str) -> Option<String> {
    labels(locale).get(key).cloned()
}

/// A label if the locale has it, else `fallback`.
fn known_or(locale: &str, key: &str, fallback: impl FnOnce() -> String) -> String {
    labels(locale).get(key).cloned().unwrap_or_else(fallback)
}

/// An indicator's name (支撑配合 for `cooperation`); an indicator the labels do not know keeps its
/// id, the name the rules file gave it.
pub(crate) fn indicator(locale: &str, id: &str) -> String {
    known_or(locale, &format!("indicator_{id}"), || id.to_string())
}

/// `assessed` / `on_hold`.
pub(crate) fn status(locale: &str, code: &str) -> String {
    known_or(locale, &format!("status_{code}"), || code.to_string())
}

pub(crate) fn flag(locale: &str, code: &str) -> String {
    known_or(locale, &format!("flag_{code}"), || code.to_string())
}

/// `missing_manual_score:cooperation` → 缺少人工评分：支撑配合; a violation or fee item keeps its id.
pub(crate) fn hold_reason(locale: &str, reason: &str) -> String {
    let (code, what) = reason.split_once(':').unwrap_or((reason, ""));
    let words = known_or(locale, &format!("hold_{code}"), || code.to_string());
    let what = if code.ends_with("manual_score") { indicator(locale, what) } else { what.to_string() };
    match (what.is_empty(), locale) {
        (true, _) => words,
        (false, "en") => format!("{words}: {what}"),
        (false, _) => format!("{words}：{what}"),
    }
}

/// A contract's kind (`aftersales` → 售后运维).
pub(crate) fn contract_kind(locale: &str, kind: &str) -> String {
    known_or(locale, &format!("contract_{kind}"), || kind.to_string())
}

/// A list of codes (as the CSVs join them with `;`) in words, joined for people.
pub(crate) fn list(locale: &str, codes: &str, each: fn(&str, &str) -> String) -> String {
    let sep = if locale == "en" { "; " } else { "；" };
    codes.split(';').filter(|c| !c.is_empty()).map(|c| each(locale, c)).collect::<Vec<_>>().join(sep)
}

/// A data-quality problem code.
pub(crate) fn problem(locale: &str, code: &str) -> String {
    // A code without words is shown as it is, where the untranslated-code check finds it.
    known_or(locale, &format!("dq_{code}"), || code.to_string())
}

/// A source table.
pub(crate) fn source(locale: &str, table: &str) -> String {
    known_or(locale, &format!("source_{table}"), || table.to_string())
}

/// An evidence row's detail (`sla_class=AAA paused_seconds=0`, `false_info`, `class=1 severe`).
pub(crate) fn detail(locale: &str, detail: &str) -> String {
    // The stored detail is `key=value` tokens and bare event codes (`sla_class=AA paused_seconds=0`,
    // `class=1 severe`, `complaint_group`): each becomes words, and what says nothing (no pause)
    // is left out.
    let sep = if locale == "en" { ", " } else { "，" };
    detail
        .split_whitespace()
        .filter_map(|token| match token.split_once('=') {
            Some(("sla_class", class)) => Some(sla_class(locale, class)),
            Some(("paused_seconds", seconds)) => {
                let seconds: u64 = seconds.parse().ok()?;
                (seconds > 0).then(|| paused(locale, seconds))
            }
            Some(("class", class)) => Some(known_or(locale, &format!("detail_class_{class}"), || class.to_string())),
            Some((k, v)) => {
                let k = known_or(locale, &format!("detail_{k}"), || k.to_string());
                Some(if locale == "en" { format!("{k} {v}") } else { format!("{k}{v}") })
            }
            None => Some(known_or(locale, &format!("event_{token}"), || token.to_string())),
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// An SLA class in words: a named class (`standard` → 标准级), else the letters as a level (AA级).
pub(crate) fn sla_class(locale: &str, class: &str) -> String {
    known_or(locale, &format!("sla_class_{class}"), || label_with(locale, "sla_class_level", &[("class", class)]))
}

/// How long a ticket was paused, in hours and minutes.
fn paused(locale: &str, seconds: u64) -> String {
    let (hours, minutes) = (seconds / 3600, (seconds % 3600).div_ceil(60));
    label_with(locale, "detail_paused", &[("hours", &hours.to_string()), ("minutes", &minutes.to_string())])
}

fn label_with(locale: &str, key: &str, args: &[(&str, &str)]) -> String {
    super::templates::label(locale, key, args)
}

/// A rules setting (a dotted name from the rules file) in words: the known ones by name, an
/// indicator's by the indicator's name; any other keeps its name (the file is where to find it).
pub(crate) fn setting(locale: &str, name: &str) -> String {
    if let Some(words) = known(locale, &format!("setting_{}", name.replace('.', "__"))) {
        return words;
    }
    if let Some((id, field)) = name.strip_prefix("indicators.").and_then(|rest| rest.split_once('.')) {
        let indicator = indicator(locale, id);
        return known(locale, &format!("setting_indicator_{field}"))
            .map(|w| w.replace("{name}", &indicator))
            .unwrap_or_else(|| {
                let w = known(locale, "setting_indicator_other").unwrap_or_default().replace("{name}", &indicator);
                format!("{w}（{field}）")
            });
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_become_words_in_each_locale() {
        assert_eq!(hold_reason("zh-CN", "missing_manual_score:cooperation"), "缺少人工评分：支撑配合");
        assert_eq!(hold_reason("en", "missing_manual_score:cooperation"), "manual score missing: Cooperation");
        assert_eq!(hold_reason("zh-CN", "invalid_violation:VI00017"), "违约记录无效：VI00017");
        assert_eq!(detail("zh-CN", "sla_class=AAA paused_seconds=0"), "AAA级");
        assert_eq!(detail("zh-CN", "sla_class=standard paused_seconds=10920"), "标准级，挂起 3 小时 2 分");
        assert_eq!(detail("zh-CN", "class=1 severe"), "一类违约，情节恶劣");
        assert_eq!(detail("en", "sla_class=AA paused_seconds=60"), "class AA, paused 0 h 1 min");
        assert_eq!(detail("zh-CN", "complaint_group"), "集团投诉");
        assert_eq!(
            list("zh-CN", "two_c_grades;class_one_violation", flag),
            "近12个月两次及以上C级；一类违约（考虑终止合作）"
        );
        assert_eq!(problem("zh-CN", "unknown_sla_class"), "SLA等级无法识别");
        assert_eq!(status("zh-CN", "on_hold"), "暂缓考核");
        assert_eq!(indicator("zh-CN", "fault_timeliness"), "故障处理及时率");
    }
}
