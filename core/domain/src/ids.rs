//! Time-ordered identifiers (UUIDv7) for everything created online or offline.
//!
//! Every record has its own id type so that a task id can never be passed where a customer
//! id is expected. Ids are created on the device that creates the record, with no server
//! round trip, and they sort by creation time, which keeps SQLite indexes append-mostly.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id (UUIDv7) made from the system's random source.
            #[must_use]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID.
            #[must_use]
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }

        // Crosses the FFI as its canonical text (`typealias … = String` in Kotlin and Swift).
        #[cfg(feature = "uniffi")]
        uniffi::custom_type!($name, String, {
            lower: |id| id.0.to_string(),
            try_lift: |text| Ok(text.parse::<Uuid>().map(Self)?),
        });
    };
}

id_type!(
    /// An organisation (a tenant of the sync server).
    OrgId
);
id_type!(
    /// A person who logs in: rep, manager or admin.
    UserId
);
id_type!(
    /// A team (sales group) that a manager leads.
    TeamId
);
id_type!(
    /// One installation of the app on one phone; also the automerge actor of that install.
    DeviceId
);
id_type!(
    /// A customer (shop, outlet, account) that reps visit.
    CustomerId
);
id_type!(
    /// A product on the price list.
    ProductId
);
id_type!(
    /// A unit of dispatched work.
    TaskId
);
id_type!(
    /// One visit of a rep to a customer, from check-in to check-out.
    VisitId
);
id_type!(
    /// An immutable fact recorded in the field (check-in, check-out, photo, track, order).
    FactId
);
id_type!(
    /// A form template (all versions share the id).
    FormTemplateId
);
id_type!(
    /// A filled-in form.
    FormResponseId
);
id_type!(
    /// A standard operating procedure template for a kind of visit.
    SopTemplateId
);
id_type!(
    /// A knowledge-base article.
    ArticleId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_later_sort_after_earlier_ones() {
        let ids: Vec<TaskId> = (0..1000).map(|_| TaskId::new()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert_eq!(ids[0].as_uuid().get_version_num(), 7);
    }

    #[test]
    fn an_id_round_trips_through_its_text_form() {
        let id = CustomerId::new();
        let parsed: CustomerId = id.to_string().parse().expect("valid uuid text");
        assert_eq!(id, parsed);
        assert!("not-a-uuid".parse::<CustomerId>().is_err());
    }
}
