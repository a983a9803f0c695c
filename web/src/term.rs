//! The console's terminal, without the DOM: the `vte` crate parses the shell's output (the
//! escape-sequence state machine of Alacritty), and [`Screen`] keeps the grid a terminal
//! shows — cursor moves, erases, scroll regions and scrollback, insert and delete, colours
//! (16, 256 and RGB) and attributes, the alternate screen, wide characters, and the modes a
//! shell asks for (application cursor keys, bracketed paste, hidden cursor). It answers the
//! status queries shells send (busybox's line editor asks where the cursor is). Each row comes
//! out as HTML; keystrokes and pastes go back as the bytes a terminal sends. Pure, so it is
//! unit-tested on the host.
//!
//! Why not the `vt100` crate: it did all this and more, but cost about 30 KB of the
//! dashboard's gzipped wasm (its generic screen code and Unicode tables); this model is a
//! third of that and covers what shells and full-screen tools in a container use.

use std::collections::VecDeque;
use std::fmt::Write as _;
use vte::{Params, Perform};

/// Lines kept above the screen for scrolling back.
pub const SCROLLBACK: usize = 1000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Color {
    #[default]
    Default,
    Idx(u8),
    Rgb(u8, u8, u8),
}

const BOLD: u8 = 1;
const ITALIC: u8 = 2;
const UNDERLINE: u8 = 4;
const INVERSE: u8 = 8;

/// How a cell looks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Pen {
    fg: Color,
    bg: Color,
    flags: u8,
}

/// A wide character takes its cell and a `Tail` cell after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Width {
    One,
    Two,
    Tail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cell {
    ch: char,
    pen: Pen,
    width: Width,
}

impl Cell {
    fn blank(pen: Pen) -> Cell {
        Cell {
            ch: ' ',
            // Erased cells keep only the background colour (as xterm does).
            pen: Pen {
                bg: pen.bg,
                ..Pen::default()
            },
            width: Width::One,
        }
    }
}

type Row = Vec<Cell>;

/// Columns `c` takes: 0 for combining marks and other zero-width characters, 2 for East
/// Asian wide and fullwidth characters and emoji, else 1.
pub fn char_width(c: char) -> usize {
    let u = c as u32;
    let zero = matches!(u, 0x300..=0x36F | 0x483..=0x489 | 0x591..=0x5BD | 0x610..=0x61A
        | 0x64B..=0x65F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x200B..=0x200F | 0x20D0..=0x20FF
        | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F | 0xE0100..=0xE01EF);
    let wide = matches!(u, 0x1100..=0x115F | 0x231A..=0x231B | 0x2329..=0x232A | 0x23E9..=0x23EC
        | 0x25FD..=0x25FE | 0x2614..=0x2615 | 0x2648..=0x2653 | 0x26A1 | 0x26AA..=0x26AB
        | 0x26BD..=0x26BE | 0x26C4..=0x26C5 | 0x26D4 | 0x26EA | 0x26F2..=0x26F5 | 0x26FA
        | 0x26FD | 0x2705 | 0x270A..=0x270B | 0x2728 | 0x274C | 0x2753..=0x2755 | 0x2757
        | 0x2795..=0x2797 | 0x27B0 | 0x27BF | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55
        | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xA960..=0xA97F | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE10..=0xFE19 | 0xFE30..=0xFE6F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6
        | 0x1F004 | 0x1F0CF | 0x1F18E | 0x1F191..=0x1F19A | 0x1F200..=0x1F251
        | 0x1F300..=0x1F64F | 0x1F680..=0x1F6FF | 0x1F900..=0x1F9FF | 0x1FA70..=0x1FAFF
        | 0x20000..=0x2FFFD | 0x30000..=0x3FFFD);
    if zero {
        0
    } else if wide {
        2
    } else {
        1
    }
}

