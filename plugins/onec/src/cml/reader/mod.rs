//! The pull reader: XML events in, [`Item`]s out, one at a time.
//!
//! Two layers. The *sections* (`Классификатор`, `Каталог`, `ПакетПредложений`) and the group
//! tree are walked with an explicit stack of [`Frame`]s, because a group tree is emitted
//! node by node across calls (parents first). Everything that becomes one item (a product,
//! an offer, a property …) is read in one go by a small recursive-descent parser
//! (`items.rs`) that keeps only that item in memory.
//!
//! Elements are matched by local name, so the three namespace styles (none,
//! `urn:1C.ru:commerceml_2`, `urn:1C.ru:commerceml_3`) read alike; unknown elements are
//! skipped without looking at their content.

mod items;

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use quick_xml::events::Event;

use super::input::{Input, Refusal};
use super::tag::Tag;
use super::{CmlError, Decimal, Item};

/// Bounds that keep memory and time proportional to one item, whatever a file holds.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Longest text of an ordinary element, in bytes (default 64 KiB).
    pub max_text: usize,
    /// Longest `Описание`, in bytes (default 4 MiB: descriptions may be HTML).
    pub max_description: usize,
    /// Deepest element nesting (default 64).
    pub max_depth: usize,
    /// Most entries of one list inside one item: property values, pictures, prices,
    /// dictionary values of a property … (default 10,000).
    pub max_entries: usize,
    /// Largest single XML token (text run, tag, comment) the parser buffers, in bytes
    /// (default 16 MiB); beyond it reading stops.
    pub max_token: usize,
    /// Most text bytes one item may keep in total (default 32 MiB): with the limits above
    /// alone, 10,000 entries of 64 KiB would still fit in one item.
    pub max_item_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text: 64 << 10,
            max_description: 4 << 20,
            max_depth: 64,
            max_entries: 10_000,
            max_token: 16 << 20,
            max_item_bytes: 32 << 20,
        }
    }
}

/// A streaming reader of one CommerceML document (catalogue, offers, prices, rests).
///
/// ```no_run
/// use megashop_onec::cml::{CmlReader, Item};
/// let mut reader = CmlReader::from_path("import.xml".as_ref())?;
/// while let Some(item) = reader.next_item()? {
///     if let Item::Product(product) = item {
///         println!("{} {}", product.id, product.name);
///     }
/// }
/// # Ok::<(), megashop_onec::cml::CmlError>(())
/// ```
///
/// Memory stays bounded by one item and the [`Limits`]; nothing of earlier items is kept.
/// Errors for which [`CmlError::is_recoverable`] holds concern one item, and reading can go
/// on; after any other error [`next_item`](Self::next_item) returns `Ok(None)`.
pub struct CmlReader<R: BufRead> {
    xml: quick_xml::Reader<Input<R>>,
    /// The parser's token buffer, reused for every event.
    buf: Vec<u8>,
    /// Text of the element being read (reused).
    text: String,
    text_cap: usize,
    text_over: bool,
    /// Text bytes kept for the current item so far.
    item_bytes: usize,
    /// Local names of the open elements, `/`-separated, for error messages.
    path: Vec<u8>,
    /// Length of `path` before each open element.
    marks: Vec<usize>,
    /// The last `Close` is not yet popped from `path` (so errors about the element just
    /// read still name it).
    pending_pop: bool,
    /// The last `Open` was `<x/>`: the next step is its `Close`.
    pending_empty: bool,
    /// Attributes of the last opened element, when its tag wants them.
    attrs: Vec<(Tag, String)>,
    frames: Vec<Frame>,
    limits: Limits,
    /// A recoverable error found inside the current item, reported at its end.
    deferred: Option<CmlError>,
    /// An item (or its error) to hand out on the next call.
    queued: Option<Result<Item, CmlError>>,
    orders_seen: bool,
    done: bool,
    version: Option<String>,
}

/// One XML step as the parsers see it.
enum Step {
    Open(Tag),
    Close,
    Eof,
}

