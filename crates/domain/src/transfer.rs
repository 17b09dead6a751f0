//! Ownership transfers: an offer of a project to an email address, which the
//! account holding that address accepts or declines.

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferStatus {
    Offered,
    Accepted,
    Declined,
    Withdrawn,
}
