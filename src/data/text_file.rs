//! `text-csv`: labelled texts in one table file, CSV, TSV or JSONL (chosen by `data.format` or
//! the extension; a gzipped file is read as well). Columns are found by header name or 0-based
//! index (`data.text_column`, `data.label_column`); labels may be integers or strings
//! (`labels.rs`). CSV honours quotes (a quoted field may hold commas, newlines and `""`); TSV
//! does not, because TSV exports rarely escape the quotes inside their texts.

use std::path::Path;

use super::batch::{Examples, Features};
use super::files::{self, err, read_bytes};
use super::labels::{self, RawLabel};
use super::{split, TextCorpus};
use crate::config::{Column, DataSection};
use crate::error::EbtError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Tsv,
    Jsonl,
}

impl Format {
    fn of(section: &DataSection, path: &Path) -> Result<Format, EbtError> {
        let name = section.format.clone().unwrap_or_else(|| {
            // `reviews.csv.gz` is told by the extension under the `.gz`.
            let p = if files::extension(path) == "gz" {
                path.with_extension("")
            } else {
                path.to_path_buf()
            };
            files::extension(&p)
        });
        match name.as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" | "tab" => Ok(Format::Tsv),
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            _ => Err(EbtError::config(format!(
                "data.format: cannot tell the format of {} from its extension; set data.format = \"csv\", \"tsv\" or \"jsonl\"",
                path.display()
            ))),
        }
    }
}

/// Texts and raw labels of one file.
struct Rows {
    texts: Vec<String>,
    labels: Vec<RawLabel>,
}

pub fn load(section: &DataSection, seed: u64) -> Result<TextCorpus, EbtError> {
    let path = files::data_path(section)?;
    let rows = read_rows(path, section)?;
    let names = labels::class_names(&rows.labels);
    if names.len() < 2 {
        return Err(err(
            path,
            format!(
                "only one class ({}) in the label column; a classifier needs two",
                names.join(", ")
            ),
        ));
    }
    let pool = Examples::new(
        Features::Texts(rows.texts),
        labels::indices(path, &rows.labels, &names)?,
    );
    let test = match &section.test_path {
        Some(tp) => {
            let t = read_rows(tp, section)?;
            Some(Examples::new(
                Features::Texts(t.texts),
                labels::indices(tp, &t.labels, &names)?,
            ))
        }
        None => None,
    };
    let (train, test) = split::train_test(pool, test, names.len(), section, seed);
    Ok(TextCorpus {
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "text-csv".into()),
        class_names: names,
        train,
        test,
    })
}

fn read_rows(path: &Path, section: &DataSection) -> Result<Rows, EbtError> {
    let format = Format::of(section, path)?;
    let bytes = read_bytes(path)?;
    let rows = match format {
        Format::Jsonl => read_jsonl(path, &bytes, section)?,
        Format::Csv | Format::Tsv => read_table(path, &bytes, format, section)?,
    };
    if rows.labels.is_empty() {
        return Err(err(path, "no examples"));
    }
    Ok(rows)
}

/// A column given by name needs a header; one given by index needs none.
fn column_index(
    key: &str,
    col: &Column,
    header: Option<&[String]>,
    path: &Path,
) -> Result<usize, EbtError> {
    match (col, header) {
        (Column::Index(i), _) => Ok(*i),
        (Column::Name(n), Some(h)) => h.iter().position(|c| c == n).ok_or_else(|| {
            err(
                path,
                format!(
                    "line 1: no column {n:?} ({key}); the header has: {}",
                    h.join(", ")
                ),
            )
        }),
        (Column::Name(n), None) => Err(EbtError::config(format!(
            "{key}: {n:?} names a column but data.header = false; give its 0-based index"
        ))),
    }
}

/// The configured columns, else "text"/"label" (by name with a header, 0/1 without).
fn columns(section: &DataSection, by_name: bool) -> Result<(Column, Column), EbtError> {
    let default = |name: &str, idx: usize| {
        if by_name {
            Column::Name(name.into())
        } else {
            Column::Index(idx)
        }
    };
    let text = section
        .text_column
        .clone()
        .unwrap_or_else(|| default("text", 0));
    let label = section
        .label_column
        .clone()
        .unwrap_or_else(|| default("label", 1));
    if text == label {
        return Err(EbtError::config(format!(
            "data.label_column: {label} is also data.text_column"
        )));
    }
    Ok((text, label))
}