/// Where the section walker is.
enum Frame {
    Root,
    Section(Section),
    Group(GroupFrame),
    List(List),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SectionKind {
    Classifier,
    Catalog,
    Offers,
}

/// The header of a section, collected until its first list starts.
struct Section {
    kind: SectionKind,
    id: Option<String>,
    name: Option<String>,
    classifier_id: Option<String>,
    catalog_id: Option<String>,
    only_changes: bool,
    announced: bool,
}

struct GroupFrame {
    group: super::Group,
    announced: bool,
}

/// A list whose entries are items.
#[derive(Clone, PartialEq, Eq)]
enum List {
    Groups,
    Properties(Option<String>),
    PriceTypes,
    Warehouses,
    Units,
    Products,
    Offers,
}

/// `Frame` without its data, to dispatch on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    Root,
    Section(SectionKind),
    Group,
    Groups,
    Properties,
    PriceTypes,
    Warehouses,
    Units,
    Products,
    Offers,
}

impl CmlReader<BufReader<File>> {
    /// Opens a file.
    pub fn from_path(path: &Path) -> Result<Self, CmlError> {
        let file = File::open(path).map_err(CmlError::Io)?;
        Ok(CmlReader::new(BufReader::with_capacity(64 << 10, file)))
    }
}

impl<R: BufRead> CmlReader<R> {
    /// A reader over any buffered byte stream, with the default [`Limits`]. Nothing is read
    /// until the first [`next_item`](Self::next_item).
    pub fn new(reader: R) -> Self {
        Self::with_limits(reader, Limits::default())
    }

    /// A reader with other limits (tests, or a trusted local file).
    pub fn with_limits(reader: R, limits: Limits) -> Self {
        let mut xml = quick_xml::Reader::from_reader(Input::new(reader, limits.max_token));
        let config = xml.config_mut();
        // 1C escapes properly, but a stray `&` in a name must not fail a whole import.
        config.allow_dangling_amp = true;
        config.check_end_names = true;
        CmlReader {
            xml,
            buf: Vec::with_capacity(4 << 10),
            text: String::with_capacity(1 << 10),
            text_cap: 0,
            text_over: false,
            item_bytes: 0,
            path: Vec::with_capacity(256),
            marks: Vec::with_capacity(16),
            pending_pop: false,
            pending_empty: false,
            attrs: Vec::new(),
            frames: Vec::with_capacity(16),
            limits,
            deferred: None,
            queued: None,
            orders_seen: false,
            done: false,
            version: None,
        }
    }

    /// `ВерсияСхемы` of the document, once the first item has been read.
    pub fn schema_version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Bytes of (UTF-8) input consumed so far: for progress reports.
    pub fn position(&self) -> u64 {
        self.xml.buffer_position()
    }

    /// The next item in document order; `Ok(None)` at the end of the document (or after a
    /// fatal error). The first item is always [`Item::Document`].
    pub fn next_item(&mut self) -> Result<Option<Item>, CmlError> {
        if let Some(queued) = self.queued.take() {
            return queued.map(Some);
        }
        if self.done {
            return Ok(None);
        }
        self.item_bytes = 0;
        match self.advance() {
            Ok(item) => Ok(item),
            Err(error) => {
                if !error.is_recoverable() {
                    self.done = true;
                    self.deferred = None;
                    self.queued = None;
                }
                Err(error)
            }
        }
    }

    fn advance(&mut self) -> Result<Option<Item>, CmlError> {
        if self.frames.is_empty() {
            return self.open_root().map(Some);
        }
        loop {
            let Some(tag) = self.next_child()? else {
                match self.frames.pop() {
                    None | Some(Frame::Root) => {
                        self.done = true;
                        return Ok(None);
                    }
                    Some(Frame::Section(mut section)) if !section.announced => {
                        return Ok(Some(section.announce()));
                    }
                    Some(Frame::Group(mut group)) if !group.announced => {
                        return self.announce_group(&mut group).map(Some);
                    }
                    Some(_) => continue,
                }
            };
            let item = self.on_child(tag)?;
            if let Some(error) = self.deferred.take() {
                return Err(error);
            }
            if item.is_some() {
                return Ok(item);
            }
        }
    }

