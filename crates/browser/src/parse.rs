//! Parsing hostile HTML with a bounded amount of work.
//!
//! html5ever has quadratic paths a hostile page can walk: its tree builder checks element
//! scopes by walking the stack of open elements, so nested `<div>`s cost time quadratic in
//! their depth (40,000 of them, 200 KB, take about ten seconds in a test build), and its
//! tokenizer checks each attribute against the tag's earlier ones (40,000 attributes on one tag
//! take as long). At 5 MiB either would pin a core for hours. Browsers cap such things;
//! html5ever does not. So we feed the input in chunks and stop, keeping what was parsed, when
//! - the depth budget is spent: a wrapper around scraper's tree sink charges every inserted
//!   element its depth (deterministic; real pages use a few percent of it), or
//! - parsing has taken [`TIME_LIMIT`]: the catch-all for attribute floods and any superlinear
//!   path we do not know of.

use std::borrow::Cow;
use std::cell::{Cell, Ref, RefCell};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use ego_tree::NodeId;

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, QualName};
use scraper::{Html, HtmlTreeSink};

/// The work a document may cost, in element depths summed over inserted elements. A long
/// Wikipedia article (50,000 elements, 15 deep on average) costs under a million; 3,000
/// nested `<div>`s cost the whole budget.
const WORK_BUDGET: u64 = 5_000_000;

/// Parsing stops after this long. A 5 MiB ordinary page takes well under a second.
const TIME_LIMIT: Duration = Duration::from_secs(2);

/// How much input is fed between checks; at most one chunk is parsed past a limit.
const CHUNK_BYTES: usize = 4 * 1024;

/// A parsed document and whether parsing stopped early.
pub struct Parsed {
    pub html: Html,
    /// A limit was reached and the rest of the input was not parsed.
    pub cut: bool,
}

/// Parses a document, stopping at the work budget or the time limit.
pub fn parse_document(input: &str) -> Parsed {
    parse_with_limits(input, WORK_BUDGET, TIME_LIMIT)
}

fn parse_with_limits(input: &str, budget: u64, time_limit: Duration) -> Parsed {
    let started = Instant::now();
    let sink = BoundedSink {
        inner: HtmlTreeSink::new(Html::new_document()),
        depths: RefCell::new(HashMap::new()),
        work: Cell::new(0),
        budget,
    };
    let mut parser = html5ever::parse_document(sink, Default::default());
    let mut rest = input;
    let mut cut = false;
    while !rest.is_empty() {
        if parser.tokenizer.sink.sink.spent() || started.elapsed() > time_limit {
            cut = true;
            break;
        }
        let mut end = rest.len().min(CHUNK_BYTES);
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (chunk, tail) = rest.split_at(end);
        parser.process(StrTendril::from_slice(chunk));
        rest = tail;
    }
    Parsed { html: parser.finish(), cut }
}

/// scraper's sink, plus a meter on element insertions.
struct BoundedSink {
    inner: HtmlTreeSink,
    /// Each element's depth when it was inserted. Nodes moved later (misnested formatting,
    /// foster parenting) keep their old depth: the meter is an estimate, not an invariant.
    depths: RefCell<HashMap<NodeId, u64>>,
    work: Cell<u64>,
    budget: u64,
}

impl BoundedSink {
    fn spent(&self) -> bool {
        self.work.get() > self.budget
    }

    /// Charges an insertion under `parent` with the parent's depth, which is what the tree
    /// builder's scope checks walk. Text is free: it never deepens the stack.
    fn charge(&self, parent: &NodeId, child: &NodeOrText<NodeId>) {
        if let NodeOrText::AppendNode(child) = child {
            let mut depths = self.depths.borrow_mut();
            let depth = depths.get(parent).copied().unwrap_or(0) + 1;
            depths.insert(*child, depth);
            self.work.set(self.work.get().saturating_add(depth));
        }
    }
}

impl TreeSink for BoundedSink {
    type Handle = NodeId;
    type Output = Html;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> Html {
        self.inner.finish()
    }

    fn parse_error(&self, msg: Cow<'static, str>) {
        self.inner.parse_error(msg);
    }

    fn get_document(&self) -> Self::Handle {
        self.inner.get_document()
    }

