//! The events billgraph tells outside systems about: their names, and the
//! kind of object each one carries.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::domain::invoice::PaymentStatus;

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

impl FromStr for ObjectType {
    type Err = UnknownObjectType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .map(EventType::object_type)
            .find(|o| o.as_str() == s)
            .ok_or_else(|| UnknownObjectType(s.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown object type {0:?}")]
pub struct UnknownObjectType(pub String);

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

/// Whether a change settled an invoice: invoice.paid is emitted once, when
/// its payment status becomes PAID (by a payment, a credit note, or at
/// finalization when credits cover it or its total is zero).
pub fn newly_paid(before: PaymentStatus, after: PaymentStatus) -> bool {
    before != PaymentStatus::Paid && after == PaymentStatus::Paid
}

/// Whether a wallet change takes the balance below its low-balance
/// threshold: from at or above it to below it. A wallet already below
/// stays quiet until a top-up takes it back up.
pub fn crossed_below(threshold: Option<Decimal>, before: Decimal, after: Decimal) -> bool {
    threshold.is_some_and(|t| before >= t && after < t)
}

/// The event types a `webhookEvents` filter asks for: those named in
/// `types` (every type when None) that carry `object` (any when None).
/// None when neither narrows the list.
pub fn matching_types(types: Option<&[EventType]>, object: Option<ObjectType>) -> Option<Vec<EventType>> {
    if types.is_none() && object.is_none() {
        return None;
    }
    let named = types.map_or(EventType::ALL.to_vec(), <[EventType]>::to_vec);
    let mut matching: Vec<EventType> = named
        .into_iter()
        .filter(|t| object.is_none_or(|o| t.object_type() == o))
        .collect();
    matching.sort();
    matching.dedup();
    Some(matching)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn paid_once_when_the_status_becomes_paid() {
        use PaymentStatus::*;
        assert!(newly_paid(Pending, Paid));
        assert!(newly_paid(PartiallyPaid, Paid));
        assert!(!newly_paid(Paid, Paid));
        assert!(!newly_paid(Pending, PartiallyPaid));
        assert!(!newly_paid(Pending, Void));
    }

    #[test]
    fn low_balance_fires_on_the_crossing_only() {
        let t = Some(dec("10"));
        assert!(crossed_below(t, dec("15"), dec("9.5")));
        assert!(crossed_below(t, dec("10"), dec("0")));
        assert!(
            !crossed_below(t, dec("15"), dec("10")),
            "at the threshold is not below it"
        );
        assert!(!crossed_below(t, dec("9"), dec("5")), "already below");
        assert!(!crossed_below(t, dec("5"), dec("20")), "a top-up");
        assert!(!crossed_below(None, dec("15"), dec("0")), "no threshold");
    }

    #[test]
    fn filters_narrow_to_types_of_the_object() {
        assert_eq!(matching_types(None, None), None);
        let wallet = matching_types(None, Some(ObjectType::Wallet)).unwrap();
        assert_eq!(
            wallet,
            vec![
                EventType::WalletToppedUp,
                EventType::WalletDebited,
                EventType::WalletLowBalance
            ]
        );
        let named = [
            EventType::InvoicePaid,
            EventType::CustomerCreated,
            EventType::InvoicePaid,
        ];
        assert_eq!(
            matching_types(Some(&named), None).unwrap(),
            vec![EventType::CustomerCreated, EventType::InvoicePaid]
        );
        assert_eq!(
            matching_types(Some(&named), Some(ObjectType::Invoice)).unwrap(),
            vec![EventType::InvoicePaid]
        );
        assert!(
            matching_types(Some(&named), Some(ObjectType::Wallet))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn object_types_parse_from_their_wire_names() {
        for t in EventType::ALL {
            let o = t.object_type();
            assert_eq!(o.as_str().parse::<ObjectType>(), Ok(o));
        }
        assert!("plan".parse::<ObjectType>().is_err());
    }

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
