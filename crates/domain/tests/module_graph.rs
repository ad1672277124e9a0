//! The domain's modules depend on one another in one direction: the layer list below is
//! the one place that declares the order (ARCHITECTURE.md explains it), and this test
//! reads every file of `crates/domain/src` and fails when
//! - a module is missing from the list (every module must have a place),
//! - the references form a loop (named: `a -> b -> a`, with a file:line for each step),
//! - a module refers to one in a higher layer (named, with file:line).
//!
//! A reference is any path `crate::a::b…` or `super::…` in code — `use` trees with
//! `{…}` groups, expressions, types, macro arguments — resolved to the longest listed
//! node that is a prefix of it. Comments and string literals (doc comments included) are
//! not references. Files are read with `proc-macro2`'s lexer, so code is tokens, never
//! text matched by patterns.
//!
//! Run alone: `cargo test -p convene-domain --test module_graph`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// The domain's layers, lowest first. A node is a module path; a file belongs to the
/// longest node that is a prefix of its module path. A node may refer to nodes of its own
/// layer (without forming a loop) and of lower layers, never to a higher one.
const LAYERS: &[&[&str]] = &[
    // Foundations: errors, helpers, connections and transactions; the edge types (text,
    // bounds, names, e-mail addresses), links and the one CSV writer.
    &[
        "error", "util", "db", "text", "bounds", "links", "csv_out", "names", "email",
    ],
    // Schedule formats and their model (pure: parse and write files, no database).
    &["schedule"],
    // The schema: sea-orm table definitions. Any module may read any table.
    &[
        "accounts::entity",
        "forums::entity",
        "rooms::entity",
        "speakers::entity",
        "sessions::entity",
        "registrations::entity",
        "declarations::entity",
        "notifications::entity",
        "idempotency::entity",
    ],
    // What a programme operation changed (typed values over schema rows).
    &["change"],
    // Accounts and tokens; stored answers of `Idempotency-Key` requests.
    &["accounts", "idempotency"],
    &["forums"],
    // The outbox: every module above may enqueue a notice.
    &["notifications"],
    // The programme.
    &["rooms", "speakers"],
    &["sessions"],
    &["schedule::store"],
    // Reminder rows for seat holders (called by registrations and effects).
    &["notifications::reminders"],
    // Participation: registrations and sign-ups; declarations and signatures.
    &["registrations", "declarations"],
    // Consequences of programme changes, and the operations that apply them.
    &["effects"],
];

/// Root-level re-exports of `lib.rs` and the node they come from.
const ROOT_ALIASES: &[(&str, &str)] = &[("Error", "error"), ("Result", "error")];

/// One reference from a file to a module path.
#[derive(Debug, Clone)]
struct Reference {
    /// The referring module's path (`registrations::signups`).
    from_module: Vec<String>,
    /// The referenced path, resolved from the crate root (`forums::Forum`).
    to_path: Vec<String>,
    /// `file:line` of the reference.
    at: String,
}

/// The module path of a source file relative to `src/` (`lib.rs` → empty,
/// `a/mod.rs` → `a`, `a/b.rs` → `a::b`).
fn module_path(rel: &str) -> Vec<String> {
    let rel = rel.trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// Every `crate::…` / `super::…` path in `src`, for a file whose module path is `module`.
fn references(file: &str, module: &[String], src: &str) -> Result<Vec<Reference>, String> {
    let ts = TokenStream::from_str(src).map_err(|e| format!("{file}: does not lex: {e}"))?;
    let mut out = vec![];
    scan(file, module, ts, &mut out);
    Ok(out)
}

fn is_path_sep(tokens: &[TokenTree], i: usize) -> bool {
    matches!((tokens.get(i), tokens.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && b.as_char() == ':')
}

fn scan(file: &str, module: &[String], ts: TokenStream, out: &mut Vec<Reference>) {
    let tokens: Vec<TokenTree> = ts.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            // `mod name { … }`: an inline module; its `super` is this module.
            TokenTree::Ident(id) if id == "mod" => {
                if let (Some(TokenTree::Ident(name)), Some(TokenTree::Group(g))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    if g.delimiter() == Delimiter::Brace {
                        let mut inner = module.to_vec();
                        inner.push(name.to_string());
                        scan(file, &inner, g.stream(), out);
                        i += 3;
                        continue;
                    }
                }
                i += 1;
            }
            TokenTree::Ident(id)
                if (id == "crate" || id == "super")
                    && is_path_sep(&tokens, i + 1)
                    // `$crate` in a macro_rules body is the crate too; `x::crate` is not a root.
                    && !(i >= 2 && is_path_sep(&tokens, i - 2)) =>
            {
                let line = id.span().start().line;
                let at = format!("{file}:{line}");
                let mut base: Vec<String> = if id == "crate" {
                    vec![]
                } else {
                    module[..module.len().saturating_sub(1)].to_vec()
                };
                let mut j = i + 1;
                // Further `super::` steps.
                while is_path_sep(&tokens, j) {
                    match tokens.get(j + 2) {
                        Some(TokenTree::Ident(s)) if s == "super" && id == "super" => {
                            base.pop();
                            j += 3;
                        }
                        _ => break,
                    }
                }
                j = path_tail(&tokens, j, &mut base);
                match tokens.get(j) {
                    Some(TokenTree::Group(g))
                        if g.delimiter() == Delimiter::Brace && is_path_sep(&tokens, j - 2) =>
                    {
                        use_group(module, &base, g.stream(), &at, out);
                        j += 1;
                    }
                    _ => out.push(Reference {
                        from_module: module.to_vec(),
                        to_path: base,
                        at,
                    }),
                }
                i = j;
            }
            TokenTree::Group(g) => {
                scan(file, module, g.stream(), out);
                i += 1;
            }
            _ => i += 1,
        }
    }
}

