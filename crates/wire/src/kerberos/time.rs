//! KerberosTime (RFC 4120 5.2.3: GeneralizedTime "YYYYMMDDHHMMSSZ", UTC, no fraction) to and
//! from Unix seconds.

use picky_asn1::date::GeneralizedTime;

/// The KerberosTime for Unix second `secs` (`None` outside the years GeneralizedTime holds).
pub fn from_unix(secs: i64) -> Option<GeneralizedTime> {
    let ts = jiff::Timestamp::from_second(secs).ok()?;
    let dt = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    GeneralizedTime::new(
        u16::try_from(dt.year()).ok()?,
        u8::try_from(dt.month()).ok()?,
        u8::try_from(dt.day()).ok()?,
        u8::try_from(dt.hour()).ok()?,
        u8::try_from(dt.minute()).ok()?,
        u8::try_from(dt.second()).ok()?,
    )
}

/// Unix seconds of the GeneralizedTime *content* bytes (`20260101120000Z`). Laxer than picky:
/// a fraction (`.123`) is accepted and dropped, as some KDCs put one in despite RFC 4120.
pub fn kerberos_time_to_unix(content: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(content).ok()?;
    let text = text.strip_suffix('Z')?;
    let whole = text.split('.').next()?;
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| whole.get(r)?.parse::<i16>().ok();
    civil_to_unix([
        n(0..4)?,
        n(4..6)?,
        n(6..8)?,
        n(8..10)?,
        n(10..12)?,
        n(12..14)?,
    ])
}

/// Unix seconds of a GeneralizedTime picky decoded (the end time of a ticket).
pub(crate) fn generalized_to_unix(t: &GeneralizedTime) -> Option<i64> {
    let f = |v: u8| i16::from(v);
    civil_to_unix([
        i16::try_from(t.year()).ok()?,
        f(t.month()),
        f(t.day()),
        f(t.hour()),
        f(t.minute()),
        f(t.second()),
    ])
}

/// Unix seconds of year, month, day, hour, minute, second in UTC; `None` for a date that does
/// not exist (jiff's fallible constructor: a month 13 or a day 32 is None, never a panic).
fn civil_to_unix([year, month, day, hour, minute, second]: [i16; 6]) -> Option<i64> {
    let small = |v: i16| i8::try_from(v).ok();
    let dt = jiff::civil::DateTime::new(
        year,
        small(month)?,
        small(day)?,
        small(hour)?,
        small(minute)?,
        // A leap second (60) reads as the last second of its minute.
        small(second)?.min(59),
        0,
    )
    .ok()?;
    Some(
        dt.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_second(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kerberos_times_and_refuses_other_text() {
        assert_eq!(kerberos_time_to_unix(b"19700101000000Z"), Some(0));
        assert_eq!(
            kerberos_time_to_unix(b"20261207144412Z"),
            Some(1_796_654_652)
        );
        assert_eq!(
            kerberos_time_to_unix(b"20261207144412.5Z"),
            Some(1_796_654_652)
        );
        assert_eq!(kerberos_time_to_unix(b"20261207144412"), None);
        assert_eq!(kerberos_time_to_unix(b"2026120714441Z"), None);
        assert_eq!(kerberos_time_to_unix(b"20261332144412Z"), None);
        assert_eq!(kerberos_time_to_unix(b"\xff"), None);
    }

    #[test]
    fn writes_a_time_that_reads_back() {
        let t = from_unix(1_796_654_652).unwrap();
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2026, 12, 7, 14, 44, 12)
        );
    }
}
