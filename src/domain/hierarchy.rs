//! Rules of customer hierarchies. A root customer is at level 1; its
//! children at level 2; the configured limit is the number of levels.

use uuid::Uuid;

use super::ValidationError;

/// Checks that a subtree `subtree_height` levels tall (1 for a leaf) fits
/// under a parent at `parent_level` without exceeding `max_levels`.
pub fn check_depth(
    field: &str,
    parent_level: u32,
    subtree_height: u32,
    max_levels: u32,
) -> Result<(), ValidationError> {
    let deepest = parent_level + subtree_height;
    if deepest > max_levels {
        return Err(ValidationError::new(
            field,
            format!(
                "the hierarchy would be {deepest} levels deep; the limit is {max_levels} levels (BILLGRAPH_MAX_HIERARCHY_DEPTH)"
            ),
        ));
    }
    Ok(())
}

/// Refuses a parent that is the customer itself or one of its descendants.
/// `parent_and_ancestors` is the proposed parent followed by its ancestors.
pub fn check_no_cycle(field: &str, customer: Uuid, parent_and_ancestors: &[Uuid]) -> Result<(), ValidationError> {
    if parent_and_ancestors.contains(&customer) {
        return Err(ValidationError::new(
            field,
            "a customer cannot be placed under itself or one of its descendants",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_limit_table() {
        // (parent level, subtree height, limit, allowed)
        let cases = [
            (1, 1, 5, true),
            (4, 1, 5, true),
            (5, 1, 5, false),
            (3, 2, 5, true),
            (3, 3, 5, false),
            (1, 4, 5, true),
            (1, 5, 5, false),
            (0, 1, 1, true),
            (1, 1, 1, false),
        ];
        for (parent_level, height, limit, allowed) in cases {
            let result = check_depth("parentCustomerId", parent_level, height, limit);
            assert_eq!(result.is_ok(), allowed, "{parent_level} + {height} vs {limit}");
        }
    }

    #[test]
    fn depth_errors_name_the_limit() {
        let err = check_depth("parentCustomerId", 5, 1, 5).unwrap_err();
        assert_eq!(err.field, "parentCustomerId");
        assert!(err.message.contains("limit is 5 levels"), "{}", err.message);
    }

    #[test]
    fn cycles_are_refused() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        assert!(check_no_cycle("p", a, &[a]).is_err(), "own parent");
        assert!(check_no_cycle("p", a, &[c, b, a]).is_err(), "under a descendant");
        assert!(check_no_cycle("p", a, &[b, c]).is_ok());
        assert!(check_no_cycle("p", a, &[]).is_ok());
    }
}
