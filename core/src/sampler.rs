//! Head samplers: the decision, made when a span starts, whether its trace is
//! sampled.
//!
//! Owns: the samplers of the OpenTelemetry specification that need no network
//! (`always_on`, `always_off`, `traceidratio` and their `parentbased_*`
//! forms), with the Go SDK's exact `TraceIDRatioBased` arithmetic so that an
//! otlpx process and a Go process agree on every trace id, and the names used by
//! `OTEL_TRACES_SAMPLER`.
//! Must not: allocate or lock in [`Sampler::should_sample`], read the
//! environment (that is `config`'s job), or know about spans beyond the trace id
//! and the parent's flags.

use std::fmt;

/// What a sampler needs to know about the parent span, when there is a valid one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ParentInfo {
    /// The parent's `sampled` trace flag.
    pub sampled: bool,
    /// The parent came from another process (extracted from a propagator).
    pub remote: bool,
}

/// The sampler a [`Sampler::ParentBased`] uses for spans without a parent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RootSampler {
    /// Sample every root span.
    AlwaysOn,
    /// Sample no root span.
    AlwaysOff,
    /// Sample this fraction of root spans, by trace id (see [`Sampler::TraceIdRatio`]).
    TraceIdRatio(f64),
}

/// A head sampler.
///
/// The parent-based form uses the specification's (and the Go SDK's) default
/// delegates: a sampled parent, remote or local, means sampled; a parent that
/// is not sampled means not sampled; only spans without a parent ask `root`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampler {
    /// Sample everything (`always_on`).
    AlwaysOn,
    /// Sample nothing (`always_off`).
    AlwaysOff,
    /// Sample a fraction of traces chosen by trace id (`traceidratio`), ignoring
    /// the parent. Fractions `>= 1` sample everything, fractions `<= 0` (and NaN)
    /// nothing.
    TraceIdRatio(f64),
    /// Follow the parent's decision; ask `root` when there is no parent
    /// (`parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio`).
    ParentBased {
        /// The sampler for spans without a parent.
        root: RootSampler,
    },
}

impl Default for Sampler {
    /// `parentbased_always_on`, the specification's default.
    fn default() -> Self {
        Sampler::ParentBased {
            root: RootSampler::AlwaysOn,
        }
    }
}

/// The Go SDK's `TraceIDRatioBased` decision: the last 8 bytes of the trace id,
/// big-endian, shifted right by one, compared with `fraction * 2^63`.
#[inline]
fn ratio_sampled(fraction: f64, trace_id: &[u8; 16]) -> bool {
    if fraction >= 1.0 {
        return true;
    }
    // `fraction <= 0` and NaN give a bound of 0 (`as` saturates, NaN becomes 0),
    // like Go's `if fraction <= 0 { fraction = 0 }`.
    let bound = if fraction > 0.0 {
        (fraction * 9_223_372_036_854_775_808.0) as u64
    } else {
        0
    };
    let mut low = [0u8; 8];
    low.copy_from_slice(&trace_id[8..16]);
    let x = u64::from_be_bytes(low) >> 1;
    x < bound
}

impl RootSampler {
    #[inline]
    fn should_sample(self, trace_id: &[u8; 16]) -> bool {
        match self {
            RootSampler::AlwaysOn => true,
            RootSampler::AlwaysOff => false,
            RootSampler::TraceIdRatio(f) => ratio_sampled(f, trace_id),
        }
    }

    /// The same decision as a plain [`Sampler`].
    pub fn as_sampler(self) -> Sampler {
        match self {
            RootSampler::AlwaysOn => Sampler::AlwaysOn,
            RootSampler::AlwaysOff => Sampler::AlwaysOff,
            RootSampler::TraceIdRatio(f) => Sampler::TraceIdRatio(f),
        }
    }
}

