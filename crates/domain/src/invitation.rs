//! Sharing a project with an address. The owner's answer must not reveal
//! whether an account uses the address, so sharing is an invitation to the
//! address in every case but two the owner already knows: the address is
//! their own, or it belongs to someone the project is shared with (the
//! sharing page lists them).

/// What sharing with an address does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// The address is the owner's own.
    RefuseOwnAddress,
    /// The address holds a share already: its role and grant change at once.
    ChangeShare,
    /// Anyone else, with or without an account: an invitation they accept.
    Invite,
}

impl Sharing {
    pub fn decide(is_owners_address: bool, holds_a_share: bool) -> Sharing {
        if is_owners_address {
            Sharing::RefuseOwnAddress
        } else if holds_a_share {
            Sharing::ChangeShare
        } else {
            Sharing::Invite
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Sharing::{self, *};

    #[test]
    fn sharing_invites_everyone_the_owner_does_not_already_know() {
        for (own, shared, expected) in [(true, false, RefuseOwnAddress), (false, true, ChangeShare), (false, false, Invite)] {
            assert_eq!(Sharing::decide(own, shared), expected);
        }
    }
}
