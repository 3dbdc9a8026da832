//! The approval managers file (`approval.managers_file`): which manager approves for which sender.

use std::collections::HashMap;

/// Reads `sender,manager` lines (a header line naming the columns is skipped), at most
/// [`crate::file::MAX_MANAGERS`] bytes.
pub fn load_managers(path: &std::path::Path) -> Result<HashMap<String, String>, String> {
    let bytes = crate::file::read(path, crate::file::MAX_MANAGERS)
        .map_err(|e| format!("approval.managers_file {}: {e}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(bytes.as_slice());
    let mut map = HashMap::new();
    for (n, row) in reader.records().enumerate() {
        let row = row.map_err(|e| format!("approval.managers_file {}: {e}", path.display()))?;
        let (Some(sender), Some(manager)) = (row.get(0), row.get(1)) else {
            return Err(format!(
                "approval.managers_file {} line {}: expected \"sender,manager\"",
                path.display(),
                n + 1
            ));
        };
        let (sender, manager) = (sender.trim(), manager.trim());
        if n == 0 && !sender.contains('@') {
            continue;
        }
        if crate::policy::check_address(sender).is_err()
            || crate::policy::check_address(manager).is_err()
        {
            return Err(format!(
                "approval.managers_file {} line {}: {sender:?} or {manager:?} is not an address",
                path.display(),
                n + 1
            ));
        }
        map.insert(sender.to_ascii_lowercase(), manager.to_string());
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_load_from_csv_with_or_without_a_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("managers.csv");
        std::fs::write(
            &path,
            "sender,manager\n# comment\nAlice@Corp.example, boss@corp.example\nbob@corp.example,lead@corp.example\n",
        )
        .unwrap();
        let m = load_managers(&path).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m["alice@corp.example"], "boss@corp.example");
        std::fs::write(&path, "alice@corp.example,not an address\n").unwrap();
        let e = load_managers(&path).unwrap_err();
        assert!(e.contains("line 1") && e.contains("not an address"), "{e}");
        std::fs::write(&path, "alice@corp.example\n").unwrap();
        assert!(
            load_managers(&path)
                .unwrap_err()
                .contains("expected \"sender,manager\"")
        );
    }
}