impl Sampler {
    /// Whether a span of trace `trace_id` is sampled. `parent` is `None` for a
    /// root span (no valid parent span context). Never allocates.
    #[inline]
    pub fn should_sample(&self, trace_id: &[u8; 16], parent: Option<ParentInfo>) -> bool {
        match *self {
            Sampler::AlwaysOn => true,
            Sampler::AlwaysOff => false,
            Sampler::TraceIdRatio(f) => ratio_sampled(f, trace_id),
            Sampler::ParentBased { root } => match parent {
                // remoteParentSampled / localParentSampled default to AlwaysOn,
                // remoteParentNotSampled / localParentNotSampled to AlwaysOff:
                // either way the parent's flag decides.
                Some(p) => p.sampled,
                None => root.should_sample(trace_id),
            },
        }
    }

    /// The `OTEL_TRACES_SAMPLER` name of this sampler.
    pub fn env_name(&self) -> &'static str {
        match self {
            Sampler::AlwaysOn => "always_on",
            Sampler::AlwaysOff => "always_off",
            Sampler::TraceIdRatio(_) => "traceidratio",
            Sampler::ParentBased {
                root: RootSampler::AlwaysOn,
            } => "parentbased_always_on",
            Sampler::ParentBased {
                root: RootSampler::AlwaysOff,
            } => "parentbased_always_off",
            Sampler::ParentBased {
                root: RootSampler::TraceIdRatio(_),
            } => "parentbased_traceidratio",
        }
    }

    /// The ratio of a `traceidratio` sampler, plain or as the root of a parent-based one.
    pub fn ratio(&self) -> Option<f64> {
        match *self {
            Sampler::TraceIdRatio(f)
            | Sampler::ParentBased {
                root: RootSampler::TraceIdRatio(f),
            } => Some(f),
            _ => None,
        }
    }

    /// Whether the `OTEL_TRACES_SAMPLER` name `name` takes a ratio argument.
    pub fn name_takes_ratio(name: &str) -> bool {
        matches!(name, "traceidratio" | "parentbased_traceidratio")
    }

    /// The sampler for an `OTEL_TRACES_SAMPLER` name (already trimmed and
    /// lower-cased), with `ratio` for the ratio-based ones. `None` for names
    /// otlpx does not implement (`jaeger_remote`, `xray`, unknown ones).
    pub fn from_env_name(name: &str, ratio: f64) -> Option<Sampler> {
        Some(match name {
            "always_on" => Sampler::AlwaysOn,
            "always_off" => Sampler::AlwaysOff,
            "traceidratio" => Sampler::TraceIdRatio(ratio),
            "parentbased_always_on" => Sampler::ParentBased {
                root: RootSampler::AlwaysOn,
            },
            "parentbased_always_off" => Sampler::ParentBased {
                root: RootSampler::AlwaysOff,
            },
            "parentbased_traceidratio" => Sampler::ParentBased {
                root: RootSampler::TraceIdRatio(ratio),
            },
            _ => return None,
        })
    }

    /// Parses an `OTEL_TRACES_SAMPLER_ARG` ratio: a number in `[0, 1]`.
    pub fn parse_ratio(arg: &str) -> Result<f64, &'static str> {
        let v = parse_decimal(arg.trim()).ok_or("not a number")?;
        if !v.is_finite() || !(0.0..=1.0).contains(&v) {
            return Err("the ratio must be a number from 0 to 1");
        }
        Ok(v)
    }
}

