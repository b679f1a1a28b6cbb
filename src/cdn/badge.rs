//! The guild widget image (`GET /guilds/{id}/widget.png`): a small PNG badge with the guild's
//! name and online count, drawn pixel by pixel with an embedded 5×7 bitmap font, so no font file
//! or font-rendering dependency is needed (the `image` crate the CDN already uses encodes it).
//!
//! Discord draws its styles over image templates it does not publish; the sizes here follow the
//! layout those templates imply (icon, name and count positions as other servers lay them out)
//! and are approximations, not Discord's exact pixels.

use image::{ImageOutputFormat, Rgba, RgbaImage};

/// Discord's widget styles (`WidgetImageStyles`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A badge: a logo segment and the online count; as wide as its text.
    Shield,
    /// Icon, name and count; "POWERED BY DISCORD" as the footer.
    Banner1,
    /// A smaller banner: icon, name and count; a logo segment on the right.
    Banner2,
    /// Icon, name and count; a footer with a logo on the left and "CHAT NOW" on the right.
    Banner3,
    /// A logo on top, icon, name and count in the middle, a "JOIN MY SERVER" button below.
    Banner4,
}

impl Style {
    /// Parses Discord's `style` query value.
    pub fn parse(s: &str) -> Option<Style> {
        Some(match s {
            "shield" => Style::Shield,
            "banner1" => Style::Banner1,
            "banner2" => Style::Banner2,
            "banner3" => Style::Banner3,
            "banner4" => Style::Banner4,
            _ => return None,
        })
    }

    /// The image's size; the shield's width depends on its text.
    pub fn size(self, presence_text: &str) -> (u32, u32) {
        match self {
            Style::Shield => (SHIELD_LOGO_W + 2 * PAD + text_width(presence_text, 1), 20),
            Style::Banner1 => (300, 120),
            Style::Banner2 => (248, 74),
            Style::Banner3 => (300, 130),
            Style::Banner4 => (300, 250),
        }
    }
}

/// What a badge shows.
pub struct Badge<'a> {
    pub name: &'a str,
    pub presence_count: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("encoding the widget image failed: {0}")]
