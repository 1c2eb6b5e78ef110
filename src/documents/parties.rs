//! The issuer and recipient of a document, and the snapshot of them an
//! invoice keeps from its finalization (`invoices.issued_by`, `billed_to`),
//! so a later change of name or address never alters an issued document.

use serde::{Deserialize, Serialize};

use crate::db::json_text::JsonText;
use crate::db::parties::CustomerParty;
use crate::db::tenants::TenantSettingsRow;
use crate::documents::model::Party;

/// A party as stored in an invoice's snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartySnapshot {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// In print order.
    #[serde(default)]
    pub address: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// The issuer's invoice footer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
}

impl PartySnapshot {
    pub fn of_tenant(t: &TenantSettingsRow) -> Self {
        PartySnapshot {
            name: t.display_name.clone().unwrap_or_else(|| t.name.clone()),
            email: t.email.clone(),
            address: address_lines(
                &t.address_line1,
                &t.address_line2,
                &t.address_city,
                &t.address_postal_code,
                &t.address_state,
                &t.address_country,
            ),
            tax_id: None,
            logo_url: t.logo_url.clone(),
            footer: t.invoice_footer.clone(),
        }
    }

    pub fn of_customer(c: &CustomerParty) -> Self {
        PartySnapshot {
            name: c.name.clone(),
            email: c.email.clone(),
            address: address_lines(
                &c.address_line1,
                &c.address_line2,
                &c.address_city,
                &c.address_postal_code,
                &c.address_state,
                &c.address_country,
            ),
            tax_id: c.tax_id.clone(),
            logo_url: None,
            footer: None,
        }
    }

    /// The snapshot as an invoice stores it.
    pub fn to_stored(&self) -> JsonText {
        // Strings and lists of strings: writing them as JSON cannot fail.
        JsonText::of(self).expect("a snapshot of strings always serializes")
    }

    /// The snapshot in `stored`, if it is one.
    pub fn from_stored(stored: &JsonText) -> Option<Self> {
        stored.parse()
    }

    pub fn party(&self) -> Party {
        Party {
            name: self.name.clone(),
            email: self.email.clone(),
            address: self.address.clone(),
            tax_id: self.tax_id.clone(),
            logo_url: self.logo_url.clone(),
        }
    }
}

/// Street lines, then "postal code city", then state, then country; empty
/// parts left out.
fn address_lines(
    line1: &Option<String>,
    line2: &Option<String>,
    city: &Option<String>,
    postal_code: &Option<String>,
    state: &Option<String>,
    country: &Option<String>,
) -> Vec<String> {
    let present = |part: &Option<String>| {
        part.as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
    };
    let town = [present(postal_code), present(city)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    [
        present(line1),
        present(line2),
        Some(town).filter(|t| !t.is_empty()),
        present(state),
        present(country),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_lines_skip_empty_parts() {
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            address_lines(&s("1 Main St"), &None, &s("Berlin"), &s("10115"), &None, &s("DE")),
            ["1 Main St", "10115 Berlin", "DE"]
        );
        assert_eq!(
            address_lines(&None, &s(" "), &s("Paris"), &None, &None, &None),
            ["Paris"]
        );
        assert!(address_lines(&None, &None, &None, &None, &None, &None).is_empty());
    }

    #[test]
    fn snapshots_read_back() {
        let snapshot = PartySnapshot {
            name: "Acme".into(),
            email: Some("billing@acme.test".into()),
            address: vec!["1 Main St".into()],
            tax_id: Some("DE123".into()),
            logo_url: None,
            footer: Some("Thanks".into()),
        };
        assert_eq!(PartySnapshot::from_stored(&snapshot.to_stored()), Some(snapshot));
        assert_eq!(PartySnapshot::from_stored(&JsonText::of(&42).unwrap()), None);
    }
}
