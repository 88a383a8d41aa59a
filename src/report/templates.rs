//! The report templates (minijinja, `reports/<locale>/`), embedded in the binary and HTML-escaped.

use minijinja::Environment;
use serde::Serialize;
use std::sync::OnceLock;

const TEMPLATES: [(&str, &str); 5] = [
    ("_style.html", include_str!("../../reports/zh-CN/_style.html")),
    ("confirmation_form.html", include_str!("../../reports/zh-CN/confirmation_form.html")),
    ("renewal_notice.html", include_str!("../../reports/zh-CN/renewal_notice.html")),
    ("renewal_list.html", include_str!("../../reports/zh-CN/renewal_list.html")),
    ("annual.html", include_str!("../../reports/zh-CN/annual.html")),
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

/// Renders a shipped template; names ending in `.html` are escaped.
pub fn render(name: &str, context: impl Serialize) -> Result<String, minijinja::Error> {
    environment().get_template(name)?.render(context)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        for (name, _) in super::TEMPLATES {
            assert!(super::environment().get_template(name).is_ok(), "{name}");
        }
    }
}
