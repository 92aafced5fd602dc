//! The tunnel packets of the set-up, in order (MS-TSGU 3.7.5 for the HTTP transport): the
//! handshake (asking for pluggable authentication when a PAA cookie was given), the tunnel
//! create (capabilities, the cookie), the tunnel authorization (the client name: the
//! connection authorization policy decides), the channel create (the target: the resource
//! authorization policy decides, then the gateway connects). Each answer's status is recorded;
//! a failure status stops the set-up there.

use super::http_phase::clean;
use super::link::{Link, LinkError};
use super::setup::Setup;
use crate::elapsed_ms;
use rdpdoctor_observations::{
    AuthorizationAnswer, ChannelAnswer, GatewayOutcome, GatewayPhase, HandshakeAnswer, Transport,
    TunnelAnswer,
};
use rdpdoctor_wire::tsgu::packet::{self, extended_auth, ServerPacket, CLIENT_CAPABILITIES};
use std::time::Instant;
use zeroize::Zeroizing;

/// Runs the four steps on `link`.
pub(super) async fn create(setup: &mut Setup<'_>, link: &mut Link) -> Result<(), GatewayOutcome> {
    handshake(setup, link).await?;
    tunnel(setup, link).await?;
    authorize(setup, link).await?;
    channel(setup, link).await
}

async fn handshake(setup: &mut Setup<'_>, link: &mut Link) -> Result<(), GatewayOutcome> {
    let phase = GatewayPhase::Handshake;
    let asked = if setup.auth.paa_cookie.is_some() {
        extended_auth::PAA
    } else {
        extended_auth::NONE
    };
    let request = packet::handshake_request(asked);
    let (h, elapsed_ms) = answer(setup, link, phase, &request, |p| match p {
        ServerPacket::HandshakeResponse(h) => Ok(h),
        other => Err(other),
    })
    .await?;
    setup.obs.handshake = Some(HandshakeAnswer {
        asked_extended_auth: asked,
        status: h.error_code,
        version: h.version,
        extended_auth: h.extended_auth,
        elapsed_ms,
    });
    refused(phase, h.error_code)
}

async fn tunnel(setup: &mut Setup<'_>, link: &mut Link) -> Result<(), GatewayOutcome> {
    let phase = GatewayPhase::TunnelCreate;
    let cookie = setup.auth.paa_cookie.as_ref().map(|c| c.as_str());
    // The request carries the cookie, a bearer secret: zeroed once sent.
    let request = Zeroizing::new(
        packet::tunnel_create(CLIENT_CAPABILITIES, cookie)
            .map_err(|e| malformed(phase, format!("the tunnel create cannot be built: {e}")))?,
    );
    let (t, elapsed_ms) = answer(setup, link, phase, &request, |p| match p {
        ServerPacket::TunnelResponse(t) => Ok(t),
        other => Err(other),
    })
    .await?;
    setup.obs.tunnel = Some(TunnelAnswer {
        offered_capabilities: CLIENT_CAPABILITIES,
        paa_cookie_sent: setup.auth.paa_cookie.is_some(),
        status: t.status,
        tunnel_id: t.tunnel_id,
        capabilities: t.capabilities,
        soh_requested: t.soh_requested,
        consent_message: t.consent_message.map(|m| clean(&m, 2000)),
        elapsed_ms,
    });
    refused(phase, t.status)
}

async fn authorize(setup: &mut Setup<'_>, link: &mut Link) -> Result<(), GatewayOutcome> {
    let phase = GatewayPhase::TunnelAuth;
    let client_name = setup.auth.client_name.clone();
    let request = packet::tunnel_auth(&client_name).map_err(|e| {
        malformed(
            phase,
            format!("the tunnel authorization cannot be built: {e}"),
        )
    })?;
    let (a, elapsed_ms) = answer(setup, link, phase, &request, |p| match p {
        ServerPacket::TunnelAuthResponse(a) => Ok(a),
        other => Err(other),
    })
    .await?;
    setup.obs.authorization = Some(AuthorizationAnswer {
        client_name,
        status: a.error_code,
        idle_timeout_minutes: a.idle_timeout_minutes,
        redir_flags: a.redir_flags,
        elapsed_ms,
    });
    refused(phase, a.error_code)
}

