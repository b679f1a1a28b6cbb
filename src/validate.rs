//! Body validation helpers. Each adds Discord-shaped field errors to a [`FieldErrors`] so one
//! response reports every bad field at once, as Discord does.

use crate::error::{FieldError, FieldErrors};

/// Checks a string's length in characters (not bytes: Discord counts UTF-16 units, characters
/// are the closer portable measure).
pub fn length(errs: &mut FieldErrors, path: &str, value: &str, min: u32, max: u32) {
    let n = value.chars().count();
    if n < min as usize || n > max as usize {
        errs.add(
            path,
            FieldError::BadLength {
                min: min as usize,
                max: max as usize,
            },
        );
    }
}

pub fn max_length(errs: &mut FieldErrors, path: &str, value: &str, max: u32) {
    if value.chars().count() > max as usize {
        errs.add(path, FieldError::MaxLength { max: max as usize });
    }
}

/// A pragmatic email check: one `@`, non-empty local part, a dotted domain, no spaces.
pub fn email(errs: &mut FieldErrors, path: &str, value: &str) {
    if !is_email(value) {
        errs.add(path, FieldError::InvalidEmail);
    }
}

pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && value.len() <= 254
        && !value.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|p| !p.is_empty())
}

/// Discord's username rules: length from config; no `@`, `#`, `:`, code fences; not one of the
/// reserved names.
pub fn username(errs: &mut FieldErrors, path: &str, value: &str, min: u32, max: u32) {
    let trimmed = value.trim();
    let n = trimmed.chars().count();
    if n < min as usize || n > max as usize {
        errs.add(
            path,
            FieldError::BadLength {
                min: min as usize,
                max: max as usize,
            },
        );
        return;
    }
    let lower = trimmed.to_lowercase();
    let forbidden = ["@", "#", ":", "```"].iter().any(|s| trimmed.contains(s));
    let reserved = ["everyone", "here", "discord", "system"].contains(&lower.as_str());
    if forbidden || reserved || trimmed.chars().any(char::is_control) {
        errs.add(path, FieldError::UsernameInvalid);
    }
}

pub fn password(errs: &mut FieldErrors, path: &str, value: &str, min: u32) {
    if value.chars().count() < min as usize {
        errs.add(path, FieldError::PasswordTooShort { min: min as usize });
    } else if value.len() > 512 {
        errs.add(path, FieldError::MaxLength { max: 512 });
    }
}

/// Age in whole years on `today` for a `YYYY-MM-DD` birth date; None when unparsable or in
/// the future.
pub fn age_on(date_of_birth: &str, today: time::Date) -> Option<u32> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let dob = time::Date::parse(date_of_birth.get(..10).unwrap_or(date_of_birth), &format).ok()?;
    if dob > today {
        return None;
    }
    let mut years = today.year() - dob.year();
    if (today.month() as u8, today.day()) < (dob.month() as u8, dob.day()) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters() {
        let mut e = FieldErrors::default();
        length(&mut e, "name", "äö", 2, 2);
        assert!(e.is_empty());
        length(&mut e, "name", "a", 2, 32);
        assert_eq!(
            e.get("name"),
            Some(&[FieldError::BadLength { min: 2, max: 32 }][..])
        );
    }

    #[test]
    fn emails() {
        assert!(is_email("a@b.co"));
        for bad in ["", "a", "a@b", "@b.co", "a@@b.co", "a b@c.de", "a@b..c"] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn usernames() {
        let mut e = FieldErrors::default();
        username(&mut e, "u", "good_name", 2, 32);
        assert!(e.is_empty());
        for bad in ["a#b", "@x", "everyone", "x```y"] {
            let mut e = FieldErrors::default();
            username(&mut e, "u", bad, 2, 32);
            assert_eq!(
                e.get("u"),
                Some(&[FieldError::UsernameInvalid][..]),
                "{bad}"
            );
        }
    }

    #[test]
    fn ages() {
        let today = time::macros::date!(2026 - 11 - 27);
        assert_eq!(age_on("2000-11-27", today), Some(26));
        assert_eq!(age_on("2000-11-28", today), Some(25));
        assert_eq!(age_on("2030-01-01", today), None);
        assert_eq!(age_on("garbage", today), None);
    }
}
