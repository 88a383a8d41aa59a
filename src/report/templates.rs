//! The report templates (minijinja, `reports/<locale>/`), embedded in the binary and HTML-escaped.

use minijinja::Environment;
use serde::Serialize;
use std::sync::OnceLock;

const TEMPLATES: [(&str, &str); 12] = [
    ("scorecard.html", include_str!("../../reports/zh-CN/scorecard.html")),
    ("forms_letter.html", include_str!("../../reports/zh-CN/forms_letter.html")),
    ("index.html", include_str!("../../reports/index.html")),
    ("monthly_report.html", include_str!("../../reports/monthly_report.html")),
    ("_style.html", include_str!("../../reports/zh-CN/_style.html")),
    ("confirmation_form.html", include_str!("../../reports/zh-CN/confirmation_form.html")),
    ("renewal_notice.html", include_str!("../../reports/zh-CN/renewal_notice.html")),
    ("renewal_list.html", include_str!("../../reports/zh-CN/renewal_list.html")),
    ("annual.html", include_str!("../../reports/zh-CN/annual.html")),
    ("annual_result.html", include_str!("../../reports/zh-CN/annual_result.html")),
    ("ban_notice.html", include_str!("../../reports/zh-CN/ban_notice.html")),
    ("what_if.html", include_str!("../../reports/what_if.html")),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source).expect("shipped templates parse");
        }
        env
    })
}

/// The words of the human reports in a locale (`reports/labels/<locale>.toml`); English for "en",
/// Chinese otherwise.
pub(crate) fn labels(locale: &str) -> &'static std::collections::BTreeMap<String, String> {
    static ZH: OnceLock<std::collections::BTreeMap<String, String>> = OnceLock::new();
    static EN: OnceLock<std::collections::BTreeMap<String, String>> = OnceLock::new();
    let (cell, text) = if locale == "en" {
        (&EN, include_str!("../../reports/labels/en.toml"))
    } else {
        (&ZH, include_str!("../../reports/labels/zh-CN.toml"))
    };
    cell.get_or_init(|| {
        let doc: toml_edit::DocumentMut = text.parse().expect("shipped labels parse");
        doc.iter().filter_map(|(k, v)| Some((k.to_string(), v.as_str()?.to_string()))).collect()
    })
}

/// A label with `{name}` placeholders filled in.
pub(crate) fn label(locale: &str, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = labels(locale).get(key).cloned().unwrap_or_else(|| key.to_string());
    for (k, v) in args {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

/// Renders a shipped template; names ending in `.html` are escaped.
pub(crate) fn render(name: &str, context: impl Serialize) -> Result<String, minijinja::Error> {
    environment().get_template(name)?.render(context)
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_locales_have_the_same_words() {
        let (zh, en) = (super::labels("zh-CN"), super::labels("en"));
        assert!(zh.len() > 30);
        assert_eq!(zh.keys().collect::<Vec<_>>(), en.keys().collect::<Vec<_>>());
        assert_eq!(
            super::label("zh-CN", "subject_summary", &[("month", "2026-10")]),
            "【草稿】【ICT支撑合作伙伴月度考核汇总】2026-10（待审批）"
        );
    }

    #[test]
    fn every_template_parses() {
        for (name, _) in super::TEMPLATES {
            assert!(super::environment().get_template(name).is_ok(), "{name}");
        }
    }
}
