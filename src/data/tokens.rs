//! Byte-level tokens shared by every text source: UTF-8 bytes 0..=255, then three special ids, a
//! start token first. A trained tokenizer is a separate concern; bytes need no vocabulary file and
//! give every source the same `DataShape::Text`.

use super::DataShape;

pub const PAD_ID: u32 = 256;
pub const BOS_ID: u32 = 257;
pub const EOS_ID: u32 = 258;
pub const VOCAB_SIZE: usize = 259;

/// Byte tokens of one text: start token, then at most `max_length - 1` bytes.
pub fn encode(text: &str, max_length: usize) -> Vec<u32> {
    let mut ids = Vec::with_capacity(max_length);
    ids.push(BOS_ID);
    ids.extend(
        text.bytes()
            .take(max_length.saturating_sub(1))
            .map(u32::from),
    );
    ids
}

/// The shape of byte-token sequences of at most `max_length` tokens.
pub fn text_shape(max_length: usize) -> DataShape {
    DataShape::Text {
        vocab_size: VOCAB_SIZE,
        max_length,
        pad_id: PAD_ID,
        bos_id: BOS_ID,
        eos_id: EOS_ID,
    }
}

/// 1-based line of byte `offset` in `bytes` (for "line N" in error messages).
pub fn line_of(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_truncates_after_the_start_token() {
        assert_eq!(encode("abc", 3), vec![BOS_ID, 97, 98]);
        assert_eq!(encode("", 8), vec![BOS_ID]);
        assert_eq!(encode("é", 8), vec![BOS_ID, 0xc3, 0xa9]);
    }

    #[test]
    fn line_of_counts_newlines_before_the_offset() {
        assert_eq!(line_of(b"a\nb\nc", 0), 1);
        assert_eq!(line_of(b"a\nb\nc", 2), 2);
        assert_eq!(line_of(b"a\nb\nc", 4), 3);
    }
}