    fn open_root(&mut self) -> Result<Item, CmlError> {
        match self.step(false)? {
            Step::Open(Tag::Root) => {
                self.version = self.take_attr(Tag::SchemaVersion);
                let generated_at = self.take_attr(Tag::GeneratedAt);
                self.frames.push(Frame::Root);
                Ok(Item::Document { version: self.version.clone(), generated_at })
            }
            Step::Open(_) => Err(CmlError::NotCommerceMl { root: String::from_utf8_lossy(&self.path).into_owned() }),
            Step::Close | Step::Eof => Err(self.malformed("no root element")),
        }
    }

    fn at(&self) -> At {
        match self.frames.last() {
            None | Some(Frame::Root) => At::Root,
            Some(Frame::Section(section)) => At::Section(section.kind),
            Some(Frame::Group(_)) => At::Group,
            Some(Frame::List(list)) => match list {
                List::Groups => At::Groups,
                List::Properties(_) => At::Properties,
                List::PriceTypes => At::PriceTypes,
                List::Warehouses => At::Warehouses,
                List::Units => At::Units,
                List::Products => At::Products,
                List::Offers => At::Offers,
            },
        }
    }

    /// Handles the start of `tag` inside the current frame.
    fn on_child(&mut self, tag: Tag) -> Result<Option<Item>, CmlError> {
        use SectionKind::{Catalog, Classifier, Offers};
        match (self.at(), tag) {
            (At::Root, Tag::Classifier) => {
                self.open_section(Classifier, false);
                Ok(None)
            }
            (At::Root, Tag::Catalog) => {
                self.open_section(Catalog, false);
                Ok(None)
            }
            (At::Root, Tag::Offers) => {
                self.open_section(Offers, false);
                Ok(None)
            }
            (At::Root, Tag::OffersChanges) => {
                self.open_section(Offers, true);
                Ok(None)
            }
            (At::Root, Tag::Document | Tag::Container) => {
                self.skip()?;
                if self.orders_seen {
                    return Ok(None);
                }
                self.orders_seen = true;
                Ok(Some(Item::Orders))
            }
            (At::Section(_), Tag::Id) => {
                let value = self.text()?;
                self.section_mut(|s| s.id = value);
                Ok(None)
            }
            (At::Section(_), Tag::Name) => {
                let value = self.text()?;
                self.section_mut(|s| s.name = value);
                Ok(None)
            }
            (At::Section(Catalog | Offers), Tag::ClassifierId) => {
                let value = self.text()?;
                self.section_mut(|s| s.classifier_id = value);
                Ok(None)
            }
            (At::Section(Offers), Tag::CatalogId) => {
                let value = self.text()?;
                self.section_mut(|s| s.catalog_id = value);
                Ok(None)
            }
            (At::Section(Classifier), Tag::Groups) => Ok(self.open_list(List::Groups)),
            (At::Section(Classifier), Tag::Properties) => Ok(self.open_list(List::Properties(None))),
            (At::Section(Classifier), Tag::Units) => Ok(self.open_list(List::Units)),
            (At::Section(Classifier | Offers), Tag::PriceTypes) => Ok(self.open_list(List::PriceTypes)),
            (At::Section(Classifier | Offers), Tag::Warehouses) => Ok(self.open_list(List::Warehouses)),
            (At::Section(Catalog), Tag::Products) => Ok(self.open_list(List::Products)),
            (At::Section(Offers), Tag::OfferList) => Ok(self.open_list(List::Offers)),
            // ИзмененияПакетаПредложений may list offers without a `Предложения` wrapper.
            (At::Section(Offers), Tag::Offer) => {
                let offer = self.read_offer();
                if offer.as_ref().is_err_and(|e| !e.is_recoverable()) {
                    return offer.map(Some);
                }
                match self.announce_section() {
                    Some(start) => {
                        self.queued = Some(offer);
                        Ok(Some(start))
                    }
                    None => offer.map(Some),
                }
            }
            (At::Groups, Tag::Group) => {
                self.frames.push(Frame::Group(GroupFrame { group: super::Group::default(), announced: false }));
                Ok(None)
            }
            (At::Group, Tag::Id) => {
                let value = self.text()?.unwrap_or_default();
                self.group_mut(|g| g.id = value);
                Ok(None)
            }
            (At::Group, Tag::Name) => {
                let value = self.text()?.unwrap_or_default();
                self.group_mut(|g| g.name = value);
                Ok(None)
            }
            (At::Group, Tag::Description) => {
                let value = self.long_text()?;
                self.group_mut(|g| g.description = value);
                Ok(None)
            }
            (At::Group, Tag::Deleted) => {
                let value = self.flag()?.unwrap_or(false);
                self.group_mut(|g| g.deleted = value);
                Ok(None)
            }
            (At::Group, Tag::Version) => {
                let value = self.text()?;
                self.group_mut(|g| g.version = value);
                Ok(None)
            }
            (At::Group, Tag::Groups | Tag::Properties) => {
                // Children follow: the group itself goes first.
                let Some(Frame::Group(mut group)) = self.frames.pop() else {
                    return Ok(None);
                };
                let announced = if group.announced { Ok(None) } else { self.announce_group(&mut group).map(Some) };
                let group_id = Some(group.group.id.clone()).filter(|id| !id.is_empty());
                self.frames.push(Frame::Group(group));
                self.frames.push(Frame::List(if tag == Tag::Groups {
                    List::Groups
                } else {
                    List::Properties(group_id)
                }));
                announced
            }
            (At::Properties, Tag::Property) => {
                let group_id = match self.frames.last() {
                    Some(Frame::List(List::Properties(group_id))) => group_id.clone(),
                    _ => None,
                };
                self.read_property(group_id).map(Some)
            }
            (At::PriceTypes, Tag::PriceType) => self.read_price_type().map(Some),
            (At::Warehouses, Tag::Warehouse) => self.read_warehouse().map(Some),
            (At::Units, Tag::Unit) => self.read_unit().map(Some),
            (At::Products, Tag::Product) => self.read_product().map(Some),
            (At::Offers, Tag::Offer) => self.read_offer().map(Some),
            _ => {
                self.skip()?;
                Ok(None)
            }
        }
    }

