//! Timestamps as the re-emitted records carry them.

/// `2026-11-27T07:08:16.525043701Z`: UTC, always nine fraction digits, the
/// form the shipped `parser` filter reads back with
/// `Time_Format %Y-%m-%dT%H:%M:%S.%LZ`.
pub fn rfc3339_nanos(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gopanic::time::parse_rfc3339_nanos;

    #[test]
    fn formats_what_the_core_parses() {
        for t in [
            "2026-11-27T07:08:16.525043701Z",
            "1970-01-01T00:00:00.000000000Z",
            "2000-02-29T23:59:59.999999999Z",
            "2100-03-01T12:00:00.000000001Z",
        ] {
            let ns = parse_rfc3339_nanos(t).unwrap();
            assert_eq!(rfc3339_nanos(ns), t);
        }
        let ns = parse_rfc3339_nanos("2026-11-27T07:27:10.63279474Z").unwrap();
        assert_eq!(rfc3339_nanos(ns), "2026-11-27T07:27:10.632794740Z");
        assert_eq!(rfc3339_nanos(-1), "1969-12-31T23:59:59.999999999Z");
    }
}