/// Reads `::ident::ident…` from `j` onto `path`; returns the index after it (at a `{`
/// group when the path continues into one).
fn path_tail(tokens: &[TokenTree], mut j: usize, path: &mut Vec<String>) -> usize {
    while is_path_sep(tokens, j) {
        match tokens.get(j + 2) {
            Some(TokenTree::Ident(seg)) => {
                path.push(seg.to_string());
                j += 3;
            }
            Some(TokenTree::Group(_)) => return j + 2,
            _ => return j + 2, // `::*`, `::<T>`
        }
    }
    j
}

/// A `use` tree group `{a, b::c, d::{e, f}, self}` under `base`.
fn use_group(
    module: &[String],
    base: &[String],
    ts: TokenStream,
    at: &str,
    out: &mut Vec<Reference>,
) {
    let tokens: Vec<TokenTree> = ts.into_iter().collect();
    for item in tokens.split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ',')) {
        let mut path = base.to_vec();
        let mut k = 0;
        match item.first() {
            Some(TokenTree::Ident(s)) if s == "self" => k = 1,
            Some(TokenTree::Ident(s)) => {
                path.push(s.to_string());
                k = 1;
            }
            _ => {}
        }
        let k = path_tail(item, k, &mut path);
        if let Some(TokenTree::Group(g)) = item.get(k) {
            if g.delimiter() == Delimiter::Brace {
                use_group(module, &path, g.stream(), at, out);
                continue;
            }
        }
        if item.is_empty() {
            continue;
        }
        out.push(Reference {
            from_module: module.to_vec(),
            to_path: path,
            at: at.to_owned(),
        });
    }
}

/// The longest declared node that is a prefix of `path`.
fn node_of(path: &[String]) -> Option<&'static str> {
    LAYERS
        .iter()
        .flat_map(|l| l.iter().copied())
        .filter(|n| {
            let segs: Vec<&str> = n.split("::").collect();
            segs.len() <= path.len() && segs.iter().zip(path).all(|(a, b)| a == b)
        })
        .max_by_key(|n| n.split("::").count())
}

fn layer_of(node: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&node))
        .expect("a listed node")
}

/// The graph between nodes: for each edge, where it is made.
type Graph = BTreeMap<&'static str, BTreeMap<&'static str, String>>;

