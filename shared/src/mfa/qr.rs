//! The enrolment QR code, drawn on the server as a plain inline SVG: one rect and one
//! path with `fill` attributes, no script and no style attribute, so it passes the
//! site's strict CSP. It is hidden from screen readers, because the page also shows the
//! secret as text to type in.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use super::MfaError;

/// The smallest side of the drawing, in CSS pixels (the page may scale it).
const MIN_SIDE: u32 = 200;

/// `data` (an otpauth URI) as an SVG element, ready to embed in a page.
pub fn svg(data: &str) -> Result<String, MfaError> {
    // Level M survives a smudged or partly glared screen and keeps the code small.
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| MfaError::Qr(e.to_string()))?;
    let drawn = code
        .render::<svg::Color<'_>>()
        .min_dimensions(MIN_SIDE, MIN_SIDE)
        .quiet_zone(true)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    // The renderer writes a whole document; a page embeds only the element, without
    // the XML declaration (which HTML would show as a bogus comment).
    let element = drawn
        .find("<svg")
        .map(|start| &drawn[start + "<svg".len()..])
        .ok_or_else(|| MfaError::Qr("the renderer made no <svg> element".into()))?;
    Ok(format!(
        r#"<svg aria-hidden="true" focusable="false"{element}"#
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svg_is_one_plain_element_without_script_or_style() {
        let uri = "otpauth://totp/Passerelle:jane%40example.gov?secret=JBSWY3DPEHPK3PXPJBSWY3DP\
                   EHPK3PXP&issuer=Passerelle&algorithm=SHA1&digits=6&period=30";
        let svg = svg(uri).unwrap();
        assert!(
            svg.starts_with(r#"<svg aria-hidden="true" focusable="false" xmlns="#),
            "{svg}"
        );
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        let lower = svg.to_lowercase();
        for banned in ["<script", "style", "<?xml", "javascript:", " on", "href"] {
            assert!(!lower.contains(banned), "{banned} in {svg}");
        }
        assert!(svg.contains(r##"fill="#000""##));
        // The same data draws the same code.
        assert_eq!(svg, super::svg(uri).unwrap());
    }

    #[test]
    fn data_too_long_for_any_qr_code_is_an_error() {
        assert!(matches!(svg(&"A".repeat(5000)), Err(MfaError::Qr(_))));
    }
}
