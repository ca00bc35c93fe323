//! What a typed one-time code must look like before anything asks the store.

/// Six digits, spaces ignored (apps and texts show `123 456`); `None` otherwise.
pub fn six_digits(code: &str) -> Option<String> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_digits_with_spaces_pass_and_nothing_else() {
        assert_eq!(six_digits(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(six_digits("12345"), None);
        assert_eq!(six_digits("12345a"), None);
        assert_eq!(six_digits("١٢٣٤٥٦"), None);
    }
}
