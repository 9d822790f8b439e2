//! RFC 3339 timestamps as container runtimes write them.
//!
//! The reassembler measures idle time in the input's own clock (nanoseconds
//! since the Unix epoch) and record times pass through as the text the
//! runtime wrote; hosts that re-emit records (the Fluent Bit filter) write a
//! time back with [`rfc3339_nanos`].

/// Parses `2026-11-27T06:51:01.123456789Z` (any number of fraction digits,
/// `Z` or `±hh:mm`) into nanoseconds since the Unix epoch.
///
/// Returns `None` for anything else; callers treat such lines as malformed.
pub fn parse_rfc3339_nanos(s: &str) -> Option<i64> {
    TimeCache::default().parse(s)
}

/// [`parse_rfc3339_nanos`] for a stream of timestamps: the date and time of
/// day of the last one are kept, and a timestamp in the same second as the
/// last (most lines of a busy log) reads only its fraction and offset.
#[derive(Debug, Clone, Default)]
pub struct TimeCache {
    /// `2026-11-27T06:51:01` of the last timestamp read whole (all zeros,
    /// which no timestamp starts with, before the first).
    head: [u8; 19],
    /// `head` in seconds since the Unix epoch, before the offset.
    secs: i64,
}

impl TimeCache {
    /// Parses as [`parse_rfc3339_nanos`] does.
    pub fn parse(&mut self, s: &str) -> Option<i64> {
        let head = s.as_bytes().get(..19)?;
        let secs = if head == self.head {
            self.secs
        } else {
            let secs = civil_seconds(s.as_bytes())?;
            self.head.copy_from_slice(head);
            self.secs = secs;
            secs
        };
        let (nanos, offset_secs) = fraction_and_offset(s)?;
        (secs - offset_secs)
            .checked_mul(1_000_000_000)?
            .checked_add(nanos)
    }
}

/// Digits only, at most four: no sign or overflow to handle as `parse`
/// does (which costs more than the rest of a CRI line's decoding).
fn digits(b: &[u8], r: std::ops::Range<usize>) -> Option<i64> {
    let part = b.get(r).filter(|p| !p.is_empty())?;
    part.iter().try_fold(0, |n: i64, &c| {
        c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
    })
}

/// `2026-11-27T06:51:01` (the first 19 bytes) in seconds since the Unix
/// epoch, checked.
fn civil_seconds(b: &[u8]) -> Option<i64> {
    // Out of range reads as NUL, which no check accepts.
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    if b.len() < 20 || at(4) != b'-' || at(7) != b'-' || !matches!(at(10), b'T' | b't' | b' ') {
        return None;
    }
    if at(13) != b':' || at(16) != b':' {
        return None;
    }
    let num = |r| digits(b, r);
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec)
}

/// What follows the seconds: the fraction in nanoseconds and the offset in
/// seconds (`.123Z`, `+01:00`).
fn fraction_and_offset(s: &str) -> Option<(i64, i64)> {
    let b = s.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let mut i = 19;
    let mut nanos: i64 = 0;
    if at(i) == b'.' {
        i += 1;
        let start = i;
        // Runtimes write nine digits: the first eight in one step
        // (natively: in wasm it costs the JS package's size budget ~130
        // gzipped bytes).
        let first8 = if cfg!(target_arch = "wasm32") {
            None
        } else {
            eight_digits(b, i)
        };
        if let Some(first8) = first8 {
            nanos = first8;
            i += 8;
        }
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
    let rest = b.len().checked_sub(i)?;
    let offset_secs = match rest {
        1 if matches!(at(i), b'Z' | b'z') => 0,
        6 if matches!(at(i), b'+' | b'-') && at(i + 3) == b':' => {
            let h = digits(b, i + 1..i + 3)?;
            let m = digits(b, i + 4..i + 6)?;
            let sign = if at(i) == b'-' { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    Some((nanos, offset_secs))
}

/// The eight ASCII digits at `i` as a number, read as one word (the digits
/// checked, then paired, quadrupled and joined by multiplication); `None`
/// unless all eight are digits.
fn eight_digits(b: &[u8], i: usize) -> Option<i64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    let chunk: [u8; 8] = b.get(i..i.checked_add(8)?)?.try_into().ok()?;
    let x = u64::from_le_bytes(chunk);
    let v = x.wrapping_sub(ZEROS);
    // Each byte `3` then a nibble below 10 (adding 6 keeps it below 16).
    if x & HIGH != ZEROS || (v + 0x0606_0606_0606_0606) & HIGH != 0 {
        return None;
    }
    // The first digit is the lowest byte: each step joins neighbours.
    let v = (v * 10 + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v * 100 + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    let v = (v * 10_000 + (v >> 32)) & 0xFFFF_FFFF;
    i64::try_from(v).ok()
}

/// `2026-11-27T07:08:16.525043701Z`: UTC, always nine fraction digits (the
/// form Fluent Bit's `parser` filter reads back with
/// `Time_Format %Y-%m-%dT%H:%M:%S.%LZ`); [`parse_rfc3339_nanos`] reads it.
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
/// (Howard Hinnant's algorithm); the inverse of [`days_from_civil`].
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
    fn eight_digits_reads_digits_only() {
        // Every byte value in each position, among digits.
        for pos in 0..8 {
            for c in 0..=255u8 {
                let mut b = *b"12345678";
                if let Some(x) = b.get_mut(pos) {
                    *x = c;
                }
                let want = std::str::from_utf8(&b)
                    .ok()
                    .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))
                    .and_then(|t| t.parse::<i64>().ok());
                assert_eq!(eight_digits(&b, 0), want, "{b:?}");
            }
        }
        assert_eq!(eight_digits(b"x99999999", 1), Some(99_999_999));
        assert_eq!(eight_digits(b"00000000", 0), Some(0));
        assert_eq!(eight_digits(b"1234567", 0), None);
    }

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
    fn formats_what_it_parses() {
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

    #[test]
    fn cache_reads_as_the_whole_parse() {
        let mut c = TimeCache::default();
        for t in [
            "2026-11-27T06:51:01.5Z",
            "2026-11-27T06:51:01.25+01:00",
            "2026-11-27T06:51:01",
            "2026-11-27T06:51:01Zjunk",
            "2026-11-27T06:51:01Z",
            "2026-11-27T06:51:02.1Z",
            "2026-11-27T06:51:0x.1Z",
            "2026-11-27T06:51:02.Z",
        ] {
            assert_eq!(c.parse(t), parse_rfc3339_nanos(t), "{t}");
        }
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
