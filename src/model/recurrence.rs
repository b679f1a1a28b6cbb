//! Discord's recurrence rule for scheduled events: the subset of RFC 5545 its docs allow
//! ("System limitations" in the guild scheduled event docs), checked field by field, and the
//! arithmetic that finds an event's next occurrence when one completes.
//!
//! Occurrences keep the time of day of the rule's `start` (UTC, as Discord stores them).

use serde_json::Value;
use time::{Date, Duration, OffsetDateTime};

use super::Timestamp;

/// `frequency`: Discord's numbers.
pub const YEARLY: u8 = 0;
pub const MONTHLY: u8 = 1;
pub const WEEKLY: u8 = 2;
pub const DAILY: u8 = 3;

/// The only weekday sets a DAILY rule may use (Monday = 0), as the docs list them.
const DAILY_SETS: [&[u8]; 6] = [
    &[0, 1, 2, 3, 4],
    &[1, 2, 3, 4, 5],
    &[0, 1, 2, 3, 6],
    &[4, 5],
    &[5, 6],
    &[0, 6],
];

/// How far ahead the occurrence search looks: eight years covers a yearly rule on 29 February.
const SEARCH_DAYS: i64 = 366 * 8;

/// What is wrong with one field of a rule (the actor turns it into a 50035 field error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleProblem {
    /// The rule is not a JSON object.
    NotObject,
    Required,
    InvalidDate,
    /// Not one of the values (or combinations) the docs allow; the text names them.
    Choice(&'static str),
    /// An array longer than the docs allow.
    TooMany(usize),
}

/// A validated rule, for computing occurrences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurrenceRule {
    pub start: Timestamp,
    pub frequency: u8,
    pub interval: u32,
    pub by_weekday: Option<Vec<u8>>,
    /// `(n, day)`: the n-th (1–5) such weekday of the month.
    pub by_n_weekday: Option<(u8, u8)>,
    /// `(month, day of month)` for yearly rules.
    pub by_month_date: Option<(u8, u8)>,
}

/// `field` as an array of small integers; a non-null non-array is a problem.
fn ints(
    o: &serde_json::Map<String, Value>,
    field: &'static str,
    problems: &mut Vec<(String, RuleProblem)>,
) -> Option<Vec<i64>> {
    match o.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let v: Option<Vec<i64>> = items.iter().map(Value::as_i64).collect();
            if v.is_none() {
                problems.push((field.into(), RuleProblem::Choice("an array of integers")));
            }
            v
        }
        Some(_) => {
            problems.push((field.into(), RuleProblem::Choice("an array of integers")));
            None
        }
    }
}

fn present(o: &serde_json::Map<String, Value>, field: &str) -> bool {
    o.get(field).is_some_and(|v| !v.is_null())
}

