//! System alerts that cannot go through the store, because the store is what failed (full, or not
//! open): sent straight to the administrators through the relay, at most once per kind per
//! [`ALERT_INTERVAL`], best effort. The seed's Alerts ("Low Disk Space Threshold Exceeded") with the
//! throttling the seed lacks.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::message::{MailParams, Origin, Recipient};
use crate::notify;
use crate::relay::Relay;
use crate::task;

/// One alert of a kind per this long at most.
pub const ALERT_INTERVAL: Duration = Duration::from_secs(3600);

/// Sends throttled alerts to `notifications.admin`.
pub struct Alerts {
    /// Replaced by a reload ([`Alerts::set_relay`]); an alert keeps the one it started with.
    relay: arc_swap::ArcSwap<Relay>,
    settings: notify::Settings,
    last: Mutex<HashMap<&'static str, Instant>>,
    /// The app's background tasks: an alert being sent is waited for at shutdown.
    tasks: task::Group,
}

impl Alerts {
    pub fn new(relay: Relay, settings: notify::Settings, tasks: task::Group) -> Alerts {
        Alerts {
            relay: arc_swap::ArcSwap::from_pointee(relay),
            settings,
            last: Mutex::new(HashMap::new()),
            tasks,
        }
    }

    /// Next hops from a reloaded configuration: later alerts go through `relay`.
    pub fn set_relay(&self, relay: Relay) {
        self.relay.store(Arc::new(relay));
    }

    /// Whether an alert of `kind` may go out now (and, if so, records that it did).
    fn due(&self, kind: &'static str) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match last.get(kind) {
            Some(t) if t.elapsed() < ALERT_INTERVAL => false,
            _ => {
                last.insert(kind, Instant::now());
                true
            }
        }
    }

    /// Sends the alert in the background (the app's task group). `peer` is where mail goes in reflecting mode (the MTA the
    /// failing message came from).
    pub fn raise(&self, kind: &'static str, subject: &str, text: &str, now: u64, peer: SocketAddr) {
        if self.settings.admin.is_empty() || !self.due(kind) {
            return;
        }
        let Some(bytes) = self
            .settings
            .alert(subject, text, uuid::Uuid::new_v4(), now)
        else {
            return;
        };
        let relay = self.relay.load_full();
        let to = self.settings.admin.clone();
        tracing::error!(alert = kind, "{subject}");
        self.tasks.spawn(async move {
            let origin = Origin {
                peer,
                helo: String::new(),
                tls: false,
            };
            let result = async {
                let mut conn = relay.connect(&origin).await.map_err(|e| e.to_string())?;
                let (first, rest) = to.split_first().ok_or("no administrator")?;
                let (mail, rcpt) = conn
                    .open_transaction(
                        false,
                        "",
                        &MailParams::default(),
                        &Recipient::plain(first.clone()),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                let mut accepted = usize::from(mail.is_positive() && rcpt.is_positive());
                for r in rest {
                    if conn
                        .rcpt(&Recipient::plain(r.clone()))
                        .await
                        .map_err(|e| e.to_string())?
                        .is_positive()
                    {
                        accepted += 1;
                    }
                }
                if accepted == 0 {
                    return Err(format!("refused: {mail} / {rcpt}"));
                }
                let r = conn.data(&bytes).await.map_err(|e| e.to_string())?;
                conn.quit().await;
                if r.is_positive() {
                    Ok(())
                } else {
                    Err(r.to_string())
                }
            }
            .await;
            match result {
                Ok(()) => tracing::info!(alert = kind, "alert sent to the administrators"),
                Err(e) => tracing::warn!(alert = kind, error = %e, "alert could not be sent"),
            }
        });
    }
}
