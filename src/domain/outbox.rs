//! The events billgraph tells outside systems about: their names, and the
//! kind of object each one carries.

use std::fmt;
use std::str::FromStr;

/// Every event type the outbox writes. The wire name (`customer.created`)
/// is what webhook endpoints subscribe to and what `type` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    CustomerCreated,
    CustomerUpdated,
    CustomerArchived,
    CustomerParentChanged,
    IntegrationMappingUpserted,
    IntegrationMappingDeleted,
    SubscriptionCreated,
    SubscriptionChanged,
    SubscriptionPaused,
    SubscriptionResumed,
    SubscriptionCancelled,
    InvoiceCreated,
    InvoiceFinalized,
    InvoiceVoided,
    InvoicePaid,
    InvoicePaymentFailed,
    InvoiceOverdue,
    PaymentRecorded,
    CreditNoteCreated,
    WalletToppedUp,
    WalletDebited,
    WalletLowBalance,
}

/// The kind of object an event carries in its `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectType {
    Customer,
    IntegrationMapping,
    Subscription,
    Invoice,
    Payment,
    CreditNote,
    Wallet,
}

impl ObjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Customer => "customer",
            ObjectType::IntegrationMapping => "integration_mapping",
            ObjectType::Subscription => "subscription",
            ObjectType::Invoice => "invoice",
            ObjectType::Payment => "payment",
            ObjectType::CreditNote => "credit_note",
            ObjectType::Wallet => "wallet",
        }
    }
}

impl EventType {
    pub const ALL: [EventType; 22] = [
        EventType::CustomerCreated,
        EventType::CustomerUpdated,
        EventType::CustomerArchived,
        EventType::CustomerParentChanged,
        EventType::IntegrationMappingUpserted,
        EventType::IntegrationMappingDeleted,
        EventType::SubscriptionCreated,
        EventType::SubscriptionChanged,
        EventType::SubscriptionPaused,
        EventType::SubscriptionResumed,
        EventType::SubscriptionCancelled,
        EventType::InvoiceCreated,
        EventType::InvoiceFinalized,
        EventType::InvoiceVoided,
        EventType::InvoicePaid,
        EventType::InvoicePaymentFailed,
        EventType::InvoiceOverdue,
        EventType::PaymentRecorded,
        EventType::CreditNoteCreated,
        EventType::WalletToppedUp,
        EventType::WalletDebited,
        EventType::WalletLowBalance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CustomerCreated => "customer.created",
            EventType::CustomerUpdated => "customer.updated",
            EventType::CustomerArchived => "customer.archived",
            EventType::CustomerParentChanged => "customer.parent_changed",
            EventType::IntegrationMappingUpserted => "integration_mapping.upserted",
            EventType::IntegrationMappingDeleted => "integration_mapping.deleted",
            EventType::SubscriptionCreated => "subscription.created",
            EventType::SubscriptionChanged => "subscription.changed",
            EventType::SubscriptionPaused => "subscription.paused",
            EventType::SubscriptionResumed => "subscription.resumed",
            EventType::SubscriptionCancelled => "subscription.cancelled",
            EventType::InvoiceCreated => "invoice.created",
            EventType::InvoiceFinalized => "invoice.finalized",
            EventType::InvoiceVoided => "invoice.voided",
            EventType::InvoicePaid => "invoice.paid",
            EventType::InvoicePaymentFailed => "invoice.payment_failed",
            EventType::InvoiceOverdue => "invoice.overdue",
            EventType::PaymentRecorded => "payment.recorded",
            EventType::CreditNoteCreated => "credit_note.created",
            EventType::WalletToppedUp => "wallet.topped_up",
            EventType::WalletDebited => "wallet.debited",
            EventType::WalletLowBalance => "wallet.low_balance",
        }
    }

    pub fn object_type(self) -> ObjectType {
        use EventType::*;
        match self {
            CustomerCreated | CustomerUpdated | CustomerArchived | CustomerParentChanged => ObjectType::Customer,
            IntegrationMappingUpserted | IntegrationMappingDeleted => ObjectType::IntegrationMapping,
            SubscriptionCreated
            | SubscriptionChanged
            | SubscriptionPaused
            | SubscriptionResumed
            | SubscriptionCancelled => ObjectType::Subscription,
            InvoiceCreated | InvoiceFinalized | InvoiceVoided | InvoicePaid | InvoicePaymentFailed | InvoiceOverdue => {
                ObjectType::Invoice
            }
            PaymentRecorded => ObjectType::Payment,
            CreditNoteCreated => ObjectType::CreditNote,
            WalletToppedUp | WalletDebited | WalletLowBalance => ObjectType::Wallet,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?}")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownEventType(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for t in EventType::ALL {
            assert!(seen.insert(t.as_str()), "{t} twice");
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
            assert!(t.as_str().starts_with(t.object_type().as_str()), "{t}");
        }
        assert!("customer.deleted".parse::<EventType>().is_err());
    }
}