pub struct BadgeError(#[from] image::ImageError);

const BLURPLE: Rgba<u8> = Rgba([0x58, 0x65, 0xF2, 0xFF]);
const DARK: Rgba<u8> = Rgba([0x2C, 0x2F, 0x33, 0xFF]);
const DARKER: Rgba<u8> = Rgba([0x23, 0x27, 0x2A, 0xFF]);
const WHITE: Rgba<u8> = Rgba([0xFF, 0xFF, 0xFF, 0xFF]);
const MUTED: Rgba<u8> = Rgba([0xC9, 0xD2, 0xF0, 0xFF]);
const GREEN: Rgba<u8> = Rgba([0x23, 0xA5, 0x5A, 0xFF]);

/// Width of the shield's logo segment.
const SHIELD_LOGO_W: u32 = 20;
/// Horizontal padding around text segments.
const PAD: u32 = 6;
/// Glyph cell: 5×7 pixels plus one pixel of spacing.
const GLYPH_W: u32 = 5;
const GLYPH_H: u32 = 7;
const ADVANCE: u32 = GLYPH_W + 1;

/// Renders the badge as PNG bytes.
pub fn render(style: Style, badge: &Badge<'_>) -> Result<Vec<u8>, BadgeError> {
    let presence = format!("{} ONLINE", badge.presence_count);
    let (w, h) = style.size(&presence);
    let mut img = RgbaImage::from_pixel(w, h, DARK);
    match style {
        Style::Shield => {
            fill(&mut img, 0, 0, SHIELD_LOGO_W, h, DARKER);
            logo(&mut img, 4, 4, 12);
            fill(&mut img, SHIELD_LOGO_W, 0, w - SHIELD_LOGO_W, h, BLURPLE);
            text(&mut img, SHIELD_LOGO_W + PAD, 7, &presence, 1, WHITE);
        }
        Style::Banner1 => {
            fill(&mut img, 0, 0, w, 96, BLURPLE);
            icon(&mut img, 20, 23, 50, badge.name);
            text(&mut img, 83, 36, &clip(badge.name, 22), 1, WHITE);
            online(&mut img, 83, 52, &presence);
            text(&mut img, 20, 105, "POWERED BY DISCORD", 1, MUTED);
        }
        Style::Banner2 => {
            fill(&mut img, 0, 0, 200, h, BLURPLE);
            icon(&mut img, 13, 19, 36, badge.name);
            text(&mut img, 62, 25, &clip(badge.name, 15), 1, WHITE);
            online(&mut img, 62, 41, &presence);
            logo(&mut img, 210, 23, 28);
        }
        Style::Banner3 => {
            fill(&mut img, 0, 0, w, 90, BLURPLE);
            icon(&mut img, 20, 20, 50, badge.name);
            text(&mut img, 83, 33, &clip(badge.name, 27), 1, WHITE);
            online(&mut img, 83, 49, &presence);
            logo(&mut img, 20, 98, 24);
            let chat = "CHAT NOW";
            text(&mut img, w - 20 - text_width(chat, 1), 106, chat, 1, WHITE);
        }
        Style::Banner4 => {
            fill(&mut img, 0, 0, w, 110, BLURPLE);
            logo(&mut img, (w - 60) / 2, 25, 60);
            icon(&mut img, 21, 126, 50, badge.name);
            text(&mut img, 84, 140, &clip(badge.name, 27), 1, WHITE);
            online(&mut img, 84, 156, &presence);
            fill(&mut img, 20, 196, w - 40, 36, GREEN);
            let join = "JOIN MY SERVER";
            text(&mut img, (w - text_width(join, 2)) / 2, 207, join, 2, WHITE);
        }
    }
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img).write_to(&mut out, ImageOutputFormat::Png)?;
    Ok(out.into_inner())
}

/// The online count, after a green dot.
fn online(img: &mut RgbaImage, x: u32, y: u32, presence: &str) {
    circle(img, x + 3, y + 3, 3, GREEN);
    text(img, x + 10, y, presence, 1, MUTED);
}

/// `name` cut to `max` characters with an ellipsis, as Discord's widgets shorten long names.
fn clip(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let mut s: String = name.chars().take(max).collect();
    s.push_str("...");
    s
}

/// The guild's stand-in icon: a dark disc with the name's first letter.
fn icon(img: &mut RgbaImage, x: u32, y: u32, size: u32, name: &str) {
    let r = size / 2;
    circle(img, x + r, y + r, r, DARKER);
    let initial: String = name.chars().take(1).collect();
    let scale = (size / 14).max(1);
    let (gw, gh) = (GLYPH_W * scale, GLYPH_H * scale);
    text(img, x + r - gw / 2, y + r - gh / 2, &initial, scale, WHITE);
}

/// A simple logo mark: a white rounded blob with two dark eyes, `size` pixels wide.
fn logo(img: &mut RgbaImage, x: u32, y: u32, size: u32) {
    let r = size / 2;
    circle(img, x + r, y + r, r, WHITE);
    let eye = (size / 8).max(1);
    circle(img, x + r - r / 2, y + r, eye, DARKER);
    circle(img, x + r + r / 2, y + r, eye, DARKER);
}

fn fill(img: &mut RgbaImage, x: u32, y: u32, w: u32, h: u32, c: Rgba<u8>) {
    for py in y..(y + h).min(img.height()) {
        for px in x..(x + w).min(img.width()) {
            img.put_pixel(px, py, c);
        }
    }
}

fn circle(img: &mut RgbaImage, cx: u32, cy: u32, r: u32, c: Rgba<u8>) {
    let (cx, cy, r) = (i64::from(cx), i64::from(cy), i64::from(r));
    for dy in -r..=r {
        for dx in -r..=r {
            if dx * dx + dy * dy <= r * r {
                put(img, cx + dx, cy + dy, c);
            }
        }
    }
}

