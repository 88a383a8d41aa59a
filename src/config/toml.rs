//! TOML read the way the rules need it: fractional literals kept exact (every float is handed to
//! serde as its source text, so `1.2` is exactly 1.2) and unknown keys collected as problems.

use serde::Deserialize;

/// Parses TOML keeping fractional literals exact: every float is handed to serde as its source
/// text (`1.2` stays `1.2`, never a binary float), and unknown keys are collected as problems.
pub(super) fn parse_toml<T: for<'de> Deserialize<'de>>(
    what: &str,
    text: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    let mut doc: toml_edit::DocumentMut = match text.parse() {
        Ok(d) => d,
        Err(e) => {
            problems.push(format!("{what}: {e}"));
            return None;
        }
    };
    floats_to_literals(doc.as_item_mut());
    let mut unknown = Vec::new();
    let deserializer = toml_edit::de::Deserializer::from(doc);
    let parsed = serde_ignored::deserialize(deserializer, |path| unknown.push(path.to_string()));
    for key in unknown {
        problems.push(format!("{what}: unknown key `{key}`"));
    }
    match parsed {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(format!("{what}: {}", e.to_string().trim()));
            None
        }
    }
}

fn floats_to_literals(item: &mut toml_edit::Item) {
    match item {
        toml_edit::Item::Value(v) => value_floats_to_literals(v),
        toml_edit::Item::Table(t) => t.iter_mut().for_each(|(_, i)| floats_to_literals(i)),
        toml_edit::Item::ArrayOfTables(a) => {
            a.iter_mut().for_each(|t| t.iter_mut().for_each(|(_, i)| floats_to_literals(i)))
        }
        toml_edit::Item::None => {}
    }
}

fn value_floats_to_literals(value: &mut toml_edit::Value) {
    match value {
        toml_edit::Value::Float(f) => {
            let literal = f.display_repr().replace('_', "");
            *value = toml_edit::Value::from(literal);
        }
        toml_edit::Value::Array(a) => a.iter_mut().for_each(value_floats_to_literals),
        toml_edit::Value::InlineTable(t) => t.iter_mut().for_each(|(_, v)| value_floats_to_literals(v)),
        _ => {}
    }
}