impl RecurrenceRule {
    /// Checks a rule as sent against every rule of Discord's docs; every problem is reported
    /// with its path under `recurrence_rule`.
    pub fn validate(rule: &Value) -> Result<Self, Vec<(String, RuleProblem)>> {
        let mut problems: Vec<(String, RuleProblem)> = Vec::new();
        let Some(o) = rule.as_object() else {
            return Err(vec![(String::new(), RuleProblem::NotObject)]);
        };
        let start = match o.get("start") {
            None | Some(Value::Null) => {
                problems.push(("start".into(), RuleProblem::Required));
                None
            }
            Some(v) => {
                let t = v.as_str().and_then(Timestamp::parse);
                if t.is_none() {
                    problems.push(("start".into(), RuleProblem::InvalidDate));
                }
                t
            }
        };
        // "The following fields cannot be set by the client / application".
        for field in ["end", "count", "by_year_day"] {
            if present(o, field) {
                problems.push((field.into(), RuleProblem::Choice("null")));
            }
        }
        let frequency = match o.get("frequency").and_then(Value::as_u64) {
            Some(f) if f <= 3 => Some(f as u8),
            _ => {
                problems.push((
                    "frequency".into(),
                    RuleProblem::Choice("0 (yearly), 1 (monthly), 2 (weekly), 3 (daily)"),
                ));
                None
            }
        };
        // Only WEEKLY may use another interval than 1, and then only 2 ("every other week").
        let interval = match (o.get("interval").and_then(Value::as_u64), frequency) {
            (Some(1), _) => 1,
            (Some(2), Some(WEEKLY)) => 2,
            (None, _) if !present(o, "interval") => 1,
            (_, Some(WEEKLY)) => {
                problems.push(("interval".into(), RuleProblem::Choice("1, 2")));
                1
            }
            _ => {
                problems.push(("interval".into(), RuleProblem::Choice("1")));
                1
            }
        };
        let by_weekday = ints(o, "by_weekday", &mut problems);
        let by_month = ints(o, "by_month", &mut problems);
        let by_month_day = ints(o, "by_month_day", &mut problems);
        let by_n_weekday = match o.get("by_n_weekday") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(items.clone()),
            Some(_) => {
                problems.push((
                    "by_n_weekday".into(),
                    RuleProblem::Choice("an array of {n, day}"),
                ));
                None
            }
        };
        // by_weekday, by_n_weekday and by_month + by_month_day exclude each other.
        let groups = [
            by_weekday.is_some(),
            by_n_weekday.is_some(),
            by_month.is_some() || by_month_day.is_some(),
        ];
        if groups.iter().filter(|g| **g).count() > 1 {
            problems.push((
                "by_weekday".into(),
                RuleProblem::Choice("one of by_weekday, by_n_weekday, by_month + by_month_day"),
            ));
        }
        let mut weekdays = None;
        if let Some(days) = &by_weekday {
            if days.iter().any(|d| !(0..=6).contains(d)) {
                problems.push((
                    "by_weekday".into(),
                    RuleProblem::Choice("0–6 (Monday–Sunday)"),
                ));
            }
            let mut set: Vec<u8> = days.iter().filter_map(|d| u8::try_from(*d).ok()).collect();
            set.sort_unstable();
            set.dedup();
            match frequency {
                Some(DAILY) if !DAILY_SETS.contains(&set.as_slice()) => problems.push((
                    "by_weekday".into(),
                    RuleProblem::Choice(
                        "[0,1,2,3,4], [1,2,3,4,5], [6,0,1,2,3], [4,5], [5,6], [6,0]",
                    ),
                )),
                Some(WEEKLY) if days.len() != 1 => {
                    problems.push(("by_weekday".into(), RuleProblem::TooMany(1)))
                }
                Some(DAILY | WEEKLY) | None => {}
                Some(_) => problems.push((
                    "by_weekday".into(),
                    RuleProblem::Choice("daily or weekly rules only"),
                )),
            }
            weekdays = Some(set);
        }
        let mut n_weekday = None;
        if let Some(items) = &by_n_weekday {
            if frequency.is_some_and(|f| f != MONTHLY) {
                problems.push((
                    "by_n_weekday".into(),
                    RuleProblem::Choice("monthly rules only"),
                ));
            }
            if items.len() != 1 {
                problems.push(("by_n_weekday".into(), RuleProblem::TooMany(1)));
            }
            if let Some(item) = items.first() {
                let n = item.get("n").and_then(Value::as_u64);
                let day = item.get("day").and_then(Value::as_u64);
                if !n.is_some_and(|n| (1..=5).contains(&n)) {
                    problems.push(("by_n_weekday.0.n".into(), RuleProblem::Choice("1–5")));
                }
                if day.is_none_or(|d| d > 6) {
                    problems.push((
                        "by_n_weekday.0.day".into(),
                        RuleProblem::Choice("0–6 (Monday–Sunday)"),
                    ));
                }
                if let (Some(n), Some(day)) = (n, day) {
                    n_weekday = Some((n as u8, day as u8));
                }
            }
        }
        let mut month_date = None;
        if by_month.is_some() || by_month_day.is_some() {
            if frequency.is_some_and(|f| f != YEARLY) {
                problems.push(("by_month".into(), RuleProblem::Choice("yearly rules only")));
            }
            match (&by_month, &by_month_day) {
                (Some(m), Some(d)) => {
                    if m.len() != 1 {
                        problems.push(("by_month".into(), RuleProblem::TooMany(1)));
                    }
                    if d.len() != 1 {
                        problems.push(("by_month_day".into(), RuleProblem::TooMany(1)));
                    }
                    let month = m.first().copied().filter(|m| (1..=12).contains(m));
                    let day = d.first().copied().filter(|d| (1..=31).contains(d));
                    if month.is_none() {
                        problems.push(("by_month".into(), RuleProblem::Choice("1–12")));
                    }
                    if day.is_none() {
                        problems.push(("by_month_day".into(), RuleProblem::Choice("1–31")));
                    }
                    if let (Some(m), Some(d)) = (month, day) {
                        month_date = Some((m as u8, d as u8));
                    }
                }
                (None, _) => problems.push(("by_month".into(), RuleProblem::Required)),
                (_, None) => problems.push(("by_month_day".into(), RuleProblem::Required)),
            }
        }
        match (start, frequency, problems.is_empty()) {
            (Some(start), Some(frequency), true) => Ok(Self {
                start,
                frequency,
                interval,
                by_weekday: weekdays,
                by_n_weekday: n_weekday,
                by_month_date: month_date,
            }),
            _ => Err(problems),
        }
    }

    /// The first occurrence strictly after `after` (None when the search horizon holds none,
    /// e.g. a yearly rule on a date that never comes).
    pub fn occurrence_after(&self, after: Timestamp) -> Option<Timestamp> {
        let anchor = datetime(self.start)?;
        let from = datetime(after)?.date().max(anchor.date());
        let time = anchor.time();
        let mut day = from;
        for _ in 0..SEARCH_DAYS {
            let at = Timestamp::from_millis(
                (day.with_time(time).assume_utc().unix_timestamp_nanos() / 1_000_000) as i64,
            );
            if at > after && at >= self.start && self.matches(anchor.date(), day) {
                return Some(at);
            }
            day = day.next_day()?;
        }
        None
    }

    /// Whether `at` is one of the rule's occurrences.
    pub fn is_occurrence(&self, at: Timestamp) -> bool {
        self.occurrence_after(Timestamp::from_millis(at.millis() - 1)) == Some(at)
    }

    /// Whether an occurrence falls on `day` (the time of day is the anchor's).
    fn matches(&self, anchor: Date, day: Date) -> bool {
        let weekday = day.weekday().number_days_from_monday();
        match self.frequency {
            DAILY => self
                .by_weekday
                .as_ref()
                .is_none_or(|days| days.contains(&weekday)),
            WEEKLY => {
                let weeks = (monday(day) - monday(anchor)).whole_weeks();
                let on_day = match &self.by_weekday {
                    Some(days) => days.contains(&weekday),
                    None => weekday == anchor.weekday().number_days_from_monday(),
                };
                on_day && weeks.rem_euclid(i64::from(self.interval.max(1))) == 0
            }
            MONTHLY => match self.by_n_weekday {
                Some((n, wd)) => weekday == wd && (day.day() - 1) / 7 + 1 == n,
                None => day.day() == anchor.day(),
            },
            _ => {
                let (month, date) = self
                    .by_month_date
                    .unwrap_or((anchor.month() as u8, anchor.day()));
                day.month() as u8 == month && day.day() == date
            }
        }
    }
}

