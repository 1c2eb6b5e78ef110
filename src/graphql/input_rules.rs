//! Rules every request meets before it runs, whatever its fields: no text
//! input carries a refused character (domain/text.rs), and no directive
//! sits where the schema declares none. Checked here, once, so no resolver
//! can forget them.

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::parser::types::{
    ExecutableDocument, OperationDefinition, Selection, SelectionSet, VariableDefinition,
};
use async_graphql::parser::{Pos, Positioned};
use async_graphql::{Name, Request, ServerError, Value as ConstValue, Variables};
use async_graphql_value::Value;

use crate::domain::text::{Shape, TextTree, check_text_tree};
use crate::error::AppError;

/// Parses the request's query (kept on the request, so it is parsed once)
/// and returns the first rule it breaks; a query that does not parse gets
/// the parser's error, as execution would give it.
pub fn refusal(request: &mut Request) -> Option<ServerError> {
    let doc = match async_graphql::parser::parse_query(&request.query) {
        Ok(doc) => doc,
        Err(err) => return Some(err.into()),
    };
    let refused = first_refusal(&doc, &request.variables);
    request.set_parsed_query(doc);
    refused
}

fn first_refusal(doc: &ExecutableDocument, variables: &Variables) -> Option<ServerError> {
    for (_, operation) in doc.operations.iter() {
        if let Some(err) = directive_on_variable(&operation.node) {
            return Some(err);
        }
        let mut walk = Walk {
            doc,
            env: Env {
                variables,
                definitions: &operation.node.variable_definitions,
            },
            fragments_seen: HashSet::new(),
        };
        if let Some(err) = walk.selection_set(&operation.node.selection_set.node) {
            return Some(err);
        }
    }
    None
}

/// async-graphql refuses unknown and misplaced directives everywhere but on
/// variable definitions. It lets no schema declare a directive for that
/// location (its custom directives are FIELD only), so any one there is
/// refused.
fn directive_on_variable(operation: &OperationDefinition) -> Option<ServerError> {
    let directive = operation
        .variable_definitions
        .iter()
        .find_map(|d| d.node.directives.first())?;
    Some(ServerError::new(
        format!(
            "Directive \"{}\" may not be used on a variable definition: the schema declares no directive for that location",
            directive.node.name.node
        ),
        Some(directive.pos),
    ))
}

/// The variables one operation sees: those sent, else their defaults.
struct Env<'a> {
    variables: &'a Variables,
    definitions: &'a [Positioned<VariableDefinition>],
}

impl<'a> Env<'a> {
    fn get(&self, name: &Name) -> Option<&'a ConstValue> {
        self.variables.get(name).or_else(|| {
            self.definitions
                .iter()
                .find(|d| d.node.name.node == *name)
                .and_then(|d| d.node.default_value.as_ref())
                .map(|v| &v.node)
        })
    }
}

/// Every field argument an operation runs with, fragments followed (once
/// each, so a cycle, refused later by validation, cannot loop here).
struct Walk<'a> {
    doc: &'a ExecutableDocument,
    env: Env<'a>,
    fragments_seen: HashSet<&'a Name>,
}

impl<'a> Walk<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> Option<ServerError> {
        for selection in &set.items {
            let found = match &selection.node {
                Selection::Field(field) => {
                    let found = field.node.arguments.iter().find_map(|(name, value)| {
                        let input = Input::Literal(&value.node, &self.env);
                        check_text_tree(&name.node, input)
                            .err()
                            .map(|e| validation(e, value.pos))
                    });
                    found.or_else(|| self.selection_set(&field.node.selection_set.node))
                }
                Selection::InlineFragment(fragment) => self.selection_set(&fragment.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    match self.doc.fragments.get(name) {
                        Some(fragment) if self.fragments_seen.insert(name) => {
                            self.selection_set(&fragment.node.selection_set.node)
                        }
                        _ => None,
                    }
                }
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }
}

fn validation(err: crate::domain::ValidationError, pos: Pos) -> ServerError {
    let mut server_error = ServerError::new(err.to_string(), Some(pos));
    server_error.source = Some(Arc::new(AppError::Validation(err)));
    server_error
}

/// An argument's value as the resolver will see it: a literal of the
/// document, whose variables are looked up, or a variable's value.
#[derive(Clone, Copy)]
enum Input<'a> {
    Literal(&'a Value, &'a Env<'a>),
    Sent(&'a ConstValue),
}

impl<'a> TextTree<'a> for Input<'a> {
    fn shape(self) -> Shape<'a, Self> {
        match self {
            Input::Literal(value, env) => match value {
                Value::Variable(name) => match env.get(name) {
                    Some(sent) => Input::Sent(sent).shape(),
                    None => Shape::Other,
                },
                Value::String(s) => Shape::Text(s),
                Value::List(items) => Shape::List(Box::new(items.iter().map(move |v| Input::Literal(v, env)))),
                Value::Object(map) => Shape::Object(Box::new(
                    map.iter().map(move |(k, v)| (k.as_str(), Input::Literal(v, env))),
                )),
                Value::Null | Value::Number(_) | Value::Boolean(_) | Value::Binary(_) | Value::Enum(_) => Shape::Other,
            },
            Input::Sent(value) => match value {
                ConstValue::String(s) => Shape::Text(s),
                ConstValue::List(items) => Shape::List(Box::new(items.iter().map(Input::Sent))),
                ConstValue::Object(map) => {
                    Shape::Object(Box::new(map.iter().map(|(k, v)| (k.as_str(), Input::Sent(v)))))
                }
                ConstValue::Null
                | ConstValue::Number(_)
                | ConstValue::Boolean(_)
                | ConstValue::Binary(_)
                | ConstValue::Enum(_) => Shape::Other,
            },
        }
    }
}