    /// Enters a section; its start item waits until its first list (or its end).
    fn open_section(&mut self, kind: SectionKind, changes: bool) {
        let only_changes = changes || self.take_attr(Tag::OnlyChanges).is_some_and(|v| parse_bool(&v) == Some(true));
        self.frames.push(Frame::Section(Section {
            kind,
            id: None,
            name: None,
            classifier_id: None,
            catalog_id: None,
            only_changes,
            announced: false,
        }));
    }

    /// The section's start item, the first time one of its lists begins.
    fn announce_section(&mut self) -> Option<Item> {
        match self.frames.last_mut() {
            Some(Frame::Section(section)) if !section.announced => Some(section.announce()),
            _ => None,
        }
    }

    fn open_list(&mut self, list: List) -> Option<Item> {
        let start = self.announce_section();
        self.frames.push(Frame::List(list));
        start
    }

    fn section_mut(&mut self, f: impl FnOnce(&mut Section)) {
        if let Some(Frame::Section(section)) = self.frames.last_mut() {
            f(section);
        }
    }

    fn group_mut(&mut self, f: impl FnOnce(&mut super::Group)) {
        if let Some(Frame::Group(group)) = self.frames.last_mut() {
            f(&mut group.group);
        }
    }

    /// The `Group` item of a group frame that is not on the stack; its parent is the
    /// nearest group frame that is.
    fn announce_group(&mut self, frame: &mut GroupFrame) -> Result<Item, CmlError> {
        frame.announced = true;
        if frame.group.id.is_empty() {
            return Err(self.missing("Ид", None));
        }
        let parent_id = self.frames.iter().rev().find_map(|f| match f {
            Frame::Group(parent) if !parent.group.id.is_empty() => Some(parent.group.id.clone()),
            _ => None,
        });
        // Only the id stays in the frame: the children need it as their parent_id.
        let group = &mut frame.group;
        Ok(Item::Group(super::Group {
            id: group.id.clone(),
            parent_id,
            name: std::mem::take(&mut group.name),
            description: group.description.take(),
            deleted: group.deleted,
            version: group.version.take(),
        }))
    }

    // ----- the event layer -------------------------------------------------------------

