//! RFC 3339 timestamps as container runtimes write them.
//!
//! Only parsing is needed: the reassembler measures idle time in the input's
//! own clock (nanoseconds since the Unix epoch), and record times are passed
//! through as the text the runtime wrote.

/// Parses `2026-11-27T06:51:01.123456789Z` (any number of fraction digits,
/// `Z` or `±hh:mm`) into nanoseconds since the Unix epoch.
///
/// Returns `None` for anything else; callers treat such lines as malformed.
pub fn parse_rfc3339_nanos(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    // Out of range reads as NUL, which no check accepts.
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    if b.len() < 20 || at(4) != b'-' || at(7) != b'-' || !matches!(at(10), b'T' | b't' | b' ') {
        return None;
    }
    if at(13) != b':' || at(16) != b':' {
        return None;
    }
    // Digits only (no sign), read byte by byte: this runs once per line.
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b.get(r)?.iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if at(i) == b'.' {
        i += 1;
        let start = i;
        while at(i).is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + i64::from(at(i) - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let offset_secs = match s.get(i..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && matches!(at(i), b'+' | b'-') && at(i + 3) == b':' => {
            let h = num(i + 1..i + 3)?;
            let m = num(i + 4..i + 6)?;
            let sign = if at(i) == b'-' { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_container_timestamps() {
        assert_eq!(parse_rfc3339_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_nanos("1970-01-01T00:00:01.5Z"),
            Some(1_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_nanos("2026-11-27T06:51:01.123456789Z"),
            Some(1_795_762_261_123_456_789)
        );
        assert_eq!(
            parse_rfc3339_nanos("2026-11-27T07:51:01.123456789+01:00"),
            parse_rfc3339_nanos("2026-11-27T06:51:01.123456789Z")
        );
        // More than nine fraction digits are cut, not rejected.
        assert_eq!(
            parse_rfc3339_nanos("1970-01-01T00:00:00.1234567891Z"),
            Some(123_456_789)
        );
    }

    #[test]
    fn rejects_other_text() {
        for s in [
            "",
            "2026-11-27",
            "2026-11-27T06:51:01",
            "2026-13-27T06:51:01Z",
            "2026-11-27T06:51:01.Z",
            "2026-11-27T06:51:01Zjunk",
            "2026/11/27 06:51:01 hello",
            "2026-11-27T06:5a:01Z",
        ] {
            assert_eq!(parse_rfc3339_nanos(s), None, "{s}");
        }
    }
}