/// The grid, cursor and modes.
pub struct Screen {
    rows: usize,
    cols: usize,
    grid: Vec<Row>,
    /// The other screen: the main one while the alternate is shown, and the other way round.
    other: Vec<Row>,
    alternate: bool,
    history: VecDeque<Row>,
    /// Lines scrolled back in the view (0: the live screen).
    back: usize,
    row: usize,
    col: usize,
    /// The last column was written: the next character wraps first.
    wrap_pending: bool,
    saved: (usize, usize, Pen),
    pen: Pen,
    /// The scroll region, inclusive.
    top: usize,
    bottom: usize,
    app_cursor: bool,
    bracketed_paste: bool,
    hide_cursor: bool,
    autowrap: bool,
    /// What the terminal must send back (answers to queries).
    answers: Vec<u8>,
}

/// A terminal: the escape-sequence parser and the screen it drives.
pub struct Terminal {
    parser: vte::Parser,
    pub screen: Screen,
}

/// A terminal of `rows` × `cols` (each at least 1).
pub fn parser(rows: u16, cols: u16) -> Terminal {
    let (rows, cols) = (usize::from(rows.max(1)), usize::from(cols.max(1)));
    Terminal {
        parser: vte::Parser::new(),
        screen: Screen {
            rows,
            cols,
            grid: vec![vec![Cell::blank(Pen::default()); cols]; rows],
            other: Vec::new(),
            alternate: false,
            history: VecDeque::new(),
            back: 0,
            row: 0,
            col: 0,
            wrap_pending: false,
            saved: (0, 0, Pen::default()),
            pen: Pen::default(),
            top: 0,
            bottom: rows - 1,
            app_cursor: false,
            bracketed_paste: false,
            hide_cursor: false,
            autowrap: true,
            answers: Vec::new(),
        },
    }
}

/// Feeds output to the terminal; returns the bytes it must send back (query answers).
pub fn feed(term: &mut Terminal, bytes: &[u8]) -> Vec<u8> {
    term.parser.advance(&mut term.screen, bytes);
    std::mem::take(&mut term.screen.answers)
}

impl Screen {
    /// (rows, columns).
    pub fn size(&self) -> (u16, u16) {
        (self.rows as u16, self.cols as u16)
    }

    /// (row, column) of the cursor on the live screen.
    pub fn cursor_position(&self) -> (u16, u16) {
        (self.row as u16, self.col as u16)
    }

    pub fn hide_cursor(&self) -> bool {
        self.hide_cursor
    }

    pub fn application_cursor(&self) -> bool {
        self.app_cursor
    }

    pub fn bracketed_paste(&self) -> bool {
        self.bracketed_paste
    }

    /// Lines scrolled back in the view.
    pub fn scrollback(&self) -> usize {
        self.back
    }

    /// Scrolls the view `back` lines up (clamped to what is kept; 0: the live screen).
    pub fn set_scrollback(&mut self, back: usize) {
        self.back = if self.alternate {
            0
        } else {
            back.min(self.history.len())
        };
    }

    fn blank_row(&self) -> Row {
        vec![Cell::blank(self.pen); self.cols]
    }

    /// Row `r` of the view (scrolled back or live).
    fn view_row(&self, r: usize) -> Option<&Row> {
        if self.back == 0 {
            return self.grid.get(r);
        }
        let i = self.history.len() - self.back + r;
        match self.history.get(i) {
            Some(row) => Some(row),
            None => self.grid.get(i - self.history.len()),
        }
    }

    /// Changes the size: rows that no longer fit above the cursor go to the scrollback.
    pub fn set_size(&mut self, rows: u16, cols: u16) {
        let (rows, cols) = (usize::from(rows.max(1)), usize::from(cols.max(1)));
        for grid in [&mut self.grid, &mut self.other] {
            if grid.is_empty() {
                continue;
            }
            for row in grid.iter_mut() {
                row.resize(cols, Cell::blank(Pen::default()));
            }
        }
        for row in self.history.iter_mut() {
            row.resize(cols, Cell::blank(Pen::default()));
        }
        while self.grid.len() > rows {
            if self.row > 0 && self.row >= rows {
                let top = self.grid.remove(0);
                if !self.alternate {
                    self.keep(top);
                }
                self.row -= 1;
            } else {
                self.grid.pop();
            }
        }
        self.cols = cols;
        while self.grid.len() < rows {
            self.grid.push(vec![Cell::blank(Pen::default()); cols]);
        }
        if !self.other.is_empty() {
            self.other
                .resize(rows, vec![Cell::blank(Pen::default()); cols]);
        }
        self.rows = rows;
        self.top = 0;
        self.bottom = rows - 1;
        self.row = self.row.min(rows - 1);
        self.col = self.col.min(cols - 1);
        self.wrap_pending = false;
        self.back = self.back.min(self.history.len());
    }

