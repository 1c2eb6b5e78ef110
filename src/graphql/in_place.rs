//! Objects whose fields are resolved in place.
//!
//! async-graphql resolves an object by boxing one future per selected field
//! and driving them through a `FuturesUnordered` of its own: three
//! allocations and a queued task per field, though most fields (a row's
//! columns) are ready on their first poll. A dashboard page resolves
//! thousands of them. [`InPlace`] and [`InPlaceList`] resolve an object's
//! fields through one `join_all` over unboxed futures instead: a field that
//! is ready costs no allocation, and fields that wait (on a DataLoader)
//! still wait side by side, so batching is unchanged. Both are the wrapped
//! type to the schema: every type fact is delegated.
//!
//! The library's path is still taken where its rules matter: a fragment
//! whose type condition is not the object's own type (interfaces, unions)
//! and a field carrying a custom directive. The schema registers no
//! extensions, whose per-field hooks this path would skip (`@skip` and
//! `@include` are applied before execution, so they never reach it).
//! What this path answers is what async-graphql 7.2 answers; the tests in
//! `tests/api/selections.rs` pass on both paths.

use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::{ContainerType, resolve_container};
use async_graphql::{Context, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};
use futures_util::future::join_all;

/// One object resolved in place (`T` is the object or a reference to it).
pub struct InPlace<T>(pub T);

impl<T: ContainerType> OutputType for InPlace<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        resolve_object(ctx, &self.0).await
    }
}

/// A list of objects, each resolved in place.
pub struct InPlaceList<T>(pub Vec<T>);

impl<T: ContainerType> OutputType for InPlaceList<T> {
    fn type_name() -> Cow<'static, str> {
        Vec::<T>::type_name()
    }

    fn qualified_type_name() -> String {
        Vec::<T>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Vec::<T>::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        let items = join_all(self.0.iter().enumerate().map(|(index, item)| async move {
            let ctx = ctx.with_index(index);
            resolve_object(&ctx, item).await.map_err(|err| ctx.set_error_path(err))
        }))
        .await;
        items.into_iter().collect::<ServerResult<Vec<_>>>().map(Value::List)
    }
}

/// `root`'s selection as async-graphql's `resolve_container` answers it: a
/// field's error is reported and the field left out; an object with no
/// field left is null.
async fn resolve_object<T: ContainerType + ?Sized>(ctx: &ContextSelectionSet<'_>, root: &T) -> ServerResult<Value> {
    let mut fields = Vec::new();
    if !plain_fields(ctx, root, &ctx.item.node, &mut fields) {
        return resolve_container(ctx, root).await;
    }
    let outcomes = join_all(fields.iter().map(|field| async move {
        let ctx = ctx.with_field(field);
        resolve_field(&ctx, root).await
    }))
    .await;
    let mut object = IndexMap::with_capacity(fields.len());
    for (field, outcome) in fields.iter().zip(outcomes) {
        match outcome {
            Ok(value) => merge(&mut object, field.node.response_key().node.clone(), value),
            Err(err) => ctx.add_error(err),
        }
    }
    Ok(if object.is_empty() {
        Value::Null
    } else {
        Value::Object(object)
    })
}

async fn resolve_field<T: ContainerType + ?Sized>(ctx: &Context<'_>, root: &T) -> ServerResult<Value> {
    if ctx.item.node.name.node == "__typename" {
        return Ok(Value::String(root.introspection_type_name().into_owned()));
    }
    Ok(root.resolve_field(ctx).await?.unwrap_or_default())
}

/// Collects the fields of `set` and of the fragments that apply to `root`;
/// false when a selection needs the library's rules.
fn plain_fields<'a, T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    root: &T,
    set: &'a SelectionSet,
    fields: &mut Vec<&'a Positioned<Field>>,
) -> bool {
    set.items.iter().all(|selection| match &selection.node {
        Selection::Field(field) => {
            fields.push(field);
            field.node.directives.is_empty()
        }
        Selection::InlineFragment(fragment) => {
            let condition = fragment.node.type_condition.as_ref().map(|c| c.node.on.node.as_str());
            fragment.node.directives.is_empty()
                && applies(root, condition)
                && plain_fields(ctx, root, &fragment.node.selection_set.node, fields)
        }
        Selection::FragmentSpread(spread) => {
            let Some(fragment) = ctx.query_env.fragments.get(&spread.node.fragment_name.node) else {
                return false;
            };
            spread.node.directives.is_empty()
                && applies(root, Some(fragment.node.type_condition.node.on.node.as_str()))
                && plain_fields(ctx, root, &fragment.node.selection_set.node, fields)
        }
    })
}

/// Whether a fragment's type condition names `root`'s own object type
/// (conditions on interfaces and unions are left to the library).
fn applies<T: ContainerType + ?Sized>(root: &T, condition: Option<&str>) -> bool {
    match condition {
        None => true,
        Some(condition) => {
            let concrete = root.introspection_type_name();
            concrete == condition && T::type_name() == concrete
        }
    }
}

/// Adds a field's value under its response key; a key selected twice (a
/// field repeated with different sub-selections) merges its objects, as
/// the library does.
fn merge(target: &mut IndexMap<Name, Value>, key: Name, value: Value) {
    match (target.get_mut(&key), value) {
        (None, value) => {
            target.insert(key, value);
        }
        (Some(Value::Object(existing)), Value::Object(more)) => merge_objects(existing, more),
        (Some(Value::List(existing)), Value::List(more)) => {
            for (slot, value) in existing.iter_mut().zip(more) {
                if let (Value::Object(existing), Value::Object(more)) = (slot, value) {
                    merge_objects(existing, more);
                }
            }
        }
        _ => {}
    }
}

fn merge_objects(target: &mut IndexMap<Name, Value>, more: IndexMap<Name, Value>) {
    for (key, value) in more {
        merge(target, key, value);
    }
}
