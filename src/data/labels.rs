//! Class names from the raw labels of a text file: integers are ordered by value (`2` before
//! `10`), anything else by name, so the class indices do not depend on the order of the rows.

use std::collections::BTreeMap;
use std::path::Path;

use super::files::err;
use crate::error::EbtError;

/// A raw label and the line it came from.
pub struct RawLabel {
    pub line: usize,
    pub value: String,
}

/// The sorted class names of `labels`.
pub fn class_names(labels: &[RawLabel]) -> Vec<String> {
    let mut names: Vec<&str> = labels.iter().map(|l| l.value.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let ints: Option<Vec<i64>> = names.iter().map(|s| s.parse::<i64>().ok()).collect();
    match ints {
        Some(mut v) => {
            v.sort_unstable();
            // "01" and "1" are one class as numbers; keep the first spelling of each value.
            v.dedup();
            let mut by_value: BTreeMap<i64, &str> = BTreeMap::new();
            for s in &names {
                if let Ok(n) = s.parse::<i64>() {
                    by_value.entry(n).or_insert(s);
                }
            }
            v.iter().map(|n| by_value[n].to_string()).collect()
        }
        None => names.iter().map(|s| s.to_string()).collect(),
    }
}

/// Class indices of `labels` in `names`; a label outside them is an error naming `path` and
/// the line (a test file with a class the training file lacks).
pub fn indices(path: &Path, labels: &[RawLabel], names: &[String]) -> Result<Vec<u32>, EbtError> {
    let numeric: Option<Vec<i64>> = names.iter().map(|s| s.parse::<i64>().ok()).collect();
    labels
        .iter()
        .map(|l| {
            let pos = match &numeric {
                Some(values) => l
                    .value
                    .parse::<i64>()
                    .ok()
                    .and_then(|n| values.iter().position(|&v| v == n)),
                None => names.iter().position(|n| *n == l.value),
            };
            pos.map(|p| p as u32).ok_or_else(|| {
                err(
                    path,
                    format!(
                        "line {}: label {:?} is not one of the training classes ({})",
                        l.line,
                        l.value,
                        names.join(", ")
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(v: &[&str]) -> Vec<RawLabel> {
        v.iter()
            .enumerate()
            .map(|(i, s)| RawLabel {
                line: i + 1,
                value: s.to_string(),
            })
            .collect()
    }

    #[test]
    fn integers_sort_by_value_strings_by_name() {
        assert_eq!(class_names(&raw(&["10", "2", "2", "1"])), ["1", "2", "10"]);
        assert_eq!(class_names(&raw(&["pos", "neg", "pos"])), ["neg", "pos"]);
        // One string makes them all names.
        assert_eq!(class_names(&raw(&["10", "2", "x"])), ["10", "2", "x"]);
    }

    #[test]
    fn indices_follow_names_and_reject_unknown_labels() {
        let names = class_names(&raw(&["1", "10", "2"]));
        let p = Path::new("t.csv");
        assert_eq!(
            indices(p, &raw(&["2", "10", "01"]), &names).unwrap(),
            [1, 2, 0]
        );
        let e = indices(p, &raw(&["1", "7"]), &names)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.csv: line 2: label \"7\""), "{e}");
    }
}