/// A decimal number (`0.25`, `.5`, `1`, `1e-3`, `+0.1`, `-0`), as
/// `str::parse::<f64>` reads it for the inputs a ratio takes; `None` for
/// anything else (`inf`, `nan`, hex, empty). Exact (correctly rounded) for up
/// to 15 significant digits and exponents within ±22, which covers every
/// ratio anyone writes; within a few ulps beyond. Not `str::parse`: its
/// Eisel-Lemire tables are about 15 KB of the wasm module.
fn parse_decimal(s: &str) -> Option<f64> {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22,
    ];
    let b = s.as_bytes();
    let (negative, mut i) = match b.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    // Up to 19 significant digits in `m`; further ones only move the exponent.
    let (mut m, mut sig, mut exp, mut digits) = (0u64, 0u32, 0i64, 0u32);
    let mut seen_point = false;
    while let Some(&c) = b.get(i) {
        if c == b'.' && !seen_point {
            seen_point = true;
            i += 1;
            continue;
        }
        if !c.is_ascii_digit() {
            break;
        }
        digits += 1;
        let d = u64::from(c - b'0');
        if sig < 19 {
            if m != 0 || d != 0 {
                m = m * 10 + d;
                sig += 1;
            }
            if seen_point {
                exp -= 1;
            }
        } else if !seen_point {
            exp += 1;
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() {
        if b[i] != b'e' && b[i] != b'E' {
            return None;
        }
        i += 1;
        let e_negative = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e = 0i64;
        while i < b.len() && b[i].is_ascii_digit() {
            e = (e * 10 + i64::from(b[i] - b'0')).min(100_000);
            i += 1;
        }
        if i == start || i < b.len() {
            return None;
        }
        exp += if e_negative { -e } else { e };
    }
    let mut v = m as f64;
    if m != 0 {
        let mut e = exp;
        while e > 0 {
            let k = e.min(22);
            v *= POW10[k as usize];
            e -= k;
        }
        while e < 0 {
            let k = (-e).min(22);
            v /= POW10[k as usize];
            e += k;
        }
    }
    Some(if negative { -v } else { v })
}

/// Writes a ratio the way Go's `%g` does (`0.5`, `0.0001`, `1e-05`).
fn write_go_g(f: &mut fmt::Formatter<'_>, v: f64) -> fmt::Result {
    if v == 0.0 || !v.is_finite() {
        return write!(f, "{v}");
    }
    let e = format!("{v:e}");
    let (mantissa, exp) = match e.split_once('e') {
        Some((m, x)) => (m, x.parse::<i32>().unwrap_or(0)),
        None => return f.write_str(&e),
    };
    if !(-4..21).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        write!(f, "{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        write!(f, "{v}")
    }
}

fn write_ratio_description(f: &mut fmt::Formatter<'_>, fraction: f64) -> fmt::Result {
    if fraction >= 1.0 {
        // Go's TraceIDRatioBased(>= 1) is AlwaysSample().
        return f.write_str("AlwaysOnSampler");
    }
    let fraction = if fraction > 0.0 { fraction } else { 0.0 };
    f.write_str("TraceIDRatioBased{")?;
    write_go_g(f, fraction)?;
    f.write_str("}")
}

impl fmt::Display for RootSampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.as_sampler(), f)
    }
}

