//! The console's terminal, without the DOM: the screen state (the `vt100` crate parses the
//! shell's output), each screen row as HTML with its colours, keystrokes and pastes as the
//! bytes a terminal sends, and the answers to the shell's status queries (busybox's line
//! editor asks where the cursor is). Pure, so it is unit-tested on the host.

use std::fmt::Write as _;
use vt100::{Callbacks, Color, Screen};

/// Lines kept above the screen for scrolling back.
pub const SCROLLBACK: usize = 1000;

/// Collects what the terminal must answer to queries in the output.
#[derive(Default)]
pub struct Answers(pub Vec<u8>);

impl Callbacks for Answers {
    fn unhandled_csi(
        &mut self,
        screen: &mut Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        let first = params.first().and_then(|p| p.first()).copied().unwrap_or(0);
        match (i1, c, first) {
            // Device status report: "OK".
            (None, 'n', 5) => self.0.extend_from_slice(b"\x1b[0n"),
            // Where is the cursor (1-based row;col).
            (None, 'n', 6) => {
                let (row, col) = screen.cursor_position();
                let _ = write!(Answer(&mut self.0), "\x1b[{};{}R", row + 1, col + 1);
            }
            // Primary device attributes: a VT100 with advanced video.
            (None, 'c', 0) => self.0.extend_from_slice(b"\x1b[?1;2c"),
            _ => {}
        }
    }
}

struct Answer<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Answer<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

pub type Parser = vt100::Parser<Answers>;

/// A terminal of `rows` × `cols` (each at least 1).
pub fn parser(rows: u16, cols: u16) -> Parser {
    let n = |v: u16| std::num::NonZeroU16::new(v.max(1)).unwrap_or(std::num::NonZeroU16::MIN);
    vt100::Parser::new_with_callbacks(n(rows), n(cols), SCROLLBACK, Answers::default())
}

/// Feeds output to the terminal; returns the bytes it must send back (query answers).
pub fn feed(parser: &mut Parser, bytes: &[u8]) -> Vec<u8> {
    parser.process(bytes);
    std::mem::take(&mut parser.callbacks_mut().0)
}

/// The xterm palette: 16 base colours, a 6×6×6 cube, 24 greys.
pub fn palette(i: u8) -> (u8, u8, u8) {
    const BASE: [(u8, u8, u8); 16] = [
        (0x1d, 0x1f, 0x21),
        (0xcc, 0x33, 0x33),
        (0x4e, 0x9a, 0x06),
        (0xc4, 0xa0, 0x00),
        (0x34, 0x65, 0xa4),
        (0x9b, 0x5c, 0xb3),
        (0x06, 0x98, 0x9a),
        (0xd3, 0xd7, 0xcf),
        (0x55, 0x57, 0x53),
        (0xef, 0x29, 0x29),
        (0x8a, 0xe2, 0x34),
        (0xfc, 0xe9, 0x4f),
        (0x72, 0x9f, 0xcf),
        (0xad, 0x7f, 0xa8),
        (0x34, 0xe2, 0xe2),
        (0xee, 0xee, 0xec),
    ];
    match i {
        0..=15 => BASE[usize::from(i)],
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level(i / 6 % 6), level(i % 6))
        }
        _ => {
            let g = 8 + (i - 232) * 10;
            (g, g, g)
        }
    }
}

fn css(color: Color) -> Option<String> {
    let (r, g, b) = match color {
        Color::Default => return None,
        Color::Idx(i) => palette(i),
        Color::Rgb(r, g, b) => (r, g, b),
    };
    Some(format!("#{r:02x}{g:02x}{b:02x}"))
}

/// The look of one cell, as the `style` of its span ("" when plain).
fn style(cell: &vt100::Cell, cursor: bool) -> String {
    let (mut fg, mut bg) = (cell.fgcolor(), cell.bgcolor());
    if cell.bold()
        && let Color::Idx(i @ 0..=7) = fg
    {
        fg = Color::Idx(i + 8);
    }
    if cell.inverse() != cursor {
        std::mem::swap(&mut fg, &mut bg);
        if fg == Color::Default {
            fg = Color::Idx(0);
        }
        if bg == Color::Default {
            bg = Color::Idx(7);
        }
    }
    let mut out = String::new();
    if let Some(c) = css(fg) {
        let _ = write!(out, "color:{c};");
    }
    if let Some(c) = css(bg) {
        let _ = write!(out, "background:{c};");
    }
    if cell.bold() {
        out.push_str("font-weight:bold;");
    }
    if cell.italic() {
        out.push_str("font-style:italic;");
    }
    if cell.underline() {
        out.push_str("text-decoration:underline;");
    }
    out
}

