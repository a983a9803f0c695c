//! Docker's human-readable units, shown by the agent (`docker ps`'s Status) and by the
//! dashboard (the same column, kept current in the browser).

/// Docker's `units.HumanDuration` of `secs` seconds: `"5 seconds"`, `"About a minute"`,
/// `"3 hours"`.
pub fn human_duration(secs: u64) -> String {
    match secs {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..60 => format!("{secs} seconds"),
        60..120 => "About a minute".into(),
        120..3600 => format!("{} minutes", secs / 60),
        3600..7200 => "About an hour".into(),
        7200..172_800 => format!("{} hours", secs / 3600),
        172_800..1_209_600 => format!("{} days", secs / 86_400),
        1_209_600..5_259_600 => format!("{} weeks", secs / 604_800),
        5_259_600..63_115_200 => format!("{} months", secs / 2_629_800),
        _ => format!("{} years", secs / 31_557_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_docker() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(5), "5 seconds");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(3 * 3600), "3 hours");
    }
}