fn put(img: &mut RgbaImage, x: i64, y: i64, c: Rgba<u8>) {
    if let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y))
        && x < img.width()
        && y < img.height()
    {
        img.put_pixel(x, y, c);
    }
}

/// Width of `s` drawn at `scale`.
pub fn text_width(s: &str, scale: u32) -> u32 {
    let n = u32::try_from(s.chars().count()).unwrap_or(u32::MAX / ADVANCE);
    (n.saturating_mul(ADVANCE).saturating_sub(1)).saturating_mul(scale)
}

/// Draws `s` with its top-left corner at (x, y), each font pixel `scale`×`scale`.
fn text(img: &mut RgbaImage, x: u32, y: u32, s: &str, scale: u32, c: Rgba<u8>) {
    for (i, ch) in s.chars().enumerate() {
        let ox = x + u32::try_from(i).unwrap_or(0) * ADVANCE * scale;
        for (row, bits) in glyph(ch).iter().enumerate() {
            for col in 0..GLYPH_W {
                if bits & (1 << (GLYPH_W - 1 - col)) == 0 {
                    continue;
                }
                let px = ox + col * scale;
                let py = y + u32::try_from(row).unwrap_or(0) * scale;
                fill(img, px, py, scale, scale, c);
            }
        }
    }
}

/// The 5×7 glyph of `c` (rows top to bottom, bit 4 the leftmost pixel). Letters are drawn as
/// capitals; characters the font lacks as `?`.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        ' ' => [0; 7],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        ',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '_' => [0, 0, 0, 0, 0, 0, 0x1F],
        '!' => [0x04, 0x04, 0x04, 0x04, 0x04, 0, 0x04],
        '\'' => [0x04, 0x04, 0x08, 0, 0, 0, 0],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '#' => [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        '&' => [0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D],
        _ => [0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> RgbaImage {
        image::load_from_memory(png).expect("a PNG").to_rgba8()
    }

    #[test]
    fn every_style_renders_at_its_size() {
        let badge = Badge {
            name: "Rust Friends",
            presence_count: 42,
        };
        for (style, size) in [
            (Style::Banner1, (300, 120)),
            (Style::Banner2, (248, 74)),
            (Style::Banner3, (300, 130)),
            (Style::Banner4, (300, 250)),
        ] {
            let img = decode(&render(style, &badge).expect("renders"));
            assert_eq!(img.dimensions(), size, "{style:?}");
        }
    }

    #[test]
    fn the_shield_grows_with_its_count() {
        let narrow = decode(
            &render(
                Style::Shield,
                &Badge {
                    name: "g",
                    presence_count: 1,
                },
            )
            .expect("renders"),
        );
        let wide = decode(
            &render(
                Style::Shield,
                &Badge {
                    name: "g",
                    presence_count: 123_456,
                },
            )
            .expect("renders"),
        );
        assert_eq!(narrow.height(), 20);
        assert_eq!(wide.width() - narrow.width(), 5 * ADVANCE);
    }

    #[test]
    fn text_is_drawn_in_its_glyphs() {
        let mut img = RgbaImage::from_pixel(12, 7, DARK);
        text(&mut img, 0, 0, "1.", 1, WHITE);
        // `1`: its stem is column 2 on every row.
        for row in 0..7 {
            assert_eq!(*img.get_pixel(2, row), WHITE, "row {row}");
        }
        assert_eq!(*img.get_pixel(0, 0), DARK);
        // '.': the bottom two rows of the next cell, columns 1-2.
        assert_eq!(*img.get_pixel(ADVANCE + 1, 6), WHITE);
        assert_eq!(*img.get_pixel(ADVANCE + 1, 0), DARK);
    }

    #[test]
    fn styles_parse_as_discord_names_them() {
        assert_eq!(Style::parse("banner3"), Some(Style::Banner3));
        assert_eq!(Style::parse("Shield"), None);
        assert_eq!(clip("abcdef", 3), "abc...");
        assert_eq!(clip("abc", 3), "abc");
    }
}
