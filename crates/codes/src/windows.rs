//! Windows releases by the version an NTLM CHALLENGE carries (MS-NLMP 2.2.2.10 VERSION: major,
//! minor, build), for naming the server's operating system: the released builds (Microsoft's
//! "Windows Server release information" and "Windows 10/11 release information" pages), the
//! public pre-releases, and the first released build of each NT version (a lower build of the
//! same version is a pre-release).

/// (major, minor, build) of an NTLM VERSION, the server release, the desktop release.
pub type Release = ((u8, u8, u16), Option<&'static str>, Option<&'static str>);

/// Windows releases by NTLM VERSION: (server name, desktop release of the same build).
pub const RELEASES: &[Release] = &[
    ((6, 0, 6000), None, Some("Windows Vista")),
    (
        (6, 0, 6001),
        Some("Windows Server 2008"),
        Some("Windows Vista SP1"),
    ),
    (
        (6, 0, 6002),
        Some("Windows Server 2008"),
        Some("Windows Vista"),
    ),
    (
        (6, 1, 7600),
        Some("Windows Server 2008 R2"),
        Some("Windows 7"),
    ),
    (
        (6, 1, 7601),
        Some("Windows Server 2008 R2"),
        Some("Windows 7"),
    ),
    ((6, 2, 9200), Some("Windows Server 2012"), Some("Windows 8")),
    (
        (6, 3, 9600),
        Some("Windows Server 2012 R2"),
        Some("Windows 8.1"),
    ),
    ((10, 0, 10240), None, Some("Windows 10 1507")),
    ((10, 0, 10586), None, Some("Windows 10 1511")),
    (
        (10, 0, 14393),
        Some("Windows Server 2016"),
        Some("Windows 10 1607"),
    ),
    ((10, 0, 15063), None, Some("Windows 10 1703")),
    (
        (10, 0, 16299),
        Some("Windows Server 1709"),
        Some("Windows 10 1709"),
    ),
    (
        (10, 0, 17134),
        Some("Windows Server 1803"),
        Some("Windows 10 1803"),
    ),
    (
        (10, 0, 17763),
        Some("Windows Server 2019"),
        Some("Windows 10 1809"),
    ),
    (
        (10, 0, 18362),
        Some("Windows Server 1903"),
        Some("Windows 10 1903"),
    ),
    (
        (10, 0, 18363),
        Some("Windows Server 1909"),
        Some("Windows 10 1909"),
    ),
    (
        (10, 0, 19041),
        Some("Windows Server 2004"),
        Some("Windows 10 2004"),
    ),
    (
        (10, 0, 19042),
        Some("Windows Server 20H2"),
        Some("Windows 10 20H2"),
    ),
    ((10, 0, 19043), None, Some("Windows 10 21H1")),
    ((10, 0, 19044), None, Some("Windows 10 21H2")),
    ((10, 0, 19045), None, Some("Windows 10 22H2")),
    ((10, 0, 20348), Some("Windows Server 2022"), None),
    ((10, 0, 22000), None, Some("Windows 11 21H2")),
    ((10, 0, 22621), None, Some("Windows 11 22H2")),
    ((10, 0, 22631), None, Some("Windows 11 23H2")),
    ((10, 0, 25398), Some("Windows Server 23H2"), None),
    (
        (10, 0, 26100),
        Some("Windows Server 2025"),
        Some("Windows 11 24H2"),
    ),
    ((10, 0, 26200), None, Some("Windows 11 25H2")),
];

/// Public pre-release builds: (major, minor, build), server name, desktop name.
pub const PREVIEWS: &[Release] = &[
    (
        (6, 1, 7000),
        Some("Windows Server 2008 R2 Beta"),
        Some("Windows 7 Beta"),
    ),
    (
        (6, 1, 7100),
        Some("Windows Server 2008 R2 RC"),
        Some("Windows 7 RC"),
    ),
    (
        (6, 2, 8250),
        Some("Windows Server 8 Beta"),
        Some("Windows 8 Consumer Preview"),
    ),
    (
        (6, 2, 8400),
        Some("Windows Server 2012 RC"),
        Some("Windows 8 Release Preview"),
    ),
    (
        (6, 3, 9431),
        Some("Windows Server 2012 R2 Preview"),
        Some("Windows 8.1 Preview"),
    ),
    (
        (10, 0, 10074),
        Some("Windows Server 2016 Technical Preview 2"),
        None,
    ),
    (
        (10, 0, 10514),
        Some("Windows Server 2016 Technical Preview 3"),
        None,
    ),
    (
        (10, 0, 14300),
        Some("Windows Server 2016 Technical Preview 5"),
        None,
    ),
];

/// The first released build of each NT version: a lower build of the same version is a
/// pre-release (beta, preview, release candidate) of that release.
pub const FIRST_RELEASES: &[((u8, u8), u16, &str)] = &[
    ((6, 0), 6000, "Windows Vista / Server 2008"),
    ((6, 1), 7600, "Windows 7 / Server 2008 R2"),
    ((6, 2), 9200, "Windows 8 / Server 2012"),
    ((6, 3), 9600, "Windows 8.1 / Server 2012 R2"),
    ((10, 0), 10240, "Windows 10 / Server 2016"),
];
