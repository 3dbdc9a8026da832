//! The exposition text: names, types, labels, counters and histograms as Prometheus reads them.

use std::time::Duration;

use super::*;

/// The value of the sample line that starts with `series` (name and labels, as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn counts_messages_by_outcome_and_direction_with_histograms() {
    let m = Metrics::new();
    m.message("relayed", "outbound", 2000, Duration::from_millis(3));
    m.message("relayed", "outbound", 500, Duration::from_millis(20));
    m.message("blocked", "inbound", 70_000, Duration::from_secs(2));
    let t = m.render(&Snapshot::default());
    assert!(t.contains("# TYPE sluice_messages_total counter\n"), "{t}");
    assert_eq!(
        sample(
            &t,
            "sluice_messages_total{outcome=\"relayed\",direction=\"outbound\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &t,
            "sluice_messages_total{outcome=\"blocked\",direction=\"inbound\"}"
        ),
        Some(1.0)
    );
    assert!(t.contains("# TYPE sluice_message_size_bytes histogram\n"));
    assert_eq!(
        sample(&t, "sluice_message_size_bytes_bucket{le=\"1024\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&t, "sluice_message_size_bytes_bucket{le=\"4096\"}"),
        Some(2.0)
    );
    assert_eq!(
        sample(&t, "sluice_message_size_bytes_bucket{le=\"+Inf\"}"),
        Some(3.0)
    );
    assert_eq!(sample(&t, "sluice_message_size_bytes_count"), Some(3.0));
    assert_eq!(sample(&t, "sluice_message_size_bytes_sum"), Some(72_500.0));
    assert_eq!(
        sample(
            &t,
            "sluice_inspection_duration_seconds_bucket{le=\"0.005\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&t, "sluice_inspection_duration_seconds_bucket{le=\"2.5\"}"),
        Some(3.0)
    );
    assert_eq!(
        sample(&t, "sluice_inspection_duration_seconds_count"),
        Some(3.0)
    );
}

#[test]
fn counts_policies_connections_tls_and_siem_per_label() {
    let m = Metrics::new();
    m.policy_hit("100");
    m.policy_hit("100");
    m.policy_hit("160");
    m.smtp_connection(false);
    m.smtp_connection(false);
    m.smtp_connection(true);
    m.tls_session("smtp_in");
    m.siem_sent("splunk", 3, 900);
    m.siem_sent("splunk", 1, 100);
    m.siem_error("qradar");
    let t = m.render(&Snapshot::default());
    assert_eq!(
        sample(&t, "sluice_policy_hits_total{policy=\"100\"}"),
        Some(2.0)
    );
    assert_eq!(
        sample(&t, "sluice_policy_hits_total{policy=\"160\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&t, "sluice_smtp_connections_total{result=\"accepted\"}"),
        Some(2.0)
    );
    assert_eq!(
        sample(&t, "sluice_smtp_connections_total{result=\"refused\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&t, "sluice_tls_sessions_total{side=\"smtp_in\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&t, "sluice_siem_events_sent_total{destination=\"splunk\"}"),
        Some(4.0)
    );
    assert_eq!(
        sample(&t, "sluice_siem_bytes_sent_total{destination=\"splunk\"}"),
        Some(1000.0)
    );
    assert_eq!(
        sample(&t, "sluice_siem_errors_total{destination=\"qradar\"}"),
        Some(1.0)
    );
}

#[test]
fn scrape_time_values_come_from_the_snapshot_and_follow_it() {
    let m = Metrics::new();
    m.definitions_loaded(1_000);
    let mut snap = Snapshot {
        now: 1_600,
        ready: true,
        queues: vec![
            Queue {
                stage: "deferred",
                messages: 4,
                bytes: 900,
                oldest_age: 120,
            },
            Queue {
                stage: "hold",
                messages: 1,
                bytes: 50,
                oldest_age: 30,
            },
        ],
        held_messages: 2,
        held_bytes: 5000,
        store_used: 65536,
        store_max: 1 << 30,
        disk_free: 10,
        disk_size: 100,
        outbox_lag: vec![("a".into(), 7), ("b".into(), 0)],
        events_dropped: 5,
        hops: vec![Hop {
            address: "127.0.0.1:25".into(),
            up: true,
            probed_at: 1_590,
        }],
        certificates: vec![("tls".into(), 2_000_000_000)],
        ..Snapshot::default()
    };
    let t = m.render(&snap);
    for (series, value) in [
        ("sluice_ready", 1.0),
        ("sluice_queue_messages{stage=\"deferred\"}", 4.0),
        ("sluice_queue_bytes{stage=\"deferred\"}", 900.0),
        ("sluice_queue_oldest_age_seconds{stage=\"deferred\"}", 120.0),
        ("sluice_queue_messages{stage=\"hold\"}", 1.0),
        ("sluice_queue_oldest_age_seconds{stage=\"hold\"}", 30.0),
        ("sluice_held_messages", 2.0),
        ("sluice_held_bytes", 5000.0),
        ("sluice_store_used_bytes", 65536.0),
        ("sluice_store_max_bytes", 1_073_741_824.0),
        ("sluice_data_dir_free_bytes", 10.0),
        ("sluice_outbox_lag_events{destination=\"a\"}", 7.0),
        ("sluice_outbox_lag_events{destination=\"b\"}", 0.0),
        ("sluice_siem_events_dropped_total", 5.0),
        ("sluice_next_hop_up{address=\"127.0.0.1:25\"}", 1.0),
        (
            "sluice_next_hop_last_probe_timestamp_seconds{address=\"127.0.0.1:25\"}",
            1590.0,
        ),
        ("sluice_definitions_loaded_timestamp_seconds", 1000.0),
        ("sluice_definitions_age_seconds", 600.0),
        (
            "sluice_certificate_expiry_timestamp_seconds{certificate=\"tls\"}",
            2e9,
        ),
    ] {
        assert_eq!(sample(&t, series), Some(value), "{series} in\n{t}");
    }
    assert!(t.contains("# TYPE sluice_siem_events_dropped_total counter\n"));
    assert!(t.contains("# TYPE sluice_queue_messages gauge\n"));
    // A destination removed and a hop gone are gone from the text; the counter never goes back.
    snap.outbox_lag = vec![("a".into(), 1)];
    snap.hops.clear();
    snap.events_dropped = 3;
    let t = m.render(&snap);
    assert_eq!(
        sample(&t, "sluice_outbox_lag_events{destination=\"b\"}"),
        None
    );
    assert!(!t.contains("sluice_next_hop_up{"), "{t}");
    assert_eq!(sample(&t, "sluice_siem_events_dropped_total"), Some(5.0));
}

#[test]
fn every_metric_has_help_and_type_and_the_build_info() {
    let snap = Snapshot {
        queues: vec![Queue {
            stage: "hold",
            ..Queue::default()
        }],
        ..Snapshot::default()
    };
    let t = Metrics::new().render(&snap);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        sample(&t, &format!("sluice_build_info{{version=\"{version}\"}}")),
        Some(1.0)
    );
    let mut families = 0;
    for line in t.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            families += 1;
            let name = rest.split(' ').next().unwrap_or_default();
            assert!(name.starts_with("sluice_"), "{name}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert!(t.contains(&format!("# HELP {name} ")), "{name} has no HELP");
            if rest.ends_with(" counter") {
                assert!(name.ends_with("_total"), "{name}");
            }
        }
    }
    // Families with labels appear once they have a series.
    assert!(families >= 20, "{families} families:\n{t}");
}

#[test]
fn time_to_delivery_is_a_histogram_of_seconds() {
    let m = Metrics::new();
    m.delivered_after(3);
    m.delivered_after(7200);
    let t = m.render(&Snapshot::default());
    assert!(t.contains("# TYPE sluice_time_to_delivery_seconds histogram\n"));
    assert_eq!(
        sample(&t, "sluice_time_to_delivery_seconds_count"),
        Some(2.0)
    );
    assert_eq!(
        sample(&t, "sluice_time_to_delivery_seconds_sum"),
        Some(7203.0)
    );
    assert_eq!(
        sample(&t, "sluice_time_to_delivery_seconds_bucket{le=\"5\"}"),
        Some(1.0)
    );
}

#[test]
fn label_values_are_escaped() {
    let m = Metrics::new();
    m.siem_error("a\"b\\c\nd");
    let t = m.render(&Snapshot::default());
    assert!(
        t.contains("sluice_siem_errors_total{destination=\"a\\\"b\\\\c\\nd\"} 1"),
        "{t}"
    );
}

#[test]
fn counts_gateway_refusals_and_callouts() {
    let m = Metrics::new();
    m.gateway_rejected("inbound", "relay_denied");
    m.gateway_rejected("inbound", "relay_denied");
    m.callout("cached");
    let t = m.render(&Snapshot::default());
    assert_eq!(
        sample(
            &t,
            "sluice_gateway_rejected_total{listener=\"inbound\",reason=\"relay_denied\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(&t, "sluice_callouts_total{result=\"cached\"}"),
        Some(1.0)
    );
}