    /// The next open or close of an element; text is appended to `self.text` when
    /// `collect` is set, and otherwise dropped.
    fn step(&mut self, collect: bool) -> Result<Step, CmlError> {
        if self.pending_pop {
            self.pending_pop = false;
            if let Some(mark) = self.marks.pop() {
                self.path.truncate(mark);
            }
        }
        if self.pending_empty {
            self.pending_empty = false;
            self.pending_pop = true;
            return Ok(Step::Close);
        }
        // Whitespace between elements is skipped by the parser itself (no event at all)
        // unless text is being collected: there, whitespace after `&amp;` is content.
        self.xml.config_mut().trim_text_start = !collect;
        loop {
            self.buf.clear();
            self.xml.get_mut().start_token();
            let event = match self.xml.read_event_into(&mut self.buf) {
                Ok(event) => event,
                Err(error) => return Err(self.xml_error(error)),
            };
            match event {
                Event::Start(ref start) | Event::Empty(ref start) => {
                    let name = local_name(start.name().into_inner().as_bytes());
                    if self.marks.len() >= self.limits.max_depth {
                        let mut path = String::from_utf8_lossy(&self.path).into_owned();
                        path.push('/');
                        path.push_str(&String::from_utf8_lossy(name));
                        return Err(CmlError::TooDeep {
                            path,
                            limit: self.limits.max_depth,
                            position: self.xml.buffer_position(),
                        });
                    }
                    self.marks.push(self.path.len());
                    if !self.path.is_empty() {
                        self.path.push(b'/');
                    }
                    self.path.extend_from_slice(name);
                    let tag = Tag::of(name);
                    if tag.wants_attributes() {
                        self.attrs.clear();
                        for attribute in start.attributes() {
                            let attribute =
                                attribute.map_err(|e| malformed(&self.path, self.xml.buffer_position(), e))?;
                            let key = Tag::of(local_name(attribute.key.into_inner().as_bytes()));
                            if key == Tag::Other {
                                continue;
                            }
                            let value = attribute
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .map_err(|e| malformed(&self.path, self.xml.buffer_position(), e))?;
                            self.attrs.push((key, value.trim().to_owned()));
                        }
                    }
                    self.pending_empty = matches!(event, Event::Empty(_));
                    return Ok(Step::Open(tag));
                }
                Event::End(_) => {
                    self.pending_pop = true;
                    return Ok(Step::Close);
                }
                Event::Text(text) if collect => {
                    // Line ends are normalised (`\r\n` → `\n`) only when there is a `\r`.
                    if text.as_bytes().contains(&b'\r') {
                        let content = text.xml10_content();
                        append(&mut self.text, &mut self.text_over, self.text_cap, &content);
                    } else {
                        append(&mut self.text, &mut self.text_over, self.text_cap, &text);
                    }
                }
                Event::CData(data) if collect => {
                    let content = data.xml10_content();
                    append(&mut self.text, &mut self.text_over, self.text_cap, &content);
                }
                Event::GeneralRef(reference) if collect => {
                    match reference.resolve_char_ref() {
                        Ok(Some(ch)) => self.push_text(ch.encode_utf8(&mut [0; 4])),
                        Ok(None) => {
                            let resolved = match &*reference {
                                "amp" => "&",
                                "lt" => "<",
                                "gt" => ">",
                                "quot" => "\"",
                                "apos" => "'",
                                _ => "",
                            };
                            if resolved.is_empty() {
                                // An entity we do not know: keep it as written.
                                let raw = format!("&{};", &*reference);
                                self.push_text(&raw);
                            } else {
                                self.push_text(resolved);
                            }
                        }
                        Err(error) => return Err(malformed(&self.path, self.xml.buffer_position(), error)),
                    }
                }
                Event::Eof => {
                    if !self.marks.is_empty() {
                        return Err(self.malformed("unexpected end of file (the file is cut short)"));
                    }
                    return Ok(Step::Eof);
                }
                _ => {}
            }
        }
    }

    fn push_text(&mut self, piece: &str) {
        append(&mut self.text, &mut self.text_over, self.text_cap, piece);
    }

