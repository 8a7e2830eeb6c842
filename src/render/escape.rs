//! Outside text made safe for the medium it is shown in. Everything a job's messages
//! quote from outside — stage names, images, tags, the PaaS's error messages, reasons
//! people typed, people's names, log lines — has passed the redactor already; here it
//! is made unable to change the message around it: on one line, with control
//! characters shown rather than obeyed (a terminal would run them: clear the screen,
//! write the clipboard), and on Discord with no markdown left in it (a helm error must
//! not post a heading or a link in the bot's name).

/// What stands where a line break was in text shown on one line.
const LINE_BREAK: &str = " ⏎ ";

/// `s` on one line: each line break (and a run of them) becomes ` ⏎ `, other control
/// characters are shown as escapes.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut broke = false;
    for c in s
        .trim_matches(|c: char| is_break(c) || c.is_whitespace())
        .chars()
    {
        if is_break(c) {
            if !broke {
                out.push_str(LINE_BREAK);
            }
            broke = true;
            continue;
        }
        broke = false;
        push_visible(&mut out, c);
    }
    out
}

/// `s` with its control characters shown as escapes, its line breaks kept: what a
/// terminal prints of outside text.
pub fn visible_controls(s: &str) -> String {
    if !s.chars().any(|c| c != '\n' && needs_showing(c)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c == '\n' {
            out.push(c);
        } else {
            push_visible(&mut out, c);
        }
    }
    out
}

/// Inline text on Discord: every character markdown gives a meaning to is escaped, so
/// the text shows as typed and nothing in it becomes a heading, a link, a quote, a
/// list, a spoiler, a code span or a mention.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.char_indices().peekable();
    let mut previous: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '(' | ')' | '<' | '>' | '#' => {
                out.push('\\');
                out.push(c);
            }
            // `-# ` makes small text and `- ` a list, at a line's start.
            '-' if previous.is_none() => out.push_str("\\-"),
            // `https://…` becomes a link by itself; `https\://…` shows the same and is
            // not one.
            ':' if chars.peek().is_some_and(|(_, next)| *next == '/') => out.push_str("\\:"),
            // `@everyone` and `@here` are never allowed to notify, but still show as
            // mentions; a zero-width space keeps them plain words. (Other mentions
            // need `<@…>`, and `<` is escaped.)
            '@' if ["everyone", "here"].iter().any(|m| {
                s[i + 1..]
                    .get(..m.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(m))
            }) =>
            {
                out.push('@');
                out.push('\u{200B}');
            }
            _ => out.push(c),
        }
        previous = Some(c);
    }
    out
}

/// Lines for a code block that no line can close or escape: no two backticks stand
/// together (a zero-width space between them), so no run of three (or four) ever
/// forms, and control characters are shown.
pub fn code_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 4);
    let mut previous_tick = false;
    for c in line.chars() {
        if c == '`' && previous_tick {
            out.push('\u{200B}');
        }
        previous_tick = c == '`';
        push_visible(&mut out, c);
    }
    out
}

fn is_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Control characters, and the format characters that reorder or hide what is shown
/// (bidirectional overrides and isolates, which can make `exe.txt` read `txt.exe`).
fn needs_showing(c: char) -> bool {
    c.is_control() && c != '\t'
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

fn push_visible(out: &mut String, c: char) {
    if c == '\t' {
        out.push(' ');
    } else if needs_showing(c) {
        out.push_str(&c.escape_unicode().to_string());
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_become_one_mark_and_controls_show() {
        assert_eq!(one_line("a\nb\r\n\nc"), "a ⏎ b ⏎ c");
        assert_eq!(one_line("\nerror\n"), "error");
        assert_eq!(
            one_line("x\u{1b}]52;c;aGk=\u{7}y"),
            "x\\u{1b}]52;c;aGk=\\u{7}y"
        );
        assert_eq!(one_line("a\u{202E}txt"), "a\\u{202e}txt");
        assert_eq!(visible_controls("a\nb\u{1b}[2J"), "a\nb\\u{1b}[2J");
    }

    #[test]
    fn markdown_is_shown_not_obeyed() {
        assert_eq!(
            markdown("# PWNED [click me](https://evil.example/login)"),
            "\\# PWNED \\[click me\\]\\(https\\://evil.example/login\\)"
        );
        assert_eq!(markdown("-# small"), "\\-\\# small");
        assert_eq!(
            markdown("a-b **c** __d__"),
            "a-b \\*\\*c\\*\\* \\_\\_d\\_\\_"
        );
        assert_eq!(markdown("@everyone"), "@\u{200B}everyone");
        assert_eq!(markdown("web@master"), "web@master");
        assert_eq!(
            markdown("||spoiler|| `code` > q"),
            "\\|\\|spoiler\\|\\| \\`code\\` \\> q"
        );
    }

    #[test]
    fn no_line_can_close_a_code_block() {
        for line in ["```", "````", "x```y", "``` ```", "`````````"] {
            assert!(!code_line(line).contains("``"), "{line}");
        }
        assert_eq!(code_line("a `b` c"), "a `b` c");
    }
}
