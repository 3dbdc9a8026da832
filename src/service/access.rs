//! Roles and what they may do (pure): the four roles of the admin UI and API and the one table of
//! their permissions, which the UI's router, the API and the CLI consult.

use serde::{Deserialize, Serialize};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything.
    Administrator,
    /// Policies (view, edit, test), and read access to status, tracking, incidents and reports.
    PolicyAuthor,
    /// Incidents and quarantine: view and remediate; status, tracking and reports.
    Remediator,
    /// Read-only everything, the audit log and reports; changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Administrator,
        Role::PolicyAuthor,
        Role::Remediator,
        Role::Auditor,
    ];

    /// The name used in the CLI, the API and the store.
    pub fn name(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::PolicyAuthor => "policy-author",
            Role::Remediator => "remediator",
            Role::Auditor => "auditor",
        }
    }

    /// The role called `name`.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name.trim())
    }

    /// Whether this role has `p`.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Administrator => true,
            Role::PolicyAuthor => matches!(
                p,
                ViewStatus
                    | ViewTracking
                    | ViewIncidents
                    | ViewPolicies
                    | EditPolicies
                    | ViewReports
                    | ManageOwnTokens
                    | ViewQueue
            ),
            Role::Remediator => matches!(
                p,
                ViewStatus
                    | ViewTracking
                    | ViewIncidents
                    | Remediate
                    | ViewQuarantine
                    | ReleaseQuarantine
                    | ViewReports
                    | ManageOwnTokens
                    | ViewQueue
                    | ManageQueue
            ),
            Role::Auditor => matches!(
                p,
                ViewStatus
                    | ViewTracking
                    | ViewIncidents
                    | ViewQuarantine
                    | ViewPolicies
                    | ViewSettings
                    | ViewAudit
                    | ViewReports
                    | ManageOwnTokens
                    | ViewQueue
            ),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Something a route or a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// The dashboard and health.
    ViewStatus,
    /// Message tracking.
    ViewTracking,
    ViewIncidents,
    /// Incident status changes, notes and remediation.
    Remediate,
    ViewQuarantine,
    /// Release, delete and forward held messages.
    ReleaseQuarantine,
    /// Download a held message's raw bytes (administrators only; audited).
    DownloadRaw,
    ViewPolicies,
    /// Create, edit, test, reorder, enable, disable, delete and roll back policies.
    EditPolicies,
    ViewSettings,
    EditSettings,
    /// Users, roles and other users' tokens.
    ManageUsers,
    ViewAudit,
    ViewReports,
    /// One's own API tokens.
    ManageOwnTokens,
    /// The gateway's queue: list and show messages in custody and delivery entries.
    ViewQueue,
    /// Hold, release, delete, retry and forward queued messages.
    ManageQueue,
}

impl Permission {
    pub const ALL: [Permission; 17] = [
        Permission::ViewStatus,
        Permission::ViewTracking,
        Permission::ViewIncidents,
        Permission::Remediate,
        Permission::ViewQuarantine,
        Permission::ReleaseQuarantine,
        Permission::DownloadRaw,
        Permission::ViewPolicies,
        Permission::EditPolicies,
        Permission::ViewSettings,
        Permission::EditSettings,
        Permission::ManageUsers,
        Permission::ViewAudit,
        Permission::ViewReports,
        Permission::ManageOwnTokens,
        Permission::ViewQueue,
        Permission::ManageQueue,
    ];
}

#[cfg(test)]
mod tests {
    //! The whole matrix, written out, so a change to a role is a visible change here.
    use super::*;

    #[test]
    fn the_permission_matrix() {
        // Columns in Permission::ALL order: status tracking incidents remediate quarantine
        // release raw policies edit-policies settings edit-settings users audit reports tokens
        // view-queue manage-queue.
        let table: [(Role, [u8; 17]); 4] = [
            (
                Role::Administrator,
                [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            ),
            (
                Role::PolicyAuthor,
                [1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0],
            ),
            (
                Role::Remediator,
                [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1],
            ),
            (
                Role::Auditor,
                [1, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1, 0],
            ),
        ];
        for (role, row) in table {
            for (p, want) in Permission::ALL.into_iter().zip(row) {
                assert_eq!(role.allows(p), want == 1, "{role} {p:?}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.name()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
