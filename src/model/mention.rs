//! Mention syntax in message content: `<@123>` and `<@!123>` name users, `<@&123>` roles.
//!
//! Content is whatever a client sent (up to the configured message length), so this must take
//! any string: ids that don't parse are skipped, an unclosed `<@` ends the scan.

use crate::id::{RoleId, UserId};

/// The users and roles mentioned in `content`, each once, in order of first mention.
pub fn parse(content: &str) -> (Vec<UserId>, Vec<RoleId>) {
    let (mut users, mut roles) = (Vec::new(), Vec::new());
    let mut rest = content;
    while let Some(start) = rest.find("<@") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('>') else { break };
        let inner = &rest[..end];
        if let Some(r) = inner.strip_prefix('&') {
            if let Ok(id) = r.parse()
                && !roles.contains(&id)
            {
                roles.push(id);
            }
        } else if let Ok(id) = inner.trim_start_matches('!').parse::<UserId>()
            && !users.contains(&id)
        {
            users.push(id);
        }
    }
    (users, roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_parsed() {
        let (u, r) = parse("hi <@12> and <@!34>, <@&56> <@12> <@bad> <@");
        assert_eq!(u, vec![UserId::new(12), UserId::new(34)]);
        assert_eq!(r, vec![RoleId::new(56)]);
    }
}