    fn keep(&mut self, row: Row) {
        self.history.push_back(row);
        if self.history.len() > SCROLLBACK {
            self.history.pop_front();
        }
    }

    /// Scrolls the region up `n` lines; with `keep`, lines leaving the top of the main
    /// screen go to the scrollback.
    fn scroll_up(&mut self, n: usize, keep: bool) {
        let n = n.min(self.bottom + 1 - self.top);
        for _ in 0..n {
            let gone = self.grid.remove(self.top);
            if keep && self.top == 0 && !self.alternate {
                self.keep(gone);
                if self.back > 0 {
                    self.back = (self.back + 1).min(self.history.len());
                }
            }
            let blank = self.blank_row();
            self.grid.insert(self.bottom, blank);
        }
    }

    fn scroll_down(&mut self, n: usize) {
        let n = n.min(self.bottom + 1 - self.top);
        for _ in 0..n {
            self.grid.remove(self.bottom);
            let blank = self.blank_row();
            self.grid.insert(self.top, blank);
        }
    }

    fn linefeed(&mut self) {
        self.wrap_pending = false;
        if self.row == self.bottom {
            self.scroll_up(1, true);
        } else if self.row + 1 < self.rows {
            self.row += 1;
        }
    }

    fn reverse_index(&mut self) {
        self.wrap_pending = false;
        if self.row == self.top {
            self.scroll_down(1);
        } else {
            self.row = self.row.saturating_sub(1);
        }
    }

    fn goto(&mut self, row: usize, col: usize) {
        self.row = row.min(self.rows - 1);
        self.col = col.min(self.cols - 1);
        self.wrap_pending = false;
    }

    /// Blanks columns `from..to` of row `row`.
    fn erase(&mut self, row: usize, from: usize, to: usize) {
        let blank = Cell::blank(self.pen);
        if let Some(r) = self.grid.get_mut(row) {
            let to = to.min(r.len());
            for cell in r.iter_mut().take(to).skip(from) {
                *cell = blank;
            }
        }
    }

    fn set_cell(&mut self, row: usize, col: usize, cell: Cell) {
        let Some(r) = self.grid.get_mut(row) else {
            return;
        };
        // Never leave half of a wide character behind.
        if r.get(col).is_some_and(|c| c.width == Width::Tail) && col > 0 {
            r[col - 1] = Cell::blank(r[col - 1].pen);
        }
        if r.get(col).is_some_and(|c| c.width == Width::Two) && col + 1 < r.len() {
            r[col + 1] = Cell::blank(r[col + 1].pen);
        }
        if let Some(c) = r.get_mut(col) {
            *c = cell;
        }
    }

    fn switch_screen(&mut self, alternate: bool, save_cursor: bool) {
        if alternate == self.alternate {
            return;
        }
        if alternate && save_cursor {
            self.saved = (self.row, self.col, self.pen);
        }
        let blank = vec![self.blank_row(); self.rows];
        let previous = std::mem::replace(&mut self.grid, blank);
        if alternate {
            self.other = previous;
        } else {
            self.grid = std::mem::take(&mut self.other);
        }
        self.alternate = alternate;
        self.back = 0;
        if !alternate && save_cursor {
            let (row, col, pen) = self.saved;
            self.pen = pen;
            self.goto(row, col);
        }
    }