    fn xml_error(&mut self, error: quick_xml::Error) -> CmlError {
        let path = String::from_utf8_lossy(&self.path).into_owned();
        match self.xml.get_mut().take_refusal() {
            Some(Refusal::TokenTooLong) => {
                CmlError::TokenTooLong { path, limit: self.limits.max_token, position: self.xml.buffer_position() }
            }
            Some(Refusal::UnsupportedEncoding(label)) => CmlError::UnsupportedEncoding { label },
            None => match error {
                quick_xml::Error::Io(io_error) if io_error.kind() != io::ErrorKind::InvalidData => {
                    CmlError::Io(io::Error::new(io_error.kind(), io_error.to_string()))
                }
                other => CmlError::Malformed {
                    // Where the bad markup starts, when the parser knows it.
                    position: match self.xml.error_position() {
                        0 => self.xml.buffer_position(),
                        start => start,
                    },
                    path,
                    message: other.to_string(),
                },
            },
        }
    }

    fn malformed(&self, message: &str) -> CmlError {
        malformed(&self.path, self.xml.buffer_position(), message)
    }

    /// The next child element of the current element, or `None` at its end.
    fn next_child(&mut self) -> Result<Option<Tag>, CmlError> {
        match self.step(false)? {
            Step::Open(tag) => Ok(Some(tag)),
            Step::Close => Ok(None),
            Step::Eof => Err(self.malformed("unexpected end of file")),
        }
    }

    /// Skips the element just opened, with everything inside.
    fn skip(&mut self) -> Result<(), CmlError> {
        let mut depth = 0usize;
        loop {
            match self.step(false)? {
                Step::Open(_) => depth += 1,
                Step::Close if depth == 0 => return Ok(()),
                Step::Close => depth -= 1,
                Step::Eof => return Err(self.malformed("unexpected end of file")),
            }
        }
    }

    /// Reads the text directly inside the element just opened (child elements are skipped)
    /// into `self.text`, capped at `cap` bytes.
    fn read_text(&mut self, cap: usize) -> Result<(), CmlError> {
        self.text.clear();
        self.text_over = false;
        self.text_cap = cap;
        let mut depth = 0usize;
        loop {
            match self.step(depth == 0)? {
                Step::Open(_) => depth += 1,
                Step::Close if depth == 0 => break,
                Step::Close => depth -= 1,
                Step::Eof => return Err(self.malformed("unexpected end of file")),
            }
        }
        if self.text_over {
            self.text.clear();
            self.defer(CmlError::TooLong {
                path: String::from_utf8_lossy(&self.path).into_owned(),
                limit: cap,
                position: self.xml.buffer_position(),
                id: None,
            });
        }
        self.item_bytes += self.text.len();
        if self.item_bytes > self.limits.max_item_bytes {
            self.text.clear();
            self.defer(CmlError::ItemTooLarge {
                path: String::from_utf8_lossy(&self.path).into_owned(),
                limit: self.limits.max_item_bytes,
                position: self.xml.buffer_position(),
                id: None,
            });
        }
        Ok(())
    }

    /// Trimmed text of the element just opened; `None` when empty.
    fn text(&mut self) -> Result<Option<String>, CmlError> {
        self.read_text(self.limits.max_text)?;
        Ok(non_empty(&self.text))
    }

    /// Like [`Self::text`], with the larger limit for descriptions.
    fn long_text(&mut self) -> Result<Option<String>, CmlError> {
        self.read_text(self.limits.max_description)?;
        Ok(non_empty(&self.text))
    }

    /// A boolean element (`true`/`false`/`1`/`0`); `None` when empty or unrecognised.
    fn flag(&mut self) -> Result<Option<bool>, CmlError> {
        self.read_text(self.limits.max_text)?;
        Ok(parse_bool(&self.text))
    }

    /// A decimal element; a non-number is a deferred `BadNumber` and gives `None`.
    fn decimal(&mut self) -> Result<Option<Decimal>, CmlError> {
        self.read_text(self.limits.max_text)?;
        let text = self.text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        match Decimal::parse(text) {
            Some(value) => Ok(Some(value)),
            None => {
                self.bad_number(None);
                Ok(None)
            }
        }
    }