fn escape_into(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// Row `row` of the screen as HTML: runs of cells with one look share a span; `cursor` is
/// the cursor's column when it is on this row and shown.
pub fn row_html(screen: &Screen, row: u16, cursor: Option<u16>) -> String {
    let (_, cols) = screen.size();
    let mut out = String::new();
    let mut run = String::new();
    let mut run_style = String::new();
    let flush = |out: &mut String, run: &mut String, style: &str| {
        if run.is_empty() {
            return;
        }
        if style.is_empty() {
            out.push_str(run);
        } else {
            let _ = write!(out, "<span style=\"{style}\">{run}</span>");
        }
        run.clear();
    };
    for col in 0..cols.get() {
        let Some(cell) = screen.cell(row, col) else {
            break;
        };
        if cell.is_wide_continuation() {
            continue;
        }
        let look = style(cell, cursor == Some(col));
        if look != run_style {
            flush(&mut out, &mut run, &run_style);
            run_style = look;
        }
        if cell.has_contents() {
            escape_into(&mut run, cell.contents());
        } else {
            run.push(' ');
        }
    }
    flush(&mut out, &mut run, &run_style);
    // Trailing plain blanks carry nothing.
    let kept = out.trim_end_matches(' ').len();
    out.truncate(kept);
    out
}

/// What a key press sends, as an xterm does: `key` is the DOM `KeyboardEvent.key`.
/// `app_cursor`: the shell asked for application cursor keys (`ESC O A` for ↑).
pub fn key_bytes(key: &str, ctrl: bool, alt: bool, app_cursor: bool) -> Option<Vec<u8>> {
    let cursor = |c: u8| {
        if app_cursor {
            vec![0x1b, b'O', c]
        } else {
            vec![0x1b, b'[', c]
        }
    };
    let seq = |s: &str| s.as_bytes().to_vec();
    let mut bytes = match key {
        "Enter" => vec![b'\r'],
        "Backspace" => vec![0x7f],
        "Tab" => vec![b'\t'],
        "Escape" => vec![0x1b],
        "ArrowUp" => cursor(b'A'),
        "ArrowDown" => cursor(b'B'),
        "ArrowRight" => cursor(b'C'),
        "ArrowLeft" => cursor(b'D'),
        "Home" => cursor(b'H'),
        "End" => cursor(b'F'),
        "Insert" => seq("\x1b[2~"),
        "Delete" => seq("\x1b[3~"),
        "PageUp" => seq("\x1b[5~"),
        "PageDown" => seq("\x1b[6~"),
        "F1" => seq("\x1bOP"),
        "F2" => seq("\x1bOQ"),
        "F3" => seq("\x1bOR"),
        "F4" => seq("\x1bOS"),
        _ => {
            let mut chars = key.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return None; // Shift, Control, F5…: nothing to send
            };
            if ctrl {
                match c.to_ascii_lowercase() {
                    l @ 'a'..='z' => vec![l as u8 - b'a' + 1],
                    '@' | ' ' | '2' => vec![0],
                    '[' | '3' => vec![0x1b],
                    '\\' | '4' => vec![0x1c],
                    ']' | '5' => vec![0x1d],
                    '^' | '6' => vec![0x1e],
                    '_' | '-' | '7' => vec![0x1f],
                    '?' | '8' => vec![0x7f],
                    _ => return None,
                }
            } else {
                c.to_string().into_bytes()
            }
        }
    };
    if alt {
        bytes.insert(0, 0x1b);
    }
    Some(bytes)
}