    fn sgr(&mut self, params: &Params) {
        let mut items = params.iter().flat_map(|p| p.iter().copied());
        let mut any = false;
        while let Some(p) = items.next() {
            any = true;
            let pen = &mut self.pen;
            match p {
                0 => *pen = Pen::default(),
                1 => pen.flags |= BOLD,
                3 => pen.flags |= ITALIC,
                4 => pen.flags |= UNDERLINE,
                7 => pen.flags |= INVERSE,
                22 => pen.flags &= !BOLD,
                23 => pen.flags &= !ITALIC,
                24 => pen.flags &= !UNDERLINE,
                27 => pen.flags &= !INVERSE,
                30..=37 => pen.fg = Color::Idx((p - 30) as u8),
                39 => pen.fg = Color::Default,
                40..=47 => pen.bg = Color::Idx((p - 40) as u8),
                49 => pen.bg = Color::Default,
                90..=97 => pen.fg = Color::Idx((p - 90 + 8) as u8),
                100..=107 => pen.bg = Color::Idx((p - 100 + 8) as u8),
                38 | 48 => {
                    let color = match items.next() {
                        Some(5) => items.next().map(|i| Color::Idx(i as u8)),
                        Some(2) => {
                            let mut c = || items.next().unwrap_or(0) as u8;
                            Some(Color::Rgb(c(), c(), c()))
                        }
                        _ => None,
                    };
                    if let Some(color) = color {
                        if p == 38 {
                            pen.fg = color;
                        } else {
                            pen.bg = color;
                        }
                    }
                }
                _ => {}
            }
        }
        if !any {
            self.pen = Pen::default();
        }
    }

    fn mode(&mut self, private: bool, params: &Params, on: bool) {
        for p in params.iter().flat_map(|p| p.iter().copied()) {
            match (private, p) {
                (true, 1) => self.app_cursor = on,
                (true, 7) => self.autowrap = on,
                (true, 25) => self.hide_cursor = !on,
                (true, 47 | 1047) => self.switch_screen(on, false),
                (true, 1049) => self.switch_screen(on, true),
                (true, 2004) => self.bracketed_paste = on,
                _ => {}
            }
        }
    }

    fn answer(&mut self, text: &str) {
        self.answers.extend_from_slice(text.as_bytes());
    }
}

