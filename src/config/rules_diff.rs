//! What a rules revision changes, setting by setting: both rules files flattened to dotted
//! names (an indicator or a class by its `id`), the settings that differ side by side.

use crate::domain::whatif::Difference;
use toml_edit::{DocumentMut, Item, Table};

/// The settings that differ between two rules files, in name order. A file that does not parse
/// contributes nothing (the rules were compiled before this is asked).
pub(crate) fn differences(before: &str, after: &str) -> Vec<Difference> {
    let (b, a) = (flatten(before), flatten(after));
    let names: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    names
        .into_iter()
        .filter(|n| b.get(*n) != a.get(*n))
        .map(|n| Difference {
            setting: n.clone(),
            before: b.get(n).cloned().unwrap_or_default(),
            after: a.get(n).cloned().unwrap_or_default(),
        })
        .collect()
}

fn flatten(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    if let Ok(doc) = text.parse::<DocumentMut>() {
        table(doc.as_table(), "", &mut out);
    }
    out
}

fn table(t: &Table, prefix: &str, out: &mut std::collections::BTreeMap<String, String>) {
    for (key, item) in t.iter() {
        let name = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
        item_into(item, &name, out);
    }
}

fn item_into(item: &Item, name: &str, out: &mut std::collections::BTreeMap<String, String>) {
    match item {
        Item::Table(t) => table(t, name, out),
        Item::ArrayOfTables(array) => {
            for (i, t) in array.iter().enumerate() {
                // An indicator or a class is known by its id, not by where it sits in the file.
                let id = t.get("id").and_then(Item::as_str).map_or_else(|| i.to_string(), str::to_string);
                table(t, &format!("{name}.{id}"), out);
            }
        }
        Item::Value(toml_edit::Value::InlineTable(t)) => {
            for (key, v) in t.iter() {
                out.insert(format!("{name}.{key}"), plain(v));
            }
        }
        Item::Value(v) => {
            out.insert(name.to_string(), plain(v));
        }
        Item::None => {}
    }
}

/// A value as written, without its comments and spacing (`80  # stricter` is `80`).
fn plain(v: &toml_edit::Value) -> String {
    let mut v = v.clone();
    v.decor_mut().clear();
    v.to_string().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_band_and_a_changed_weight_are_named_by_setting_and_id() {
        let before = "[grades]\nb_min = 75\n\n[[indicators]]\nid = \"repair\"\nweight = 30\n\n[[indicators]]\nid = \"x\"\nweight = 10\n";
        let after = "# revised\n[grades]\nb_min = 80  # stricter\n\n[[indicators]]\nid = \"x\"\nweight = 10\n\n[[indicators]]\nid = \"repair\"\nweight = 35\n";
        let d = differences(before, after);
        let names: Vec<&str> = d.iter().map(|x| x.setting.as_str()).collect();
        assert_eq!(names, ["grades.b_min", "indicators.repair.weight"]);
        assert_eq!((d[0].before.as_str(), d[0].after.as_str()), ("75", "80"));
    }

    #[test]
    fn the_same_rules_differ_in_nothing() {
        assert!(differences(crate::config::DEFAULT_RULES, crate::config::DEFAULT_RULES).is_empty());
    }
}