/// Builds the graph of `files` (path relative to `src/`, source) and returns every
/// problem found (an empty list when the modules respect the layers).
fn check(files: &[(String, String)]) -> Vec<String> {
    let mut problems = vec![];
    let mut graph: Graph = BTreeMap::new();
    for (rel, src) in files {
        let module = module_path(rel);
        if module.is_empty() {
            continue; // lib.rs declares the modules
        }
        let Some(from) = node_of(&module) else {
            problems.push(format!(
                "{rel}: module `{}` has no place in LAYERS (crates/domain/tests/module_graph.rs)",
                module.join("::")
            ));
            continue;
        };
        graph.entry(from).or_default();
        let refs = match references(rel, &module, src) {
            Ok(r) => r,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        for r in refs {
            let to_path = match r.to_path.first() {
                Some(first) => match ROOT_ALIASES.iter().find(|(a, _)| a == first) {
                    Some((_, node)) => vec![(*node).to_owned()],
                    None => r.to_path.clone(),
                },
                None => r.to_path.clone(),
            };
            if to_path.is_empty() {
                continue; // `crate::*`, `super::*` of a top-level module
            }
            let Some(to) = node_of(&to_path) else {
                problems.push(format!(
                    "{}: `{}` (from `{}`) is in no node of LAYERS",
                    r.at,
                    to_path.join("::"),
                    r.from_module.join("::")
                ));
                continue;
            };
            if to != from {
                graph.entry(from).or_default().entry(to).or_insert(r.at);
            }
        }
    }
    problems.extend(cycles(&graph));
    for (from, tos) in &graph {
        for (to, at) in tos {
            if layer_of(to) > layer_of(from) {
                problems.push(format!(
                    "{at}: `{from}` refers to `{to}`, which is in a higher layer (LAYERS)"
                ));
            }
        }
    }
    problems
}

/// Every loop of the graph, once each (from its smallest node), as
/// `loop: a -> b -> a (a -> b at file:line; b -> a at file:line)`.
fn cycles(graph: &Graph) -> Vec<String> {
    let mut found = BTreeSet::new();
    let mut out = vec![];
    for &start in graph.keys() {
        let mut stack = vec![start];
        walk(graph, start, &mut stack, &mut found, &mut out);
    }
    out
}

fn walk(
    graph: &Graph,
    start: &'static str,
    stack: &mut Vec<&'static str>,
    found: &mut BTreeSet<Vec<&'static str>>,
    out: &mut Vec<String>,
) {
    let here = *stack.last().expect("non-empty");
    let Some(next) = graph.get(here) else { return };
    for (&to, _) in next {
        if to == start {
            // Report each loop once: rotated to begin at its smallest node.
            let min = stack.iter().enumerate().min_by_key(|(_, n)| **n).unwrap().0;
            let mut canon: Vec<&str> = stack[min..].to_vec();
            canon.extend_from_slice(&stack[..min]);
            if found.insert(canon.clone()) {
                let mut steps = vec![];
                for (k, a) in canon.iter().enumerate() {
                    let b = canon[(k + 1) % canon.len()];
                    steps.push(format!("{a} -> {b} at {}", graph[a][b]));
                }
                let mut names = canon.clone();
                names.push(canon[0]);
                out.push(format!(
                    "loop: {} ({})",
                    names.join(" -> "),
                    steps.join("; ")
                ));
            }
        } else if !stack.contains(&to) && to > start {
            // Only nodes after `start` (each loop is found from its smallest node).
            stack.push(to);
            walk(graph, start, stack, found, out);
            stack.pop();
        }
    }
}

fn read_tree(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_tree(&p, root, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&p).unwrap()));
        }
    }
}

#[test]
fn domain_modules_follow_the_layers_without_loops() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    read_tree(&root, &root, &mut files);
    assert!(files.len() > 20, "read the domain's sources");
    let problems = check(&files);
    assert!(
        problems.is_empty(),
        "the domain's modules break the layer order:\n{}",
        problems.join("\n")
    );
}

fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn a_loop_is_named_with_where_each_step_is() {
    // forums (low) calls into registrations (high), which uses forums: a loop.
    let problems = check(&files(&[
        (
            "forums/mod.rs",
            "fn f() {\n  crate::registrations::capacity_changed();\n}",
        ),
        ("registrations/mod.rs", "use crate::forums::{self, Forum};"),
    ]));
    assert!(
        problems.iter().any(|p| p
            == "loop: forums -> registrations -> forums \
                (forums -> registrations at forums/mod.rs:2; \
                registrations -> forums at registrations/mod.rs:1)"),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("`forums` refers to `registrations`, which is in a higher layer")),
        "{problems:#?}"
    );
}

#[test]
fn a_longer_loop_through_nested_use_groups_macros_and_super_is_found() {
    let problems = check(&files(&[
        // sessions -> rooms (allowed direction)
        ("sessions/mod.rs", "use crate::{util, rooms::{self, Room}};"),
        // rooms -> speakers inside a macro argument (same layer: no order problem alone)
        (
            "rooms/mod.rs",
            "fn f() { let _ = json!({\"a\": crate::speakers::x()}); }",
        ),
        // speakers -> sessions through `super::super` from a nested module: closes the loop
        (
            "speakers/inner/deep.rs",
            "use super::super::super::sessions::Session;",
        ),
    ]));
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("loop: rooms -> speakers -> sessions -> rooms (")),
        "{problems:#?}"
    );
}

#[test]
fn comments_strings_and_entities_are_not_loops() {
    let problems = check(&files(&[
        // A doc link and a string naming a higher module are not references; a table
        // definition (schema layer) may be read from anywhere.
        (
            "forums/mod.rs",
            "/// See [`crate::registrations::x`].\nfn f() { let _ = \"crate::effects::y\"; \
             crate::registrations::entity::registration::Entity::find(); }",
        ),
        ("registrations/mod.rs", "use crate::forums::Forum;"),
        ("registrations/entity.rs", "pub mod registration {}"),
    ]));
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_module_without_a_place_is_reported() {
    let problems = check(&files(&[("newthing.rs", "use crate::util;")]));
    assert_eq!(
        problems,
        vec!["newthing.rs: module `newthing` has no place in LAYERS \
              (crates/domain/tests/module_graph.rs)"
            .to_owned()]
    );
}