async fn channel(setup: &mut Setup<'_>, link: &mut Link) -> Result<(), GatewayOutcome> {
    let phase = GatewayPhase::ChannelCreate;
    let request = packet::channel_create(&[setup.obs.target.as_str()], setup.obs.target_port)
        .map_err(|e| malformed(phase, format!("the channel create cannot be built: {e}")))?;
    let (c, elapsed_ms) = answer(setup, link, phase, &request, |p| match p {
        ServerPacket::ChannelResponse(c) => Ok(c),
        other => Err(other),
    })
    .await?;
    setup.obs.channel = Some(ChannelAnswer {
        status: c.error_code,
        channel_id: c.channel_id,
        udp_port: c.udp_port,
        elapsed_ms,
    });
    refused(phase, c.error_code)
}

/// Sends `request` and takes the answer `pick` expects (anything else is out of order), with
/// the step's time.
async fn answer<T>(
    setup: &mut Setup<'_>,
    link: &mut Link,
    phase: GatewayPhase,
    request: &[u8],
    pick: impl FnOnce(ServerPacket) -> Result<T, ServerPacket>,
) -> Result<(T, f64), GatewayOutcome> {
    let start = Instant::now();
    let packet = round_trip(setup, link, phase, request).await?;
    let value = pick(packet).map_err(|got| unexpected(phase, &got))?;
    Ok((value, elapsed_ms(start)))
}

fn refused(phase: GatewayPhase, status: u32) -> Result<(), GatewayOutcome> {
    if packet::is_failure(status) {
        return Err(GatewayOutcome::Refused { phase, status });
    }
    Ok(())
}

fn malformed(phase: GatewayPhase, reason: String) -> GatewayOutcome {
    GatewayOutcome::Malformed { phase, reason }
}

fn unexpected(phase: GatewayPhase, got: &ServerPacket) -> GatewayOutcome {
    malformed(
        phase,
        format!(
            "the gateway answered {} with a {} packet",
            phase.label(),
            got.name()
        ),
    )
}

/// Sends `request` and waits for the answer, under the phase's deadline: keepalives and service
/// messages on the way are taken in stride (messages recorded), a close channel ends the
/// set-up.
async fn round_trip(
    setup: &mut Setup<'_>,
    link: &mut Link,
    phase: GatewayPhase,
    request: &[u8],
) -> Result<ServerPacket, GatewayOutcome> {
    let deadline = setup.deadline(phase)?;
    let start = Instant::now();
    let before = link.received;
    let exchange = async {
        link.send(request).await.map_err(LinkError::Io)?;
        loop {
            let raw = link.recv().await?;
            match packet::decode(&raw)? {
                ServerPacket::Keepalive => {}
                ServerPacket::ServiceMessage(m) => setup.obs.service_messages.push(clean(&m, 2000)),
                other => return Ok(other),
            }
        }
    };
    let result = tokio::time::timeout(deadline, exchange).await;
    setup.timed(phase, start);
    let bytes = link.received.saturating_sub(before);
    match result {
        Err(_) => Err(GatewayOutcome::Transport(Transport::TimedOut {
            phase,
            bytes,
        })),
        Ok(Ok(ServerPacket::CloseChannel { status })) => {
            Err(GatewayOutcome::ChannelClosed { phase, status })
        }
        Ok(Ok(p)) => Ok(p),
        Ok(Err(e)) => Err(match e {
            LinkError::Closed | LinkError::WebSocketClosed(_) => {
                GatewayOutcome::Transport(Transport::closed(phase, bytes))
            }
            e if e.is_reset() => GatewayOutcome::Transport(Transport::reset(phase, bytes)),
            LinkError::Io(_) => GatewayOutcome::Transport(Transport::closed(phase, bytes)),
            other => malformed(phase, other.to_string()),
        }),
    }
}
