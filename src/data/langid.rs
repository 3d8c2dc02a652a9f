//! Language identification on real sentences: each `lingua-<language>-language-model` crate carries
//! 1,000 sentences of its language, returned as texts (`data::load` tokenizes them).

use super::batch::{Examples, Features};
use super::split;
use super::TextCorpus;
use crate::config::DataSection;
use crate::error::EbtError;

/// Languages available offline.
pub const LANGUAGES: [&str; 6] = [
    "english",
    "french",
    "german",
    "spanish",
    "italian",
    "portuguese",
];

fn sentences(language: &str) -> Option<&'static str> {
    let dir = match language {
        "english" => &lingua_english_language_model::ENGLISH_TESTDATA_DIRECTORY,
        "french" => &lingua_french_language_model::FRENCH_TESTDATA_DIRECTORY,
        "german" => &lingua_german_language_model::GERMAN_TESTDATA_DIRECTORY,
        "spanish" => &lingua_spanish_language_model::SPANISH_TESTDATA_DIRECTORY,
        "italian" => &lingua_italian_language_model::ITALIAN_TESTDATA_DIRECTORY,
        "portuguese" => &lingua_portuguese_language_model::PORTUGUESE_TESTDATA_DIRECTORY,
        _ => return None,
    };
    dir.get_file("sentences.txt")
        .and_then(|f| f.contents_utf8())
}

pub fn load(section: &DataSection, seed: u64) -> Result<TextCorpus, EbtError> {
    if section.languages.len() < 2 {
        return Err(EbtError::config(format!(
            "data.languages: need at least two languages, got {:?}",
            section.languages
        )));
    }
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    for (c, lang) in section.languages.iter().enumerate() {
        let text = sentences(lang).ok_or_else(|| {
            EbtError::config(format!(
                "data.languages: unknown language {lang:?} (available: {})",
                LANGUAGES.join(", ")
            ))
        })?;
        for line in text.lines() {
            // Some French lines carry the Windows-1252 apostrophe as U+0092.
            let line = line.trim().replace('\u{92}', "'");
            if line.is_empty() {
                continue;
            }
            texts.push(line);
            labels.push(c as u32);
        }
    }
    let n = section.languages.len();
    let all = Examples::new(Features::Texts(texts), labels);
    let (train, test) = split::train_test(all, None, n, section, seed);
    Ok(TextCorpus {
        name: "langid".into(),
        class_names: section.languages.clone(),
        train,
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_languages_of_real_sentences() {
        let d = load(&DataSection::default(), 3).unwrap();
        assert_eq!(d.class_names.len(), 6);
        assert!(
            d.train.len() + d.test.len() >= 5900,
            "{}",
            d.train.len() + d.test.len()
        );
        let Features::Texts(t) = &d.train.features else {
            panic!()
        };
        assert!(t.iter().all(|s| !s.is_empty() && s.trim() == s));
    }

    #[test]
    fn unknown_language_names_the_key() {
        let s = DataSection {
            source: "langid".into(),
            languages: vec!["english".into(), "klingon".into()],
            ..DataSection::default()
        };
        let e = load(&s, 1).unwrap_err().to_string();
        assert!(e.contains("data.languages") && e.contains("klingon"), "{e}");
    }
}
