//! Word wrapping for the plain-text version of emails: lines of at most [`WIDTH`]
//! characters, so that quoting clients (which add `> `) stay under 78.

/// The target line length, in characters.
pub const WIDTH: usize = 72;

/// `text` wrapped at [`WIDTH`]. Breaks only at ASCII whitespace: French puts no-break
/// spaces before `:` and inside « », and a line must not start with the punctuation.
/// Newlines in the input are treated as spaces (values come from callers). A word longer
/// than a line is cut, unless it is a URL, which must stay whole to remain usable.
pub fn wrap(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split_ascii_whitespace() {
        let word_len = word.chars().count();
        if word_len > WIDTH && !is_url(word) {
            // Cut anyway, so start it on the current line if there is room.
            if len > 0 && len + 1 < WIDTH {
                line.push(' ');
                len += 1;
            } else if len > 0 {
                lines.push(std::mem::take(&mut line));
                len = 0;
            }
            for c in word.chars() {
                if len == WIDTH {
                    lines.push(std::mem::take(&mut line));
                    len = 0;
                }
                line.push(c);
                len += 1;
            }
            continue;
        }
        if len > 0 && len + 1 + word_len > WIDTH {
            lines.push(std::mem::take(&mut line));
            len = 0;
        }
        if len > 0 {
            line.push(' ');
            len += 1;
        }
        line.push_str(word);
        len += word_len;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.join("\n")
}

/// `text` wrapped and underlined with `=`, as a plain-text title.
pub fn heading(text: &str) -> String {
    let wrapped = wrap(text);
    let width = wrapped
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    format!("{wrapped}\n{}", "=".repeat(width))
}

fn is_url(word: &str) -> bool {
    word.starts_with("https://") || word.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_the_width_and_keeps_no_break_spaces() {
        let text = "Vous pouvez ignorer cet e-mail\u{a0}: aucun compte ne sera créé. ".repeat(6);
        let wrapped = wrap(&text);
        assert!(wrapped.lines().count() > 1);
        for line in wrapped.lines() {
            assert!(line.chars().count() <= WIDTH, "{line:?}");
            assert!(!line.starts_with(':') && !line.starts_with('\u{a0}'));
        }
        assert!(wrapped.contains("e-mail\u{a0}:"));
    }

    #[test]
    fn long_words_are_cut_but_urls_are_not() {
        let word = "x".repeat(100);
        let url = format!("https://example.gov/{word}");
        let wrapped = wrap(&format!("Device: {word} {url}"));
        let lines: Vec<_> = wrapped.lines().collect();
        assert_eq!(lines[0], format!("Device: {}", &word[..WIDTH - 8]));
        assert_eq!(lines[1].len(), 100 - (WIDTH - 8));
        assert_eq!(lines.last(), Some(&url.as_str()));
    }

    #[test]
    fn newlines_in_values_become_spaces() {
        assert_eq!(wrap("a\nb\r\n c"), "a b c");
        assert_eq!(heading("Title"), "Title\n=====");
    }
}
