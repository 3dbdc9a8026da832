//! The queue switches (`store::switches`) for the CLI and later the admin UI and API: read both,
//! and turn one on or off with its audit entry (`queue.pause`, `queue.resume`, `queue.reject`,
//! `queue.accept`; event `admin.change`) in the same write.

use super::{Caller, Result, Service};
use crate::store::audit;
use crate::store::switches::{self, Switch, Switches};

impl Service {
    /// Both switches as stored.
    pub fn switches(&self) -> Result<Switches> {
        Ok(self.store.read(switches::read)?)
    }

    /// Turns `switch` on or off, audited as `caller`'s; says whether that changed it (the entry is
    /// written either way: the operator asked).
    pub fn set_switch(&self, switch: Switch, on: bool, caller: &Caller) -> Result<bool> {
        let action = match (switch, on) {
            (Switch::Paused, true) => "queue.pause",
            (Switch::Paused, false) => "queue.resume",
            (Switch::Rejecting, true) => "queue.reject",
            (Switch::Rejecting, false) => "queue.accept",
        };
        let mut entry = caller.entry(self.now(), action, switch.name());
        entry.after = Some(if on { "on" } else { "off" }.into());
        Ok(self.store.write_blocking(move |txn| {
            let changed = switches::set(txn, switch, on)?;
            audit::append(txn, &entry)?;
            Ok(changed)
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_is_set_and_audited_in_one_write() {
        let store = crate::store::Store::memory().unwrap();
        let config = std::sync::Arc::new(crate::config::Config::embedded().unwrap());
        let s = Service::new(store, config, crate::clock::Clock::system());
        let c = Caller::cli("ops");
        assert!(s.set_switch(Switch::Rejecting, true, &c).unwrap());
        assert!(!s.set_switch(Switch::Rejecting, true, &c).unwrap());
        assert!(s.switches().unwrap().rejecting);
        assert!(s.set_switch(Switch::Rejecting, false, &c).unwrap());
        assert_eq!(s.switches().unwrap(), Switches::default());
        let page = s
            .audit_page(&crate::store::audit::Filter::default(), None, 10)
            .unwrap();
        let actions: Vec<&str> = page.0.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["queue.accept", "queue.reject", "queue.reject"]);
    }
}
