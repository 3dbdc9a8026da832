//! The detection library a configuration needs: the embedded definitions and the EDM indexes its
//! policies name, read from `<data_dir>/edm/`. Shell (reads the index files); `serve`,
//! `check-config`, `sluice scan` and the service's rescan all build it here.

use std::sync::Arc;

use crate::config::Config;
use crate::detect::{Detector, Library};

/// The detector definitions (embedded) and the EDM indexes the policies name, read from
/// `<data_dir>/edm/`. A missing or corrupt index is an error naming it: a policy is never
/// half-applied.
pub fn load(config: &Config) -> anyhow::Result<Library> {
    let mut library = Library::embedded().map_err(|e| anyhow::anyhow!(e))?;
    for (_, d) in config.policies.registry().iter() {
        if let Detector::Edm { index, .. } = d
            && !library.edm.contains_key(index)
        {
            let path = crate::detect::edm::file::index_path(&config.server.data_dir, index);
            let loaded = crate::detect::edm::file::read(&path).map_err(|e| {
                anyhow::anyhow!(
                    "EDM index {index:?}: {e}; create it with `sluice edm import --name {index} FILE.csv`"
                )
            })?;
            library.edm.insert(index.clone(), Arc::new(loaded));
        }
    }
    Ok(library)
}