/// One example's text and label, checked; `line` is for messages.
fn push_row(
    rows: &mut Rows,
    path: &Path,
    line: usize,
    text: &str,
    label: &str,
) -> Result<(), EbtError> {
    let text = text.trim();
    let label = label.trim();
    if text.is_empty() {
        return Err(err(path, format!("line {line}: empty text")));
    }
    if label.is_empty() {
        return Err(err(path, format!("line {line}: empty label")));
    }
    rows.texts.push(text.to_string());
    rows.labels.push(RawLabel {
        line,
        value: label.to_string(),
    });
    Ok(())
}

fn read_table(
    path: &Path,
    bytes: &[u8],
    format: Format,
    section: &DataSection,
) -> Result<Rows, EbtError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(if format == Format::Tsv { b'\t' } else { b',' })
        .quoting(format == Format::Csv)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let (text_col, label_col) = columns(section, section.header)?;
    let mut idx = if section.header {
        None
    } else {
        Some((
            column_index("data.text_column", &text_col, None, path)?,
            column_index("data.label_column", &label_col, None, path)?,
        ))
    };
    let mut rows = Rows {
        texts: Vec::new(),
        labels: Vec::new(),
    };
    let mut rec = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(err(path, format!("line {line}: {e}")));
            }
        }
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        let field = |i: usize, key: &str| -> Result<&str, EbtError> {
            let raw = rec.get(i).ok_or_else(|| {
                err(
                    path,
                    format!(
                        "line {line}: {} field{}, no column {i} ({key})",
                        rec.len(),
                        if rec.len() == 1 { "" } else { "s" }
                    ),
                )
            })?;
            std::str::from_utf8(raw)
                .map_err(|_| err(path, format!("line {line}: invalid UTF-8 in column {i}")))
        };
        let Some((ti, li)) = idx else {
            let mut names = Vec::with_capacity(rec.len());
            for i in 0..rec.len() {
                names.push(field(i, "header")?.trim().to_string());
            }
            // A UTF-8 byte-order mark from spreadsheet exports sticks to the first name.
            if let Some(first) = names.first_mut() {
                *first = first.trim_start_matches('\u{feff}').to_string();
            }
            idx = Some((
                column_index("data.text_column", &text_col, Some(&names), path)?,
                column_index("data.label_column", &label_col, Some(&names), path)?,
            ));
            continue;
        };
        let text = field(ti, "data.text_column")?;
        let label = field(li, "data.label_column")?;
        push_row(&mut rows, path, line, text, label)?;
    }
    Ok(rows)
}

fn read_jsonl(path: &Path, bytes: &[u8], section: &DataSection) -> Result<Rows, EbtError> {
    let (text_col, label_col) = columns(section, true)?;
    let key = |col: Column, name: &str| match col {
        Column::Name(n) => Ok(n),
        Column::Index(i) => Err(EbtError::config(format!(
            "{name}: JSONL rows are objects; name a key, not index {i}"
        ))),
    };
    let text_key = key(text_col, "data.text_column")?;
    let label_key = key(label_col, "data.label_column")?;
    let mut rows = Rows {
        texts: Vec::new(),
        labels: Vec::new(),
    };
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let s = std::str::from_utf8(raw)
            .map_err(|_| err(path, format!("line {line}: invalid UTF-8")))?;
        let value: serde_json::Value = serde_json::from_str(s).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or_default();
            err(
                path,
                format!("line {line}: invalid JSON at column {}: {msg}", e.column()),
            )
        })?;
        let obj = value
            .as_object()
            .ok_or_else(|| err(path, format!("line {line}: not a JSON object")))?;
        let get = |k: &str, what: &str| {
            obj.get(k).ok_or_else(|| {
                err(
                    path,
                    format!("line {line}: no key {k:?} (data.{what}_column)"),
                )
            })
        };
        let text = get(&text_key, "text")?
            .as_str()
            .ok_or_else(|| err(path, format!("line {line}: {text_key:?} is not a string")))?;
        let label = match get(&label_key, "label")? {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            other => {
                return Err(err(
                    path,
                    format!("line {line}: label {other} is neither a string nor an integer"),
                ))
            }
        };
        push_row(&mut rows, path, line, text, &label)?;
    }
    Ok(rows)
}