impl fmt::Display for Sampler {
    /// The Go SDK's `Description()`: `AlwaysOnSampler`, `AlwaysOffSampler`,
    /// `TraceIDRatioBased{0.5}`, `ParentBased{root:...,remoteParentSampled:...}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Sampler::AlwaysOn => f.write_str("AlwaysOnSampler"),
            Sampler::AlwaysOff => f.write_str("AlwaysOffSampler"),
            Sampler::TraceIdRatio(r) => write_ratio_description(f, r),
            Sampler::ParentBased { root } => write!(
                f,
                "ParentBased{{root:{root},remoteParentSampled:AlwaysOnSampler,\
                 remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,\
                 localParentNotSampled:AlwaysOffSampler}}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_decimal_agrees_with_std() {
        for s in [
            "0",
            "1",
            "0.5",
            ".5",
            "1.",
            "0.25",
            "0.1",
            "0.0001",
            "1e-5",
            "1E-5",
            "5e-1",
            "+0.3",
            "-0",
            "-0.5",
            "0.333333333333333",
            "0.999999999999999",
            "00000.000100",
            "1e0",
            "10e-1",
            "0.1e1",
            "2",
            "1e22",
            "1e-22",
            "123456789012345e-15",
        ] {
            assert_eq!(parse_decimal(s), s.parse::<f64>().ok(), "{s}");
        }
        for s in [
            "", ".", "e1", "1e", "1e+", "inf", "nan", "0x1p-1", "1.2.3", "1 ", "--1", "+", "1_0", "١",
        ] {
            assert_eq!(parse_decimal(s), None, "{s:?}");
        }
        // Long inputs stay within a few ulps and in range.
        let long = "0.12345678901234567890123456789";
        let (a, b) = (parse_decimal(long).unwrap(), long.parse::<f64>().unwrap());
        assert!((a - b).abs() <= 4.0 * f64::EPSILON * b, "{a} {b}");
        assert_eq!(parse_decimal("1e-400"), Some(0.0));
        assert_eq!(parse_decimal("1e400"), Some(f64::INFINITY));
        assert!(Sampler::parse_ratio("1e400").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_decimal_is_exact_for_short_decimals(m in 0u64..1_000_000_000_000_000, scale in 0u32..22) {
            let digits = m.to_string();
            let s = if scale as usize >= digits.len() {
                format!("0.{}{digits}", "0".repeat(scale as usize - digits.len()))
            } else {
                let (a, b) = digits.split_at(digits.len() - scale as usize);
                format!("{a}.{b}")
            };
            proptest::prop_assert_eq!(parse_decimal(&s), s.parse::<f64>().ok(), "{}", s);
            let e = format!("{m}e-{scale}");
            proptest::prop_assert_eq!(parse_decimal(&e), e.parse::<f64>().ok(), "{}", e);
        }
    }

    fn id_with_low(low: u64) -> [u8; 16] {
        let mut id = [0xffu8; 16];
        id[8..].copy_from_slice(&low.to_be_bytes());
        id
    }

    #[test]
    fn always_on_and_off_ignore_parent() {
        let id = [7u8; 16];
        for parent in [
            None,
            Some(ParentInfo {
                sampled: false,
                remote: true,
            }),
            Some(ParentInfo::default()),
        ] {
            assert!(Sampler::AlwaysOn.should_sample(&id, parent));
            assert!(!Sampler::AlwaysOff.should_sample(&id, parent));
        }
    }

    #[test]
    fn ratio_uses_last_eight_bytes_shifted_like_go() {
        // bound for 0.5 is exactly 2^62; x = low >> 1.
        let s = Sampler::TraceIdRatio(0.5);
        assert!(s.should_sample(&id_with_low((1u64 << 63) - 1), None)); // x = 2^62 - 1
        assert!(!s.should_sample(&id_with_low(1u64 << 63), None)); // x = 2^62
        assert!(s.should_sample(&id_with_low(0), None));
        // The first eight bytes do not matter.
        let mut id = id_with_low(0);
        id[..8].copy_from_slice(&[0u8; 8]);
        assert!(s.should_sample(&id, None));
        id[..8].copy_from_slice(&[0xff; 8]);
        assert!(s.should_sample(&id, None));
        // The lowest bit is shifted away: 2^63 and 2^63 + 1 decide alike.
        assert!(!s.should_sample(&id_with_low((1u64 << 63) | 1), None));
        assert!(s.should_sample(&id_with_low((1u64 << 63) - 2), None));
        assert!(Sampler::TraceIdRatio(0.25).should_sample(&id_with_low((1u64 << 62) - 1), None));
        assert!(!Sampler::TraceIdRatio(0.25).should_sample(&id_with_low(1u64 << 62), None));
    }

    #[test]
    fn ratio_bound_matches_go_truncation() {
        // Go: uint64(fraction * (1 << 63)); check a value that is not a power of two.
        let fraction = 0.1f64;
        let bound = (fraction * 9_223_372_036_854_775_808.0) as u64;
        assert_eq!(bound, 922_337_203_685_477_632); // what Go computes for 0.1
        let s = Sampler::TraceIdRatio(fraction);
        assert!(s.should_sample(&id_with_low((bound - 1) << 1), None));
        assert!(!s.should_sample(&id_with_low(bound << 1), None));
    }

    #[test]
    fn ratio_edges() {
        let max = id_with_low(u64::MAX);
        let zero = id_with_low(0);
        assert!(Sampler::TraceIdRatio(1.0).should_sample(&max, None));
        assert!(Sampler::TraceIdRatio(2.0).should_sample(&max, None));
        assert!(!Sampler::TraceIdRatio(0.0).should_sample(&zero, None));
        assert!(!Sampler::TraceIdRatio(-1.0).should_sample(&zero, None));
        assert!(!Sampler::TraceIdRatio(f64::NAN).should_sample(&zero, None));
        // Parent is ignored by the plain ratio sampler.
        let sampled = Some(ParentInfo {
            sampled: true,
            remote: false,
        });
        assert!(!Sampler::TraceIdRatio(0.0).should_sample(&zero, sampled));
    }

    #[test]
    fn ratio_fraction_is_roughly_honoured() {
        let s = Sampler::TraceIdRatio(0.25);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut n = 0;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if s.should_sample(&id_with_low(state), None) {
                n += 1;
            }
        }
        assert!((24_000..26_000).contains(&n), "{n}");
    }