    /// A decimal element in units of `10^-places`, rounded half away from zero.
    fn scaled(&mut self, places: u8) -> Result<Option<i64>, CmlError> {
        self.read_text(self.limits.max_text)?;
        let text = self.text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        match super::decimal::parse_scaled(text, places) {
            Some(value) => Ok(Some(value)),
            None => {
                self.bad_number(None);
                Ok(None)
            }
        }
    }

    /// Defers a `BadNumber` for `self.text` (or an attribute's value).
    fn bad_number(&mut self, attribute: Option<(Tag, &str)>) {
        let mut path = String::from_utf8_lossy(&self.path).into_owned();
        let value = match attribute {
            Some((tag, value)) => {
                path.push('@');
                path.push_str(tag.name());
                value
            }
            None => self.text.trim(),
        };
        let value: String = value.chars().take(100).collect();
        self.defer(CmlError::BadNumber { path, value, position: self.xml.buffer_position(), id: None });
    }

    /// A `MissingField` for the element just closed (or being read).
    fn missing(&self, field: &'static str, id: Option<&str>) -> CmlError {
        CmlError::MissingField {
            path: String::from_utf8_lossy(&self.path).into_owned(),
            field,
            position: self.xml.buffer_position(),
            id: id.map(str::to_owned),
        }
    }

    /// Remembers the first recoverable error of the current item.
    fn defer(&mut self, error: CmlError) {
        if self.deferred.is_none() {
            self.deferred = Some(error);
        }
    }

    /// Pushes onto a list of the current item unless it is full (then a deferred
    /// `TooMany`).
    fn push_limited<T>(&mut self, list: &mut Vec<T>, value: T) {
        if list.len() < self.limits.max_entries {
            list.push(value);
        } else if self.deferred.is_none() {
            self.deferred = Some(CmlError::TooMany {
                path: String::from_utf8_lossy(&self.path).into_owned(),
                limit: self.limits.max_entries,
                position: self.xml.buffer_position(),
                id: None,
            });
        }
    }

    /// An attribute of the element just opened (trimmed, `None` when empty).
    fn take_attr(&mut self, tag: Tag) -> Option<String> {
        let index = self.attrs.iter().position(|(t, _)| *t == tag)?;
        let (_, value) = self.attrs.swap_remove(index);
        Some(value).filter(|v| !v.is_empty())
    }
}

impl<R: BufRead> Iterator for CmlReader<R> {
    type Item = Result<Item, CmlError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}

impl Section {
    fn announce(&mut self) -> Item {
        self.announced = true;
        let id = self.id.take();
        let name = self.name.take();
        let only_changes = self.only_changes;
        match self.kind {
            SectionKind::Classifier => Item::ClassifierStart { id, name, only_changes },
            SectionKind::Catalog => {
                Item::CatalogStart { id, classifier_id: self.classifier_id.take(), name, only_changes }
            }
            SectionKind::Offers => Item::OffersStart {
                id,
                catalog_id: self.catalog_id.take(),
                classifier_id: self.classifier_id.take(),
                name,
                only_changes,
            },
        }
    }
}

fn malformed(path: &[u8], position: u64, message: impl std::fmt::Display) -> CmlError {
    CmlError::Malformed {
        position,
        path: if path.is_empty() { "(document)".to_owned() } else { String::from_utf8_lossy(path).into_owned() },
        message: message.to_string(),
    }
}

/// The name without its namespace prefix (`cml:Товар` → `Товар`). A byte loop: names are
/// short, and `str::find` costs several times more on Cyrillic ones.
fn local_name(name: &[u8]) -> &[u8] {
    match name.iter().position(|&b| b == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    }
}

/// Appends a piece of an element's text unless that would pass `cap` (then `over` is set
/// and the rest of the element's text is dropped).
fn append(text: &mut String, over: &mut bool, cap: usize, piece: &str) {
    if *over {
        return;
    }
    if text.len() + piece.len() > cap {
        *over = true;
        return;
    }
    text.push_str(piece);
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// `true`/`1` and `false`/`0` (any case, trimmed); `None` otherwise.
fn parse_bool(text: &str) -> Option<bool> {
    let text = text.trim();
    if text == "1" || text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text == "0" || text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