/// Pasted text as typed input: line ends become Enter (`\r`); wrapped in the bracketed-paste
/// markers when the shell asked for them (so it does not run each line as it comes).
pub fn paste_bytes(text: &str, bracketed: bool) -> Vec<u8> {
    let text = text.replace("\r\n", "\r").replace('\n', "\r");
    if bracketed {
        // A paste must not end the bracket early.
        let text = text.replace("\x1b[201~", "");
        format!("\x1b[200~{text}\x1b[201~").into_bytes()
    } else {
        text.into_bytes()
    }
}

/// The terminal size that fits `width` × `height` pixels of cells of `cell_w` × `cell_h`.
pub fn fit(width: f64, height: f64, cell_w: f64, cell_h: f64) -> (u16, u16) {
    let count = |space: f64, cell: f64| {
        if cell <= 0.0 || !space.is_finite() {
            return 1;
        }
        (space / cell).floor().clamp(1.0, 1000.0) as u16
    };
    (count(height, cell_h), count(width, cell_w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_carry_colours_and_escape_html() {
        let mut p = parser(3, 20);
        feed(
            &mut p,
            b"a<b>&\x1b[31mred\x1b[0m \x1b[1;32mok\x1b[0m\r\n\x1b[44m \x1b[0m",
        );
        let html = row_html(p.screen(), 0, None);
        assert_eq!(
            html,
            "a&lt;b&gt;&amp;<span style=\"color:#cc3333;\">red</span> \
             <span style=\"color:#8ae234;font-weight:bold;\">ok</span>"
        );
        assert_eq!(
            row_html(p.screen(), 1, None),
            "<span style=\"background:#3465a4;\"> </span>"
        );
        assert_eq!(row_html(p.screen(), 2, None), "");
    }

    #[test]
    fn the_cursor_is_an_inverse_cell() {
        let mut p = parser(2, 10);
        feed(&mut p, b"$ ");
        let (row, col) = p.screen().cursor_position();
        assert_eq!((row, col), (0, 2));
        assert_eq!(
            row_html(p.screen(), 0, Some(col)),
            "$ <span style=\"color:#1d1f21;background:#d3d7cf;\"> </span>"
        );
    }

    #[test]
    fn cursor_queries_are_answered() {
        let mut p = parser(5, 10);
        let answer = feed(&mut p, b"\r\n\r\n/ # \x1b[6n");
        assert_eq!(answer, b"\x1b[3;5R");
        assert_eq!(feed(&mut p, b"\x1b[c"), b"\x1b[?1;2c");
        assert!(feed(&mut p, b"plain").is_empty());
    }

    #[test]
    fn keys_become_terminal_bytes() {
        assert_eq!(key_bytes("a", false, false, false).unwrap(), b"a");
        assert_eq!(key_bytes("é", false, false, false).unwrap(), "é".as_bytes());
        assert_eq!(key_bytes("Enter", false, false, false).unwrap(), b"\r");
        assert_eq!(key_bytes("c", true, false, false).unwrap(), [3]);
        assert_eq!(key_bytes("D", true, false, false).unwrap(), [4]);
        assert_eq!(
            key_bytes("ArrowUp", false, false, false).unwrap(),
            b"\x1b[A"
        );
        assert_eq!(key_bytes("ArrowUp", false, false, true).unwrap(), b"\x1bOA");
        assert_eq!(key_bytes("b", false, true, false).unwrap(), b"\x1bb");
        assert_eq!(key_bytes("Backspace", false, false, false).unwrap(), [0x7f]);
        assert_eq!(key_bytes("Shift", false, false, false), None);
        assert_eq!(key_bytes("F11", false, false, false), None);
    }

    #[test]
    fn pastes_become_typed_lines() {
        assert_eq!(paste_bytes("ls\necho hi\r\n", false), b"ls\recho hi\r");
        assert_eq!(
            paste_bytes("a\x1b[201~b", true),
            b"\x1b[200~ab\x1b[201~".to_vec()
        );
    }

    #[test]
    fn sizes_fit_the_box() {
        assert_eq!(fit(800.0, 480.0, 8.0, 16.0), (30, 100));
        assert_eq!(fit(0.0, 0.0, 8.0, 16.0), (1, 1));
        assert_eq!(fit(800.0, 480.0, 0.0, 16.0), (30, 1));
        assert_eq!(palette(196), (255, 0, 0));
        assert_eq!(palette(232), (8, 8, 8));
    }
}