fn datetime(t: Timestamp) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.millis()) * 1_000_000).ok()
}

/// The Monday of `day`'s week (weeks start on Monday, as in dateutil's default).
fn monday(day: Date) -> Date {
    let back = i64::from(day.weekday().number_days_from_monday());
    day.checked_sub(Duration::days(back)).unwrap_or(day)
}

/// Discord returns every key of a recurrence rule, null where unset.
pub fn complete(rule: &mut Value) {
    if let Some(o) = rule.as_object_mut() {
        for key in [
            "end",
            "by_weekday",
            "by_n_weekday",
            "by_month",
            "by_month_day",
            "by_year_day",
            "count",
        ] {
            o.entry(key).or_insert(Value::Null);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn rule(v: Value) -> RecurrenceRule {
        RecurrenceRule::validate(&v).unwrap()
    }

    fn problems(v: Value) -> Vec<String> {
        RecurrenceRule::validate(&v)
            .unwrap_err()
            .into_iter()
            .map(|(p, _)| p)
            .collect()
    }

    // 2030-01-07 is a Monday.
    const START: &str = "2030-01-07T18:00:00Z";

    #[test]
    fn accepts_the_docs_examples() {
        for v in [
            json!({"start": START, "frequency": 3, "interval": 1, "by_weekday": [0,1,2,3,4]}),
            json!({"start": START, "frequency": 2, "interval": 1, "by_weekday": [2]}),
            json!({"start": START, "frequency": 2, "interval": 2, "by_weekday": [2]}),
            json!({"start": START, "frequency": 1, "interval": 1, "by_n_weekday": [{"n": 4, "day": 2}]}),
            json!({"start": START, "frequency": 0, "interval": 1, "by_month": [7], "by_month_day": [24]}),
            json!({"start": START, "frequency": 3, "interval": 1, "by_weekday": [6,0,1,2,3]}),
        ] {
            assert!(RecurrenceRule::validate(&v).is_ok(), "{v}");
        }
    }

    #[test]
    fn refuses_what_the_docs_forbid() {
        let s = START;
        assert_eq!(problems(json!({"frequency": 3})), vec!["start"]);
        assert_eq!(
            problems(json!({"start": s, "frequency": 3, "count": 4})),
            vec!["count"]
        );
        assert_eq!(
            problems(json!({"start": s, "frequency": 3, "end": s, "by_year_day": [3]})),
            vec!["end", "by_year_day"]
        );
        assert_eq!(
            problems(json!({"start": s, "frequency": 4})),
            vec!["frequency"]
        );
        assert_eq!(
            problems(json!({"start": s, "frequency": 3, "interval": 2})),
            vec!["interval"]
        );
        assert_eq!(
            problems(json!({"start": s, "frequency": 2, "interval": 3})),
            vec!["interval"]
        );
        assert_eq!(
            problems(json!({"start": s, "frequency": 3, "by_weekday": [0, 2]})),
            vec!["by_weekday"]
        );
        assert_eq!(
            problems(json!({"start": s, "frequency": 2, "by_weekday": [0, 2]})),
            vec!["by_weekday"]
        );
        assert_eq!(
            problems(json!({"start": s, "frequency": 1, "by_weekday": [0]})),
            vec!["by_weekday"]
        );
        assert_eq!(
            problems(json!({"start": s, "frequency": 2, "by_n_weekday": [{"n": 1, "day": 0}]})),
            vec!["by_n_weekday"]
        );
        assert_eq!(
            problems(json!({"start": s, "frequency": 1, "by_n_weekday": [{"n": 6, "day": 0}]})),
            vec!["by_n_weekday.0.n"]
        );
        assert_eq!(
            problems(json!({"start": s, "frequency": 0, "by_month": [7]})),
            vec!["by_month_day"]
        );
        assert_eq!(
            problems(json!({"start": s, "frequency": 0, "by_month": [7, 8], "by_month_day": [1]})),
            vec!["by_month"]
        );
        assert_eq!(
            problems(
                json!({"start": s, "frequency": 2, "by_weekday": [0], "by_n_weekday": [{"n": 1, "day": 0}]})
            ),
            vec!["by_weekday", "by_n_weekday"]
        );
        assert_eq!(problems(json!(3)), vec![""]);
    }

    #[test]
    fn finds_the_next_occurrence() {
        let daily = rule(json!({"start": START, "frequency": 3, "by_weekday": [0,1,2,3,4]}));
        // Friday 18:00 → Monday 18:00.
        assert_eq!(
            daily.occurrence_after(at("2030-01-11T18:00:00Z")),
            Some(at("2030-01-14T18:00:00Z"))
        );
        // Before the anchor: the anchor itself.
        assert_eq!(
            daily.occurrence_after(at("2029-12-01T00:00:00Z")),
            Some(at(START))
        );
        let every_other =
            rule(json!({"start": START, "frequency": 2, "interval": 2, "by_weekday": [2]}));
        assert_eq!(
            every_other.occurrence_after(at(START)),
            Some(at("2030-01-09T18:00:00Z"))
        );
        assert_eq!(
            every_other.occurrence_after(at("2030-01-09T18:00:00Z")),
            Some(at("2030-01-23T18:00:00Z"))
        );
        let fourth_wednesday =
            rule(json!({"start": START, "frequency": 1, "by_n_weekday": [{"n": 4, "day": 2}]}));
        assert_eq!(
            fourth_wednesday.occurrence_after(at(START)),
            Some(at("2030-01-23T18:00:00Z"))
        );
        assert_eq!(
            fourth_wednesday.occurrence_after(at("2030-01-23T18:00:00Z")),
            Some(at("2030-02-27T18:00:00Z"))
        );
        let july =
            rule(json!({"start": START, "frequency": 0, "by_month": [7], "by_month_day": [24]}));
        assert_eq!(
            july.occurrence_after(at(START)),
            Some(at("2030-07-24T18:00:00Z"))
        );
        assert!(july.is_occurrence(at("2031-07-24T18:00:00Z")));
        assert!(!july.is_occurrence(at("2031-07-24T19:00:00Z")));
        let monthly = rule(json!({"start": "2030-01-31T10:00:00Z", "frequency": 1}));
        // Months without a 31st are skipped.
        assert_eq!(
            monthly.occurrence_after(at("2030-01-31T10:00:00Z")),
            Some(at("2030-03-31T10:00:00Z"))
        );
    }
}