    #[test]
    fn parent_based_defaults() {
        let id = id_with_low(u64::MAX); // a ratio root would not sample this
        for root in [
            RootSampler::AlwaysOn,
            RootSampler::AlwaysOff,
            RootSampler::TraceIdRatio(0.0),
        ] {
            let s = Sampler::ParentBased { root };
            for remote in [false, true] {
                assert!(s.should_sample(&id, Some(ParentInfo { sampled: true, remote })));
                assert!(!s.should_sample(&id, Some(ParentInfo { sampled: false, remote })));
            }
        }
        assert!(Sampler::ParentBased {
            root: RootSampler::AlwaysOn
        }
        .should_sample(&id, None));
        assert!(!Sampler::ParentBased {
            root: RootSampler::AlwaysOff
        }
        .should_sample(&id, None));
        let ratio = Sampler::ParentBased {
            root: RootSampler::TraceIdRatio(0.5),
        };
        assert!(!ratio.should_sample(&id, None));
        assert!(ratio.should_sample(&id_with_low(0), None));
        assert_eq!(
            Sampler::default(),
            Sampler::ParentBased {
                root: RootSampler::AlwaysOn
            }
        );
    }

    #[test]
    fn descriptions_match_go() {
        assert_eq!(Sampler::AlwaysOn.to_string(), "AlwaysOnSampler");
        assert_eq!(Sampler::AlwaysOff.to_string(), "AlwaysOffSampler");
        assert_eq!(Sampler::TraceIdRatio(0.5).to_string(), "TraceIDRatioBased{0.5}");
        assert_eq!(Sampler::TraceIdRatio(0.0001).to_string(), "TraceIDRatioBased{0.0001}");
        assert_eq!(Sampler::TraceIdRatio(0.00001).to_string(), "TraceIDRatioBased{1e-05}");
        assert_eq!(
            Sampler::TraceIdRatio(0.000015).to_string(),
            "TraceIDRatioBased{1.5e-05}"
        );
        assert_eq!(Sampler::TraceIdRatio(-3.0).to_string(), "TraceIDRatioBased{0}");
        assert_eq!(Sampler::TraceIdRatio(1.0).to_string(), "AlwaysOnSampler");
        assert_eq!(
            Sampler::ParentBased {
                root: RootSampler::TraceIdRatio(0.25)
            }
            .to_string(),
            "ParentBased{root:TraceIDRatioBased{0.25},remoteParentSampled:AlwaysOnSampler,\
             remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,\
             localParentNotSampled:AlwaysOffSampler}"
        );
    }

    #[test]
    fn env_names_round_trip() {
        for name in [
            "always_on",
            "always_off",
            "traceidratio",
            "parentbased_always_on",
            "parentbased_always_off",
            "parentbased_traceidratio",
        ] {
            let s = Sampler::from_env_name(name, 0.5).unwrap();
            assert_eq!(s.env_name(), name);
            assert_eq!(s.ratio().is_some(), Sampler::name_takes_ratio(name));
        }
        assert_eq!(Sampler::from_env_name("jaeger_remote", 1.0), None);
        assert_eq!(Sampler::from_env_name("xray", 1.0), None);
    }

    #[test]
    fn parse_ratio_range() {
        assert_eq!(Sampler::parse_ratio("0.25"), Ok(0.25));
        assert_eq!(Sampler::parse_ratio(" 1 "), Ok(1.0));
        assert_eq!(Sampler::parse_ratio("0"), Ok(0.0));
        assert!(Sampler::parse_ratio("1.5").is_err());
        assert!(Sampler::parse_ratio("-0.1").is_err());
        assert!(Sampler::parse_ratio("NaN").is_err());
        assert!(Sampler::parse_ratio("inf").is_err());
        assert!(Sampler::parse_ratio("half").is_err());
    }
}