impl Perform for Screen {
    fn print(&mut self, c: char) {
        let width = char_width(c);
        if width == 0 {
            return;
        }
        if self.wrap_pending {
            self.wrap_pending = false;
            if self.autowrap {
                self.col = 0;
                self.linefeed();
            }
        }
        if width == 2 && self.col + 1 >= self.cols {
            if !self.autowrap || self.cols < 2 {
                return;
            }
            self.erase(self.row, self.col, self.cols);
            self.col = 0;
            self.linefeed();
        }
        let pen = self.pen;
        let kind = if width == 2 { Width::Two } else { Width::One };
        self.set_cell(
            self.row,
            self.col,
            Cell {
                ch: c,
                pen,
                width: kind,
            },
        );
        if width == 2 {
            let tail = Cell {
                ch: ' ',
                pen,
                width: Width::Tail,
            };
            self.set_cell(self.row, self.col + 1, tail);
        }
        if self.col + width >= self.cols {
            self.col = self.cols - 1;
            self.wrap_pending = true;
        } else {
            self.col += width;
        }
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            0x08 => {
                self.col = self.col.saturating_sub(1);
                self.wrap_pending = false;
            }
            0x09 => {
                let next = (self.col / 8 + 1) * 8;
                self.goto(self.row, next);
            }
            0x0A..=0x0C => self.linefeed(),
            0x0D => self.goto(self.row, 0),
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], _ignore: bool, action: char) {
        let raw = |i: usize| {
            params
                .iter()
                .nth(i)
                .and_then(|p| p.first().copied())
                .unwrap_or(0)
        };
        // A count or position: 0 and missing mean 1.
        let n = |i: usize| usize::from(raw(i).max(1));
        let private = intermediates.first() == Some(&b'?');
        let (row, col) = (self.row, self.col);
        match (action, intermediates) {
            ('A', []) => self.goto(
                row.saturating_sub(n(0))
                    .max(if row >= self.top { self.top } else { 0 }),
                col,
            ),
            ('B', []) => {
                let limit = if row <= self.bottom {
                    self.bottom
                } else {
                    self.rows - 1
                };
                self.goto((row + n(0)).min(limit), col);
            }
            ('C', []) => self.goto(row, col + n(0)),
            ('D', []) => self.goto(row, col.saturating_sub(n(0))),
            ('E', []) => self.goto(row + n(0), 0),
            ('F', []) => self.goto(row.saturating_sub(n(0)), 0),
            ('G' | '`', []) => self.goto(row, n(0) - 1),
            ('H' | 'f', []) => self.goto(n(0) - 1, n(1) - 1),
            ('d', []) => self.goto(n(0) - 1, col),
            ('J', []) => {
                let mode = raw(0);
                let (from, to) = match mode {
                    0 => {
                        self.erase(row, col, self.cols);
                        (row + 1, self.rows)
                    }
                    1 => {
                        self.erase(row, 0, col + 1);
                        (0, row)
                    }
                    _ => (0, self.rows),
                };
                for r in from..to {
                    self.erase(r, 0, self.cols);
                }
                if mode == 3 {
                    self.history.clear();
                    self.back = 0;
                }
            }
            ('K', []) => match raw(0) {
                0 => self.erase(row, col, self.cols),
                1 => self.erase(row, 0, col + 1),
                _ => self.erase(row, 0, self.cols),
            },
            ('L' | 'M', []) if (self.top..=self.bottom).contains(&row) => {
                let (top, count) = (self.top, n(0).min(self.bottom + 1 - row));
                self.top = row;
                if action == 'L' {
                    self.scroll_down(count);
                } else {
                    self.scroll_up(count, false);
                }
                self.top = top;
                self.goto(row, 0);
            }
            ('@' | 'P', []) => {
                let count = n(0).min(self.cols - col);
                let blank = Cell::blank(self.pen);
                if let Some(r) = self.grid.get_mut(row) {
                    if action == '@' {
                        r.truncate(self.cols - count);
                        r.splice(col..col, std::iter::repeat_n(blank, count));
                    } else {
                        r.drain(col..col + count);
                        r.resize(self.cols, blank);
                    }
                }
            }
            ('X', []) => self.erase(row, col, col + n(0)),
            ('S', []) => self.scroll_up(n(0), false),
            ('T', []) => self.scroll_down(n(0)),
            ('m', []) => self.sgr(params),
            ('r', []) => {
                let top = n(0) - 1;
                let bottom = if raw(1) == 0 { self.rows } else { n(1) }.min(self.rows) - 1;
                if top < bottom {
                    self.top = top;
                    self.bottom = bottom;
                    self.goto(0, 0);
                }
            }
            ('s', []) => self.saved = (row, col, self.pen),
            ('u', []) => {
                let (r, c, pen) = self.saved;
                self.pen = pen;
                self.goto(r, c);
            }
            ('h' | 'l', _) => self.mode(private, params, action == 'h'),
            ('n', []) => match raw(0) {
                5 => self.answer("\x1b[0n"),
                6 => {
                    let text = format!("\x1b[{};{}R", row + 1, col + 1);
                    self.answer(&text);
                }
                _ => {}
            },
            ('c', []) if raw(0) == 0 => self.answer("\x1b[?1;2c"),
            _ => {}
        }
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, byte: u8) {
        if !intermediates.is_empty() {
            return; // character sets: everything is UTF-8 here
        }
        match byte {
            b'7' => self.saved = (self.row, self.col, self.pen),
            b'8' => {
                let (r, c, pen) = self.saved;
                self.pen = pen;
                self.goto(r, c);
            }
            b'D' => self.linefeed(),
            b'E' => {
                self.col = 0;
                self.linefeed();
            }
            b'M' => self.reverse_index(),
            b'c' => {
                let (rows, cols) = self.size();
                let history = std::mem::take(&mut self.history);
                *self = parser(rows, cols).screen;
                self.history = history;
            }
            _ => {}
        }
    }
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
fn style(pen: Pen, cursor: bool) -> String {
    let (mut fg, mut bg) = (pen.fg, pen.bg);
    if pen.flags & BOLD != 0
        && let Color::Idx(i @ 0..=7) = fg
    {
        fg = Color::Idx(i + 8);
    }
    if (pen.flags & INVERSE != 0) != cursor {
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
    for (flag, rule) in [
        (BOLD, "font-weight:bold;"),
        (ITALIC, "font-style:italic;"),
        (UNDERLINE, "text-decoration:underline;"),
    ] {
        if pen.flags & flag != 0 {
            out.push_str(rule);
        }
    }
    out
}

/// Row `row` of the view as HTML: runs of cells with one look share a span; `cursor` is the
/// cursor's column when it is on this row and shown.
pub fn row_html(term: &Terminal, row: u16, cursor: Option<u16>) -> String {
    let Some(cells) = term.screen.view_row(usize::from(row)) else {
        return String::new();
    };
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
    for (col, cell) in cells.iter().enumerate() {
        if cell.width == Width::Tail {
            continue;
        }
        let look = style(cell.pen, cursor == Some(col as u16));
        if look != run_style {
            flush(&mut out, &mut run, &run_style);
            run_style = look;
        }
        match cell.ch {
            '&' => run.push_str("&amp;"),
            '<' => run.push_str("&lt;"),
            '>' => run.push_str("&gt;"),
            c => run.push(c),
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

    /// The view's rows as plain text (trailing blanks dropped).
    fn text(t: &Terminal) -> Vec<String> {
        (0..t.screen.rows)
            .map(|r| {
                t.screen
                    .view_row(r)
                    .map(|cells| {
                        cells
                            .iter()
                            .filter(|c| c.width != Width::Tail)
                            .map(|c| c.ch)
                            .collect::<String>()
                            .trim_end()
                            .to_string()
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    fn run(rows: u16, cols: u16, bytes: &[u8]) -> Terminal {
        let mut t = parser(rows, cols);
        feed(&mut t, bytes);
        t
    }

    #[test]
    fn rows_carry_colours_and_escape_html() {
        let t = run(
            3,
            20,
            b"a<b>&\x1b[31mred\x1b[0m \x1b[1;32mok\x1b[0m\r\n\x1b[44m \x1b[0m",
        );
        assert_eq!(
            row_html(&t, 0, None),
            "a&lt;b&gt;&amp;<span style=\"color:#cc3333;\">red</span> \
             <span style=\"color:#8ae234;font-weight:bold;\">ok</span>"
        );
        assert_eq!(
            row_html(&t, 1, None),
            "<span style=\"background:#3465a4;\"> </span>"
        );
        assert_eq!(row_html(&t, 2, None), "");
        let t = run(1, 20, b"\x1b[38;5;196mx\x1b[48;2;1;2;3my\x1b[7mz");
        assert_eq!(
            row_html(&t, 0, None),
            "<span style=\"color:#ff0000;\">x</span><span style=\"color:#ff0000;background:#010203;\">y</span>\
             <span style=\"color:#010203;background:#ff0000;\">z</span>"
        );
    }

    #[test]
    fn the_cursor_is_an_inverse_cell() {
        let t = run(2, 10, b"$ ");
        assert_eq!(t.screen.cursor_position(), (0, 2));
        assert_eq!(
            row_html(&t, 0, Some(2)),
            "$ <span style=\"color:#1d1f21;background:#d3d7cf;\"> </span>"
        );
    }

    #[test]
    fn queries_are_answered() {
        let mut t = parser(5, 10);
        assert_eq!(feed(&mut t, b"\r\n\r\n/ # \x1b[6n"), b"\x1b[3;5R");
        assert_eq!(feed(&mut t, b"\x1b[c"), b"\x1b[?1;2c");
        assert_eq!(feed(&mut t, b"\x1b[5n"), b"\x1b[0n");
        assert!(feed(&mut t, b"plain").is_empty());
    }

    #[test]
    fn lines_wrap_and_scroll_into_the_scrollback() {
        let t = run(2, 4, b"abcdef\r\ngh\r\nij");
        assert_eq!(text(&t), ["gh", "ij"]);
        assert_eq!(t.screen.history.len(), 2);
        let mut t = t;
        t.screen.set_scrollback(5);
        assert_eq!(t.screen.scrollback(), 2);
        assert_eq!(text(&t), ["abcd", "ef"]);
        t.screen.set_scrollback(0);
        assert_eq!(text(&t), ["gh", "ij"]);
        // The last column waits for the next character before wrapping.
        let t = run(2, 3, b"abc\r\n");
        assert_eq!(text(&t), ["abc", ""]);
    }

    #[test]
    fn line_editing_moves_and_erases() {
        // What busybox ash does for a history recall: back, erase to the end, retype.
        let t = run(1, 20, b"/ # echo hello\x1b[5D\x1b[Kworld");
        assert_eq!(text(&t), ["/ # echo world"]);
        let t = run(3, 10, b"1\r\n2\r\n3\x1b[2;1H\x1b[2K\x1b[1;3Hx\x1b[J");
        assert_eq!(text(&t), ["1 x", "", ""]);
        let t = run(1, 10, b"abcdef\x1b[1;3H\x1b[2P\x1b[1@\x1b[1X");
        assert_eq!(text(&t), ["ab ef"]);
        let t = run(1, 10, b"a\tb\x08c");
        assert_eq!(text(&t), ["a       c"]);
    }

    #[test]
    fn scroll_regions_and_line_inserts() {
        let t = run(4, 5, b"a\r\nb\r\nc\r\nd\x1b[2;3r\x1b[3;1H\r\nx");
        assert_eq!(text(&t), ["a", "c", "x", "d"]);
        assert!(t.screen.history.is_empty(), "region scrolls are not kept");
        let t = run(3, 5, b"a\r\nb\r\nc\x1b[2;1H\x1b[1L");
        assert_eq!(text(&t), ["a", "", "b"]);
        let t = run(3, 5, b"a\r\nb\r\nc\x1b[1;1H\x1b[1M");
        assert_eq!(text(&t), ["b", "c", ""]);
        let t = run(3, 5, b"a\r\nb\x1b[1;1H\x1bM");
        assert_eq!(text(&t), ["", "a", "b"]);
    }

    #[test]
    fn the_alternate_screen_comes_and_goes() {
        let mut t = run(2, 6, b"shell\x1b[?1049h\x1b[Hfull");
        assert_eq!(text(&t), ["full", ""]);
        feed(&mut t, b"\x1b[?1049l");
        assert_eq!(text(&t), ["shell", ""]);
        assert_eq!(t.screen.cursor_position(), (0, 5));
        feed(&mut t, b"\x1b[?1h\x1b[?2004h\x1b[?25l");
        assert!(
            t.screen.application_cursor() && t.screen.bracketed_paste() && t.screen.hide_cursor()
        );
    }

    #[test]
    fn wide_characters_take_two_cells() {
        let t = run(2, 4, "a你好".as_bytes());
        assert_eq!(text(&t), ["a你", "好"]);
        assert_eq!(char_width('é'), 1);
        assert_eq!(char_width('\u{301}'), 0);
        assert_eq!(char_width('😀'), 2);
        let t = run(1, 6, "你好\x1b[1;2Hx".as_bytes());
        assert_eq!(text(&t), [" x好"]);
    }

    #[test]
    fn resizing_keeps_the_cursor_line() {
        let mut t = run(4, 10, b"1\r\n2\r\n3\r\n4");
        t.screen.set_size(2, 3);
        assert_eq!(text(&t), ["3", "4"]);
        assert_eq!(t.screen.cursor_position(), (1, 1));
        t.screen.set_size(3, 3);
        assert_eq!(text(&t), ["3", "4", ""]);
        let mut reset = run(2, 3, b"x\x1b[31m\x1bc");
        assert_eq!(text(&reset), ["", ""]);
        assert_eq!(feed(&mut reset, b"y"), b"");
        assert_eq!(row_html(&reset, 0, None), "y");
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
