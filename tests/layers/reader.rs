//! The reader behind tests/layers.rs: the module tree from `src/lib.rs`, and every path that
//! reaches another top-level module, resolved as the compiler resolves it.

use proc_macro2::{TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use syn::visit::Visit;

/// An import of one top-level module by another: where it is written, and the path as written.
#[derive(Clone, Debug)]
pub struct Import {
    pub from: String,
    pub to: String,
    pub file: PathBuf,
    pub path: String,
}

/// What the sources under a `src/` directory say about their modules.
#[derive(Debug, Default)]
pub struct Tree {
    /// The modules `lib.rs` declares outside `#[cfg(test)]`.
    pub modules: BTreeSet<String>,
    pub imports: Vec<Import>,
    /// Paths into clap (`clap::…`, `clap_complete::…`): (module, file, path).
    pub clap: Vec<(String, PathBuf, String)>,
    /// Imports that hide what they import: a glob of the crate root, `extern crate self`.
    pub opaque: Vec<String>,
    /// Files that did not parse, or modules whose file is missing.
    pub unreadable: Vec<String>,
}

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && matches!(&a.meta, syn::Meta::List(l) if l.tokens.to_string() == "test")
    })
}

/// Reads the module tree from `src/lib.rs`, following `mod x;` to `x.rs` or `x/mod.rs`.
pub fn read(src: &Path) -> Tree {
    let mut tree = Tree::default();
    let lib = src.join("lib.rs");
    let Some(file) = parse(&lib, &mut tree) else {
        return tree;
    };
    for item in &file.items {
        if let syn::Item::Mod(m) = item
            && m.content.is_none()
            && !is_test(&m.attrs)
        {
            tree.modules.insert(m.ident.to_string());
        }
    }
    for m in tree.modules.clone() {
        read_module(src, vec![m], &mut tree);
    }
    tree
}

/// Parsed paths by (module, text): the test of the test reads the tree again after each change
/// to one file, and syn unoptimised takes about a second for the whole tree.
type Collected = (Vec<(Vec<String>, Vec<String>)>, Vec<Vec<String>>);
thread_local! {
    static COLLECTED: std::cell::RefCell<BTreeMap<(Vec<String>, String), Collected>> =
        Default::default();
}

/// The paths written in the file of `module`, and the file modules it declares.
fn collect(path: &Path, module: &[String], tree: &mut Tree) -> Option<Collector> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            tree.unreadable.push(format!("{}: {e}", path.display()));
            return None;
        }
    };
    let key = (module.to_vec(), text);
    if let Some((found, file_modules)) = COLLECTED.with(|c| c.borrow().get(&key).cloned()) {
        return Some(Collector {
            module: key.0,
            found,
            file_modules,
        });
    }
    let file = match syn::parse_str::<syn::File>(&key.1) {
        Ok(f) => f,
        Err(e) => {
            tree.unreadable.push(format!("{}: {e}", path.display()));
            return None;
        }
    };
    let mut v = Collector {
        module: module.to_vec(),
        found: Vec::new(),
        file_modules: Vec::new(),
    };
    v.visit_file(&file);
    let collected = (v.found.clone(), v.file_modules.clone());
    COLLECTED.with(|c| c.borrow_mut().insert(key, collected));
    Some(v)
}

fn parse(path: &Path, tree: &mut Tree) -> Option<syn::File> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            tree.unreadable.push(format!("{}: {e}", path.display()));
            return None;
        }
    };
    match syn::parse_file(&text) {
        Ok(f) => Some(f),
        Err(e) => {
            tree.unreadable.push(format!("{}: {e}", path.display()));
            None
        }
    }
}

/// One file module (`module` is its path from the crate root) and the file modules it declares.
fn read_module(src: &Path, module: Vec<String>, tree: &mut Tree) {
    let rel = module.join("/");
    // `a/b.rs`, else `a/b/mod.rs`; either way its own file modules live in `a/b/`.
    let path = match src.join(format!("{rel}.rs")) {
        p if p.is_file() => p,
        _ => src.join(&rel).join("mod.rs"),
    };
    let Some(v) = collect(&path, &module, tree) else {
        return;
    };
    for (inline, written) in v.found {
        resolve(&module[0], &inline, &written, &path, tree);
    }
    for child in v.file_modules {
        read_module(src, child, tree);
    }
}

/// Paths as written, with the module they are written in.
struct Collector {
    module: Vec<String>,
    found: Vec<(Vec<String>, Vec<String>)>,
    file_modules: Vec<Vec<String>>,
}

impl Collector {
    fn path(&mut self, segments: Vec<String>) {
        if matches!(
            segments.first().map(String::as_str),
            Some("crate" | "super" | "self" | "clap" | "clap_complete")
        ) {
            self.found.push((self.module.clone(), segments));
        }
    }

