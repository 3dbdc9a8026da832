//! The configuration file as written: serde structs mirroring `assets/sluice.toml`, every key optional.
//!
//! Each value keeps its source span so that validation (in `config::mod`) can point at `file:line:col`.
//! Nothing here knows defaults: the embedded `assets/sluice.toml` is parsed into these same structs and
//! merged under the user's file.

use serde::Deserialize;
use toml::Spanned;

pub(crate) type V<T> = Option<Spanned<T>>;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Raw {
    pub server: Option<Server>,
    pub listener: Option<ListenerSection>,
    pub tls: Option<Tls>,
    pub relay: Option<Relay>,
    pub dns: Option<Dns>,
    pub inspection: Option<Inspection>,
    pub decomposition: Option<Decomposition>,
    pub pdf: Option<Pdf>,
    pub store: Option<Store>,
    pub quarantine: Option<Quarantine>,
    pub incidents: Option<Incidents>,
    pub approval: Option<Approval>,
    pub events: Option<Events>,
    pub policy: Option<Vec<Spanned<Policy>>>,
    pub notifications: Option<Notifications>,
    pub admin: Option<Admin>,
    pub queue: Option<Queue>,
    pub siem: Option<Vec<Spanned<Siem>>>,
    pub siem_defaults: Option<SiemDefaults>,
    pub monitor: Option<Monitor>,
    pub reports: Option<Reports>,
    pub gateway: Option<Gateway>,
    pub route: Option<Vec<Spanned<Route>>>,
    pub disclaimer: Option<Vec<Spanned<Disclaimer>>>,
    pub disclaimer_defaults: Option<DisclaimerDefaults>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Gateway {
    pub smart_host: V<String>,
    pub relay_clients: V<Vec<Spanned<String>>>,
    // The SMTP-time checks (`config::gate`).
    pub blocked_address_chars: V<String>,
    pub max_connection_rate: V<u64>,
    pub max_message_rate: V<u64>,
    pub rate_window: V<String>,
    pub callout_ttl: V<String>,
    pub callout_negative_ttl: V<String>,
    pub callout_timeout: V<String>,
    pub callout_cache: V<u64>,
    pub callout_sender: V<String>,
    pub inline_verdict: V<String>,
    pub late_block: V<String>,
    pub inspect_retry: V<String>,
    pub inspect_attempts: V<u64>,
    // Delivery by route (issue 14, track D).
    pub tls: V<String>,
    pub trust_anchors: V<Vec<Spanned<String>>>,
    pub destination_concurrency: V<u64>,
    pub source_address: V<String>,
    pub mx_port: V<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Route {
    pub domain: V<String>,
    pub destination: V<String>,
    // Delivery by route (issue 14, track D).
    pub tls: V<String>,
    pub trust_anchors: V<Vec<Spanned<String>>>,
    pub concurrency: V<u64>,
    pub source_address: V<String>,
    // Recipient verification (`config::gate`).
    pub verify: V<String>,
    pub recipients: V<Vec<Spanned<String>>>,
    pub recipients_file: V<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Server {
    pub hostname: V<String>,
    pub data_dir: V<String>,
    pub trial_mode: V<bool>,
    pub threads: V<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Listener {
    pub name: V<String>,
    pub mode: V<String>,
    pub address: V<String>,
    pub allowed_clients: V<Vec<Spanned<String>>>,
    pub max_sessions: V<u64>,
    pub max_sessions_per_client: V<u64>,
    pub max_bytes_in_flight: V<u64>,
    pub spool_threshold: V<u64>,
    pub max_message_size: V<u64>,
    pub max_recipients: V<u64>,
    pub max_line_length: V<u64>,
    pub max_data_line_length: V<u64>,
    pub max_errors: V<u64>,
    pub max_junk_commands: V<u64>,
    pub extensions: V<Vec<Spanned<String>>>,
    pub bare_line_endings: V<String>,
    pub command_timeout: V<String>,
    pub data_timeout: V<String>,
    pub data_min_rate: V<u64>,
    pub shutdown_grace: V<String>,
    pub cert_file: V<String>,
    pub key_file: V<String>,
    pub starttls: V<String>,
}

/// `listener` as written: one `[listener]` table, or `[[listener]]` tables (each with its place).
/// Read through the document's own deserializer (not `untagged`), so that an unknown key or a
/// wrong type inside either form is still reported at its `file:line:col`.
#[derive(Debug, Clone)]
pub(crate) enum ListenerSection {
    One(Box<Listener>),
    Many(Vec<Spanned<Listener>>),
}

impl<'de> Deserialize<'de> for ListenerSection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = ListenerSection;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a [listener] table or [[listener]] tables")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                Listener::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|l| ListenerSection::One(Box::new(l)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Self::Value, A::Error> {
                Vec::<Spanned<Listener>>::deserialize(serde::de::value::SeqAccessDeserializer::new(
                    seq,
                ))
                .map(ListenerSection::Many)
            }
        }
        d.deserialize_any(Visit)
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tls {
    pub cert_file: V<String>,
    pub key_file: V<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Relay {
    pub mode: V<String>,
    pub port: V<u64>,
    pub hosts: V<Vec<Spanned<String>>>,
    pub mx_domains: V<Vec<Spanned<String>>>,
    pub helo_name: V<String>,
    pub source_address: V<String>,
    pub connect_timeout: V<String>,
    pub command_timeout: V<String>,
    pub data_timeout: V<String>,
    pub starttls: V<String>,
    pub tls_failure: V<String>,
    pub trust_anchors: V<Vec<Spanned<String>>>,
    pub max_received_headers: V<u64>,
    pub dead_host_retry: V<String>,
    pub pass_header: Option<PassHeader>,
    pub data_ahead: V<String>,
    pub max_reply_line: V<u64>,
    pub max_reply_lines: V<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PassHeader {
    pub enabled: V<bool>,
    pub name: V<String>,
    pub value: V<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Dns {
    pub servers: V<Vec<Spanned<String>>>,
    pub resolv_conf: V<String>,
    pub timeout: V<String>,
    pub attempts: V<u64>,
    pub cache_entries: V<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Inspection {
    pub on_failure: V<String>,
    pub time_budget: V<String>,
    pub failure_header: V<String>,
    pub tag_violations: V<bool>,
    pub max_scan_bytes: V<u64>,
    pub internal_domains: V<Vec<Spanned<String>>>,
    pub threads: V<u64>,
    pub builtin_policies: V<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decomposition {
    pub max_depth: V<u64>,
    pub max_entries_per_container: V<u64>,
    pub max_entries_total: V<u64>,
    pub max_extracted_bytes: V<u64>,
    pub max_ratio: V<u64>,
    pub ratio_floor: V<u64>,
    pub max_parts: V<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pdf {
    pub memory: V<u64>,
    pub cpu_time: V<String>,
    pub timeout: V<String>,
    pub max_output: V<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Store {
    pub max_size: V<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Quarantine {
    pub retention: V<String>,
    pub max_bytes: V<u64>,
    pub max_messages: V<u64>,
    pub purge_interval: V<String>,
    pub purge_batch: V<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Incidents {
    pub reconcile_window: V<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Events {
    pub max_events: V<u64>,
    pub max_bytes: V<u64>,
    pub max_age: V<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Approval {
    pub expiry: V<String>,
    pub sweep_interval: V<String>,
    pub managers_file: V<String>,
    pub preview: V<bool>,
    pub preview_bytes: V<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Policy {
    pub id: V<u64>,
    pub name: V<String>,
    pub enabled: V<bool>,
    pub mode: V<String>,
    pub severity: V<String>,
    /// How the rules combine: "any" (default) or "all".
    #[serde(rename = "match")]
    pub join: V<String>,
    pub rule: V<Vec<Spanned<Rule>>>,
    pub exception: V<Vec<Spanned<Rule>>>,
    // The first issue's shorthand: one implicit rule.
    pub keywords: V<Vec<Spanned<String>>>,
    pub regexes: V<Vec<Spanned<String>>>,
    pub senders: V<Vec<Spanned<String>>>,
    pub recipients: V<Vec<Spanned<String>>>,
    pub action: V<String>,
    pub reply: V<String>,
    pub redirect_to: V<String>,
    pub approvers: V<Vec<Spanned<String>>>,
    pub notify: V<Vec<Spanned<String>>>,
    pub subject: Option<Spanned<Subject>>,
    pub headers: V<Vec<Spanned<String>>>,
    pub strip_attachments: V<String>,
    pub replace_attachments: V<String>,
    pub disclaimer: V<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rule {
    pub name: V<String>,
    /// How the conditions combine: "all" (default), "any" or "none".
    #[serde(rename = "match")]
    pub join: V<String>,
    pub conditions: V<Vec<Spanned<Condition>>>,
}

/// A size: a number of bytes or a string such as "10MB".
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Size {
    Bytes(u64),
    Text(String),
}

/// One condition: exactly one kind key, plus the modifiers that kind takes.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Condition {
    pub identifier: V<String>,
    pub breadth: V<String>,
    pub confidence: V<String>,
    pub dictionary: V<String>,
    pub keywords: V<Vec<Spanned<String>>>,
    pub regex: V<String>,
    pub pattern: V<String>,
    pub near: V<Vec<Spanned<String>>>,
    pub words: V<u64>,
    pub edm: V<String>,
    pub columns: V<u64>,
    pub min: V<u64>,
    #[serde(rename = "in")]
    pub scope: V<Vec<Spanned<String>>>,
    pub file_type: V<Vec<Spanned<String>>>,
    pub file_extension: V<Vec<Spanned<String>>>,
    pub file_name: V<Vec<Spanned<String>>>,
    pub file_size_over: V<Size>,
    pub encrypted: V<bool>,
    pub size_over: V<Size>,
    pub sender: V<Vec<Spanned<String>>>,
    pub recipient: V<Vec<Spanned<String>>>,
    pub sender_domain: V<Vec<Spanned<String>>>,
    pub recipient_domain: V<Vec<Spanned<String>>>,
    pub direction: V<String>,
    pub header: V<String>,
    pub matches: V<String>,
    pub subject: V<Vec<Spanned<String>>>,
    pub limit_exceeded: V<bool>,
    pub uninspectable: V<Uninspectable>,
    pub all: V<Vec<Spanned<Condition>>>,
    pub any: V<Vec<Spanned<Condition>>>,
    pub none: V<Vec<Spanned<Condition>>>,
}

/// `uninspectable = true` (any reason) or a list of reasons, each with its place.
#[derive(Debug, Clone)]
pub(crate) enum Uninspectable {
    Any(bool),
    Reasons(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for Uninspectable {
    // By hand rather than `untagged`, which would buffer the list and lose the reasons' spans.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Uninspectable;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true or a list of reasons")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Uninspectable, E> {
                Ok(Uninspectable::Any(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Uninspectable, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    out.push(item);
                }
                Ok(Uninspectable::Reasons(out))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Subject {
    pub mode: V<String>,
    pub text: V<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Notifications {
    pub from: V<String>,
    pub admin: V<Vec<Spanned<String>>>,
    pub sender_notices: V<bool>,
    pub attach_original: V<String>,
    pub templates: Option<NoticeTemplates>,
}

/// `[notifications.templates.<kind>]`: one optional table per notice kind.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoticeTemplates {
    pub sender_violation: Option<NoticeTemplate>,
    pub admin_violation: Option<NoticeTemplate>,
    pub recipient_violation: Option<NoticeTemplate>,
    pub approval_request: Option<NoticeTemplate>,
    pub approved: Option<NoticeTemplate>,
    pub rejected: Option<NoticeTemplate>,
    pub expired: Option<NoticeTemplate>,
    pub released: Option<NoticeTemplate>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoticeTemplate {
    pub subject: V<String>,
    pub text: V<String>,
    pub html: V<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Admin {
    pub enabled: V<bool>,
    pub address: V<String>,
    pub public_url: V<String>,
    pub max_connections: V<u64>,
    pub max_connections_per_client: V<u64>,
    pub header_timeout: V<String>,
    pub request_timeout: V<String>,
    pub max_body: V<u64>,
    pub metrics_allow: V<Vec<Spanned<String>>>,
    pub metrics_token: V<String>,
    pub config_history: V<u64>,
    pub allowed_clients: V<Vec<Spanned<String>>>,
    pub max_upload: V<u64>,
    pub session_idle: V<String>,
    pub session_max: V<String>,
    pub session_limit: V<u64>,
    pub logon_max_failures: V<u64>,
    pub logon_lockout: V<String>,
    pub audit_max_age: V<String>,
    pub preview_bytes: V<u64>,
    pub max_bulk: V<u64>,
}

/// `[queue]`: the durable delivery queue's retry schedule and worker.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Queue {
    pub retry: V<Vec<Spanned<String>>>,
    pub give_up: V<String>,
    pub delay_notice: V<String>,
    pub lease: V<String>,
    pub concurrency: V<u64>,
    pub bounce_sender_notices: V<bool>,
}

/// `[[siem]]`: one SIEM destination (see `config::siem`); keys left out come from `[siem_defaults]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Siem {
    pub name: V<String>,
    pub format: V<String>,
    pub transport: V<String>,
    pub address: V<String>,
    pub ca_file: V<String>,
    pub server_name: V<String>,
    pub client_cert: V<String>,
    pub client_key: V<String>,
    pub min_severity: V<u64>,
    pub categories: V<Vec<Spanned<String>>>,
    pub subject: V<String>,
    pub leef_version: V<String>,
    pub facility: V<Facility>,
    pub udp_max: V<u64>,
    pub start: V<String>,
    pub backoff_min: V<String>,
    pub backoff_max: V<String>,
    pub timeout: V<String>,
    pub batch: V<u64>,
    pub poll_interval: V<String>,
    pub down_after: V<String>,
}

/// `[siem_defaults]`: what every `[[siem]]` destination takes unless it sets its own.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SiemDefaults {
    pub local_socket: V<String>,
    pub min_severity: V<u64>,
    pub categories: V<Vec<Spanned<String>>>,
    pub subject: V<String>,
    pub leef_version: V<String>,
    pub facility: V<Facility>,
    pub udp_max: V<u64>,
    pub start: V<String>,
    pub backoff_min: V<String>,
    pub backoff_max: V<String>,
    pub timeout: V<String>,
    pub batch: V<u64>,
    pub poll_interval: V<String>,
    pub down_after: V<String>,
}

/// A syslog facility: a number (16) or a name (`local0`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Facility {
    Number(u64),
    Name(String),
}

/// `[monitor]`: the periodic checks (`crate::monitor`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Monitor {
    pub interval: V<String>,
    pub probe_next_hop: V<bool>,
    pub certificate_warning: V<String>,
    pub queue_max_messages: V<u64>,
    pub queue_max_age: V<String>,
    pub disk_min_free_percent: V<u64>,
    pub store_max_used_percent: V<u64>,
    pub alert_repeat: V<String>,
    pub certificate_repeat: V<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Reports {
    pub keep_days: V<u64>,
    pub top: V<u64>,
    pub detail_max_rows: V<u64>,
    pub check_interval: V<String>,
    pub at: V<String>,
    pub schedule: Option<Vec<Spanned<ReportSchedule>>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportSchedule {
    pub name: V<String>,
    pub report: V<String>,
    pub every: V<String>,
    pub to: V<Vec<Spanned<String>>>,
    pub at: V<String>,
    pub types: V<Vec<Spanned<String>>>,
    pub text: V<String>,
    pub bom: V<bool>,
}

/// `[[disclaimer]]`: a disclaimer and the mail it is added to (`config::disclaimers`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Disclaimer {
    pub name: V<String>,
    pub direction: V<Vec<Spanned<String>>>,
    pub sender_domains: V<Vec<Spanned<String>>>,
    pub text: V<String>,
    pub html: V<String>,
    pub skip_dkim_signed: V<bool>,
}

/// `[disclaimer_defaults]`: what a `[[disclaimer]]` leaves out, and the length limits.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DisclaimerDefaults {
    pub direction: V<Vec<Spanned<String>>>,
    pub skip_dkim_signed: V<bool>,
    pub max_text: V<u64>,
    pub max_html: V<u64>,
}
