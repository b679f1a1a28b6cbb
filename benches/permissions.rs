//! Permission computation: guild level and channel level with overwrites, for a member with
//! a few roles in a guild with many roles.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use accord::id::{GuildId, RoleId, Snowflake, UserId};
use accord::permissions::{MemberContext, OverwriteKind, PermissionOverwrite, Permissions};

fn permissions(c: &mut Criterion) {
    let guild = GuildId::new(41771983423143937);
    let roles: Vec<(RoleId, Permissions)> = (1..=5)
        .map(|i| {
            (
                RoleId::new(41771983423143937 + i),
                Permissions::from_bits_truncate(1 << (i * 3)),
            )
        })
        .collect();
    let member = MemberContext {
        guild_id: guild,
        owner_id: UserId::new(1),
        user_id: UserId::new(2),
        everyone: Permissions::VIEW_CHANNEL
            | Permissions::SEND_MESSAGES
            | Permissions::READ_MESSAGE_HISTORY,
        roles: &roles,
        timed_out: false,
        quarantined: false,
    };
    // @everyone, 20 role overwrites (5 of them the member's), and one member overwrite.
    let mut overwrites = vec![PermissionOverwrite {
        id: Snowflake(guild.0.0),
        kind: OverwriteKind::Role,
        allow: Permissions::empty(),
        deny: Permissions::SEND_MESSAGES,
    }];
    for i in 1..=20u64 {
        overwrites.push(PermissionOverwrite {
            id: Snowflake(41771983423143937 + i),
            kind: OverwriteKind::Role,
            allow: Permissions::SEND_MESSAGES,
            deny: Permissions::empty(),
        });
    }
    overwrites.push(PermissionOverwrite {
        id: Snowflake(2),
        kind: OverwriteKind::Member,
        allow: Permissions::ATTACH_FILES,
        deny: Permissions::empty(),
    });
    let mut g = c.benchmark_group("permissions");
    g.bench_function("guild", |b| {
        b.iter(|| black_box(&member).guild_permissions())
    });
    g.bench_function("channel/22_overwrites", |b| {
        b.iter(|| black_box(&member).channel_permissions(black_box(&overwrites)))
    });
    g.bench_function("channel/no_overwrites", |b| {
        b.iter(|| black_box(&member).channel_permissions(black_box(&[])))
    });
    g.finish();
}

criterion_group!(benches, permissions);
criterion_main!(benches);