    /// `crate :: a :: b` and `super :: super :: a` sequences in a macro's or an attribute's
    /// tokens, which syn leaves unparsed.
    fn tokens(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Group(g) => self.tokens(g.stream()),
                TokenTree::Ident(id)
                    if ["crate", "super", "self", "clap", "clap_complete"]
                        .contains(&&*id.to_string()) =>
                {
                    let mut segments = vec![id.to_string()];
                    let mut j = i + 1;
                    while let (
                        Some(TokenTree::Punct(a)),
                        Some(TokenTree::Punct(b)),
                        Some(TokenTree::Ident(next)),
                    ) = (tokens.get(j), tokens.get(j + 1), tokens.get(j + 2))
                        && a.as_char() == ':'
                        && b.as_char() == ':'
                    {
                        segments.push(next.to_string());
                        j += 3;
                    }
                    if segments.len() > 1 {
                        self.path(segments);
                    }
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// A `use` tree as the full paths it imports (`a::{b as c, d::*}` is `a::b` and `a::d::*`).
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) if n.ident == "self" => out.push(prefix.clone()),
        syn::UseTree::Name(n) => out.push([prefix.clone(), vec![n.ident.to_string()]].concat()),
        syn::UseTree::Rename(r) if r.ident == "self" => out.push(prefix.clone()),
        syn::UseTree::Rename(r) => out.push([prefix.clone(), vec![r.ident.to_string()]].concat()),
        syn::UseTree::Glob(_) => out.push([prefix.clone(), vec!["*".to_string()]].concat()),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_paths(t, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item(&mut self, i: &'ast syn::Item) {
        let attrs = match i {
            syn::Item::Const(x) => &x.attrs,
            syn::Item::Enum(x) => &x.attrs,
            syn::Item::ExternCrate(x) => &x.attrs,
            syn::Item::Fn(x) => &x.attrs,
            syn::Item::Impl(x) => &x.attrs,
            syn::Item::Macro(x) => &x.attrs,
            syn::Item::Mod(x) => &x.attrs,
            syn::Item::Static(x) => &x.attrs,
            syn::Item::Struct(x) => &x.attrs,
            syn::Item::Trait(x) => &x.attrs,
            syn::Item::Type(x) => &x.attrs,
            syn::Item::Union(x) => &x.attrs,
            syn::Item::Use(x) => &x.attrs,
            _ => return syn::visit::visit_item(self, i),
        };
        if !is_test(attrs) {
            syn::visit::visit_item(self, i);
        }
    }

    fn visit_impl_item(&mut self, i: &'ast syn::ImplItem) {
        let attrs = match i {
            syn::ImplItem::Const(x) => &x.attrs,
            syn::ImplItem::Fn(x) => &x.attrs,
            syn::ImplItem::Type(x) => &x.attrs,
            syn::ImplItem::Macro(x) => &x.attrs,
            _ => return syn::visit::visit_impl_item(self, i),
        };
        if !is_test(attrs) {
            syn::visit::visit_impl_item(self, i);
        }
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.module.push(m.ident.to_string());
        match &m.content {
            Some(_) => syn::visit::visit_item_mod(self, m),
            None => self.file_modules.push(self.module.clone()),
        }
        self.module.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut paths = Vec::new();
        use_paths(&u.tree, &mut Vec::new(), &mut paths);
        for p in paths {
            self.path(p);
        }
    }

    fn visit_item_extern_crate(&mut self, e: &'ast syn::ItemExternCrate) {
        if e.ident == "self" {
            self.found
                .push((self.module.clone(), vec!["extern crate self".to_string()]));
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.path(p.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }

    fn visit_meta_list(&mut self, m: &'ast syn::MetaList) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_meta_list(self, m);
    }
}

/// The top-level module a path written in `module` reaches, recorded as an import of `from`.
fn resolve(from: &str, module: &[String], written: &[String], file: &Path, tree: &mut Tree) {
    let shown = written.join("::");
    let absolute: Vec<String> = match written[0].as_str() {
        "extern crate self" => {
            tree.opaque
                .push(format!("{}: extern crate self", file.display()));
            return;
        }
        "clap" | "clap_complete" => {
            tree.clap
                .push((from.to_string(), file.to_path_buf(), shown));
            return;
        }
        "crate" => written[1..].to_vec(),
        "self" => [module, &written[1..]].concat(),
        "super" => {
            let up = written.iter().take_while(|s| *s == "super").count();
            if up > module.len() {
                tree.unreadable.push(format!(
                    "{}: {shown} climbs above the crate",
                    file.display()
                ));
                return;
            }
            [&module[..module.len() - up], &written[up..]].concat()
        }
        _ => return,
    };
    match absolute.first().map(String::as_str) {
        // `use crate::*` or a `super::*` that reaches the root: every module at once.
        Some("*") => tree.opaque.push(format!(
            "{}: {shown} imports the crate root",
            file.display()
        )),
        Some(to) if to != from && tree.modules.contains(to) => tree.imports.push(Import {
            from: from.to_string(),
            to: to.to_string(),
            file: file.to_path_buf(),
            path: shown,
        }),
        _ => {}
    }
}
