//! The one event normalizer: an `<Event>` element (Windows event schema) → [`EventRecord`], and
//! the filter that keeps the RDP-relevant records: Schannel errors, TermDD and TermService, the
//! RdpCoreTS and TerminalServices channels, and Security logons, failures and firewall records
//! that belong to remote desktop connections.

use rdpdoctor_observations::{EventField, EventRecord};
use roxmltree::Node;

/// Parses one `<Event>` element given as text (as `evtx` renders a record).
pub fn parse_event_xml(text: &str, source: &str) -> Result<EventRecord, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("invalid event XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Event" {
        return Err(format!(
            "expected <Event>, found <{}>",
            root.tag_name().name()
        ));
    }
    from_node(root, source)
}

/// Normalizes one `<Event>` node.
pub(crate) fn from_node(event: Node, source: &str) -> Result<EventRecord, String> {
    let system = child(event, "System").ok_or("event without <System>")?;
    let provider_node = child(system, "Provider");
    let provider = provider_node
        .and_then(|p| p.attribute("Name"))
        .unwrap_or_default()
        .to_string();
    let event_source = provider_node
        .and_then(|p| p.attribute("EventSourceName"))
        .map(str::to_string);
    let id_node = child(system, "EventID").ok_or("event without <EventID>")?;
    let raw_id: u32 = text_of(id_node)
        .trim()
        .parse()
        .map_err(|_| format!("EventID {:?} is not a number", text_of(id_node)))?;
    // Classic providers carry severity and facility in Qualifiers; message tables sometimes give
    // the full 32-bit value (RCM 1057 = 0xC0000421). Either way the event id is the low 16 bits.
    let qualifiers = id_node
        .attribute("Qualifiers")
        .and_then(|q| q.trim().parse::<u16>().ok())
        .or_else(|| u16::try_from(raw_id >> 16).ok().filter(|q| *q != 0));
    let id = u16::try_from(raw_id & 0xFFFF).unwrap_or_default();
    let time = child(system, "TimeCreated")
        .and_then(|t| t.attribute("SystemTime"))
        .and_then(parse_time);
    let record_id = child(system, "EventRecordID").and_then(|r| text_of(r).trim().parse().ok());
    let channel = child(system, "Channel").map(text_of).unwrap_or_default();
    let computer = child(system, "Computer").map(text_of).unwrap_or_default();
    let activity_id = child(system, "Correlation")
        .and_then(|c| c.attribute("ActivityID"))
        .map(normalize_guid)
        .filter(|g| !g.is_empty());

    let mut data = Vec::new();
    let mut binary = None;
    if let Some(ed) = child(event, "EventData") {
        for n in ed.children().filter(|n| n.is_element()) {
            match n.tag_name().name() {
                "Data" => data.push(EventField {
                    name: n.attribute("Name").map(str::to_string),
                    value: text_of(n),
                }),
                "Binary" => {
                    let hex: String = text_of(n).chars().filter(|c| !c.is_whitespace()).collect();
                    if !hex.is_empty() {
                        binary = Some(hex.to_ascii_uppercase());
                    }
                }
                _ => {}
            }
        }
    }
    // Manifest providers such as LocalSessionManager and RemoteConnectionManager put their
    // fields in one element under UserData (`<EventXML xmlns="Event_NS">`).
    if let Some(ud) = child(event, "UserData") {
        for wrapper in ud.children().filter(|n| n.is_element()) {
            for n in wrapper.children().filter(|n| n.is_element()) {
                data.push(EventField {
                    name: Some(n.tag_name().name().to_string()),
                    value: text_of(n),
                });
            }
        }
    }
    Ok(EventRecord {
        source: source.to_string(),
        provider: provider.trim().to_string(),
        event_source,
        channel: channel.trim().to_string(),
        id,
        qualifiers,
        record_id,
        time,
        computer: computer.trim().to_string(),
        activity_id,
        data,
        binary,
    })
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

/// All text inside a node (an element may hold text split by comments or CDATA).
fn text_of(node: Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

fn parse_time(s: &str) -> Option<jiff::Timestamp> {
    let s = s.trim();
    s.parse::<jiff::Timestamp>()
        .ok()
        // Some tools drop the zone designator; SystemTime is always UTC.
        .or_else(|| format!("{s}Z").parse().ok())
}

fn normalize_guid(g: &str) -> String {
    let inner = g.trim().trim_start_matches('{').trim_end_matches('}');
    if inner.is_empty() || inner.chars().all(|c| c == '0' || c == '-') {
        return String::new();
    }
    format!("{{{}}}", inner.to_ascii_lowercase())
}

/// The Kerberos error number in a 4768 / 4769 / 4771 `Status` ("0x18").
fn kerberos_status(e: &EventRecord) -> Option<u32> {
    let s = e.field("Status")?.trim();
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    u32::from_str_radix(hex, 16).ok()
}

/// RdpCoreTS ids worth keeping (the rest are per-channel traces that drown the timeline).
const RDPCORETS_IDS: &[u16] = &[97, 98, 102, 103, 105, 131, 139, 140, 142, 143, 153, 226];

/// Whether a record belongs to the RDP story: the RDP providers' own events, and Security
/// records whose logon type or destination port ties them to a remote desktop connection.
pub fn is_relevant(e: &EventRecord, rdp_ports: &[u16]) -> bool {
    let p = e.provider.to_ascii_lowercase();
    if p == "schannel"
        || p == "microsoft-windows-schannel"
        || p == "microsoft-windows-schannel-events"
    {
        return (36867..=36888).contains(&e.id);
    }
    if p == "termdd" || e.from_provider("TermService") {
        return true;
    }
    // NTLM/Operational: 4001-4003 blocked, 8001-8003 would be blocked (audit).
    if p == "microsoft-windows-ntlm" {
        return matches!(e.id, 4001..=4003 | 8001..=8003);
    }
    if p.contains("remotedesktopservices-rdpcorets") {
        return RDPCORETS_IDS.contains(&e.id);
    }
    if p.contains("terminalservices-localsessionmanager") {
        return (21..=42).contains(&e.id);
    }
    if p.contains("terminalservices-") {
        // RemoteConnectionManager (Operational and System) and the client (ClientActiveXCore).
        return true;
    }
    if p == "microsoft-windows-security-auditing" {
        let logon_type = e.field("LogonType").unwrap_or_default();
        return match e.id {
            4624 => logon_type == "10",
            // With NLA a failed RDP logon is LogonType 3; 7 is an unlock/reconnect.
            4625 => matches!(logon_type, "3" | "7" | "10"),
            4778 | 4779 | 4825 => true,
            // Kerberos on a domain controller: failures (a DC logs thousands of successes), and
            // every service ticket request for a TERMSRV/ name (a success is the control).
            4768 | 4771 => kerberos_status(e).is_some_and(|s| s != 0),
            4769 => {
                kerberos_status(e).is_some_and(|s| s != 0)
                    || e.field("ServiceName").is_some_and(|n| {
                        n.get(..8)
                            .is_some_and(|p| p.eq_ignore_ascii_case("TERMSRV/"))
                    })
            }
            5152 | 5156 | 5157 => e
                .field("DestPort")
                .and_then(|v| v.parse::<u16>().ok())
                .is_some_and(|port| rdp_ports.contains(&port)),
            _ => false,
        };
    }
    if p == "service control manager" && matches!(e.id, 7031 | 7034 | 7036) {
        let text = e.all_text().to_ascii_lowercase();
        return text.contains("remote desktop") || text.contains("termservice");
    }
    false
}
