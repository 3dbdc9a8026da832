//! Unit-test helpers: settings taken from the embedded defaults (`assets/sluice.toml`, the one
//! place defaults live), so tests never repeat a default as a constant.

use crate::config::Config;

fn defaults() -> Config {
    Config::embedded().expect("the embedded defaults parse")
}

/// The store's options (`store.max_size`) as shipped.
pub fn options() -> crate::store::Options {
    defaults().store.store_options()
}

/// The quarantine caps as shipped.
pub fn caps() -> crate::store::held::Caps {
    defaults().store.caps()
}

/// A release without a tag, giving up after the shipped `queue.give_up`.
pub fn release() -> crate::remediate::Release {
    crate::remediate::Release {
        tag: None,
        give_up: defaults().queue.give_up.as_secs(),
    }
}

/// A PEM file holding one self-signed certificate (written once per test process), for keys that
/// name trust anchors (they are read at load).
pub fn anchor_file() -> std::path::PathBuf {
    static FILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sluice-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["ca.corp.example".to_string()]).unwrap();
        let path = dir.join("anchor.pem");
        std::fs::write(&path, params.self_signed(&key).unwrap().pem()).unwrap();
        path
    })
    .clone()
}

/// Instantiates each named domain test (a `fn(Store)`) once per store backend: `lmdb::NAME` on a
/// store file in a temporary directory (the invoking module's `open(dir)`), `memory::NAME` on
/// `Store::memory`. The domain is written once, so both must pass the same assertions.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod lmdb {
            $(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    super::$name(super::open(dir.path()));
                }
            )*
        }
        mod memory {
            $(
                #[test]
                fn $name() {
                    super::$name(crate::store::Store::memory().unwrap());
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;