    fn elem_name<'a>(&'a self, target: &'a Self::Handle) -> Self::ElemName<'a> {
        self.inner.elem_name(target)
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> Self::Handle {
        self.inner.create_element(name, attrs, flags)
    }

    fn create_comment(&self, text: StrTendril) -> Self::Handle {
        self.inner.create_comment(text)
    }

    fn create_pi(&self, target: StrTendril, data: StrTendril) -> Self::Handle {
        self.inner.create_pi(target, data)
    }

    fn append(&self, parent: &Self::Handle, child: NodeOrText<Self::Handle>) {
        self.charge(parent, &child);
        self.inner.append(parent, child);
    }

    fn append_based_on_parent_node(
        &self,
        element: &Self::Handle,
        prev_element: &Self::Handle,
        child: NodeOrText<Self::Handle>,
    ) {
        self.charge(element, &child);
        self.inner.append_based_on_parent_node(element, prev_element, child);
    }

    fn append_doctype_to_document(&self, name: StrTendril, public_id: StrTendril, system_id: StrTendril) {
        self.inner.append_doctype_to_document(name, public_id, system_id);
    }

    fn mark_script_already_started(&self, node: &Self::Handle) {
        self.inner.mark_script_already_started(node);
    }

    fn pop(&self, node: &Self::Handle) {
        self.inner.pop(node);
    }

    fn get_template_contents(&self, target: &Self::Handle) -> Self::Handle {
        self.inner.get_template_contents(target)
    }

    fn same_node(&self, x: &Self::Handle, y: &Self::Handle) -> bool {
        self.inner.same_node(x, y)
    }

    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode);
    }

    fn append_before_sibling(&self, sibling: &Self::Handle, new_node: NodeOrText<Self::Handle>) {
        self.charge(sibling, &new_node);
        self.inner.append_before_sibling(sibling, new_node);
    }

    fn add_attrs_if_missing(&self, target: &Self::Handle, attrs: Vec<Attribute>) {
        self.inner.add_attrs_if_missing(target, attrs);
    }

    fn associate_with_form(
        &self,
        target: &Self::Handle,
        form: &Self::Handle,
        nodes: (&Self::Handle, Option<&Self::Handle>),
    ) {
        self.inner.associate_with_form(target, form, nodes);
    }

    fn remove_from_parent(&self, target: &Self::Handle) {
        self.inner.remove_from_parent(target);
    }

    fn reparent_children(&self, node: &Self::Handle, new_parent: &Self::Handle) {
        self.inner.reparent_children(node, new_parent);
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Self::Handle) -> bool {
        self.inner.is_mathml_annotation_xml_integration_point(handle)
    }

    fn set_current_line(&self, line_number: u64) {
        self.inner.set_current_line(line_number);
    }

    fn allow_declarative_shadow_roots(&self, intended_parent: &Self::Handle) -> bool {
        self.inner.allow_declarative_shadow_roots(intended_parent)
    }

    fn attach_declarative_shadow(&self, location: &Self::Handle, template: &Self::Handle, attrs: &[Attribute]) -> bool {
        self.inner.attach_declarative_shadow(location, template, attrs)
    }

    fn maybe_clone_an_option_into_selectedcontent(&self, option: &Self::Handle) {
        self.inner.maybe_clone_an_option_into_selectedcontent(option);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_pages_parse_whole() {
        let page = "<p>Some text with <a href='/x'>a link</a>.</p>\n".repeat(20_000);
        let parsed = parse_document(&page);
        assert!(!parsed.cut);
        assert_eq!(parsed.html.root_element().descendants().filter(|n| n.value().is_element()).count(), 3 + 40_000);
    }

    #[test]
    fn deep_nesting_is_cut_quickly() {
        // Unbounded, 40,000 nested divs take about ten seconds in a test build.
        let page = format!("{}deep{}", "<div>".repeat(40_000), "</div>".repeat(40_000));
        let started = Instant::now();
        let parsed = parse_document(&page);
        assert!(parsed.cut);
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    }

    #[test]
    fn the_budget_counts_depth() {
        let flat = "<p>x</p>".repeat(1_000);
        assert!(!parse_with_limits(&flat, 10_000, TIME_LIMIT).cut);
        let deep = "<div>".repeat(2_000);
        assert!(parse_with_limits(&deep, 10_000, TIME_LIMIT).cut);
    }

    #[test]
    fn an_attribute_flood_is_cut_by_the_clock() {
        // 100,000 attributes on one tag: about a minute of parsing unbounded.
        let attrs: String = (0..100_000).map(|i| format!(" a{i}")).collect();
        let page = format!("<p>before</p><div{attrs}>after</div>");
        let started = Instant::now();
        let parsed = parse_with_limits(&page, WORK_BUDGET, Duration::from_millis(200));
        assert!(parsed.cut);
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        let text: String = parsed.html.root_element().text().collect();
        assert_eq!(text, "before");
    }

    #[test]
    fn chunks_split_on_character_boundaries() {
        let page = format!("<p>{}</p>", "日本語".repeat(10_000));
        let parsed = parse_document(&page);
        let text: String = parsed.html.root_element().text().collect();
        assert_eq!(text, "日本語".repeat(10_000));
    }
}
