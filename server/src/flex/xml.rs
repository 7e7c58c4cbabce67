//! Streaming reader of Flex statement XML (`FlexQueryResponse / FlexStatements /
//! FlexStatement / Trades / Trade`), one row at a time in bounded memory.
//!
//! Trade rows are read from the `Trades` section of Activity statements and the
//! `TradeConfirms` section of Trade Confirmation statements. A row with
//! `levelOfDetail="EXECUTION"` (or, on older exports, a `Trade` without the attribute) is an
//! execution; `ORDER`, `CLOSED_LOT`, `ASSET_SUMMARY`, `SYMBOL_SUMMARY` and other summary rows
//! are counted and skipped, and so are the other sections of the statement.
//!
//! Hostile input is refused: a document type declaration (and with it every entity
//! declaration: only XML's predefined entities are read), nesting deeper than
//! [`MAX_DEPTH`], and a document whose root is not `FlexQueryResponse` ("not a Flex
//! statement"). Errors name the line and column.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::collections::BTreeMap;
use std::io::BufRead;

/// Deepest element nesting accepted (a statement needs 6).
pub const MAX_DEPTH: usize = 32;

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlexXmlError {
    #[error("malformed XML at line {line}, column {column}: {message}")]
    Malformed {
        line: u64,
        column: u64,
        message: String,
    },
    #[error("not a Flex statement: {0}")]
    NotFlex(String),
}

/// A statement's header: whose it is and what period it covers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatementInfo {
    pub account: String,
    pub from_date: Option<String>,
    pub to_date: Option<String>,
    pub period: Option<String>,
    pub when_generated: Option<String>,
}

/// One execution row: the element's name and its attributes in document order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlexRow {
    pub element: String,
    pub attrs: Vec<(String, String)>,
    /// Line of the row in the document, for reports.
    pub line: u64,
}

impl FlexRow {
    /// The trimmed value of an attribute; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The whole row as a JSON object (attribute → string value), the raw record.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("_element".into(), self.element.clone().into());
        for (k, v) in &self.attrs {
            map.insert(k.clone(), v.clone().into());
        }
        serde_json::Value::Object(map)
    }
}

/// What the reader yields.
#[derive(Debug, Clone, PartialEq)]
pub enum FlexItem {
    Statement(StatementInfo),
    Row(FlexRow),
}

/// Counts of what was read but not imported.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ReadCounts {
    /// Summary rows of the trade sections, by `levelOfDetail` (or element name).
    pub summary_rows_skipped: BTreeMap<String, usize>,
    /// Other sections of the statements, by element name (each occurrence counted once).
    pub sections_ignored: BTreeMap<String, usize>,
}

/// Keeps the byte offset of every line start consumed, to turn offsets into positions.
struct Lines<R> {
    inner: R,
    offset: u64,
    starts: Vec<u64>,
}

impl<R: BufRead> std::io::Read for Lines<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(out.len());
            out[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Lines<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            for (i, b) in buf[..amt.min(buf.len())].iter().enumerate() {
                if *b == b'\n' {
                    self.starts.push(self.offset + i as u64 + 1);
                }
            }
        }
        self.offset += amt as u64;
        self.inner.consume(amt);
    }
}

impl<R> Lines<R> {
    /// 1-based line and column of a byte offset already consumed.
    fn position(&self, offset: u64) -> (u64, u64) {
        let line = self.starts.partition_point(|s| *s <= offset);
        let start = if line == 0 { 0 } else { self.starts[line - 1] };
        (line as u64 + 1, offset - start + 1)
    }
}

/// The streaming reader.
pub struct FlexReader<R: BufRead> {
    reader: Reader<Lines<R>>,
    buf: Vec<u8>,
    stack: Vec<String>,
    seen_root: bool,
    pub counts: ReadCounts,
}

const TRADE_SECTIONS: [&str; 2] = ["Trades", "TradeConfirms"];
const EXECUTION_ELEMENTS: [&str; 2] = ["Trade", "TradeConfirm"];

impl<R: BufRead> FlexReader<R> {
    pub fn new(input: R) -> Self {
        let mut reader = Reader::from_reader(Lines {
            inner: input,
            offset: 0,
            starts: Vec::new(),
        });
        reader.config_mut().trim_text(true);
        reader.config_mut().check_end_names = true;
        FlexReader {
            reader,
            buf: Vec::new(),
            stack: Vec::new(),
            seen_root: false,
            counts: ReadCounts::default(),
        }
    }

    fn malformed_at(&self, offset: u64, message: impl Into<String>) -> FlexXmlError {
        let (line, column) = self.reader.get_ref().position(offset);
        FlexXmlError::Malformed {
            line,
            column,
            message: message.into(),
        }
    }

    fn here(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// The next statement header or execution row; `None` at the end of the document.
    pub fn next_item(&mut self) -> Result<Option<FlexItem>, FlexXmlError> {
        loop {
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(e) => e.into_owned(),
                Err(e) => {
                    let at = self.reader.error_position();
                    return Err(self.malformed_at(at, e.to_string()));
                }
            };
            match event {
                Event::DocType(_) => {
                    return Err(self.malformed_at(
                        self.here(),
                        "document type declarations (and entity declarations) are refused",
                    ))
                }
                Event::Start(start) => {
                    let item = self.open(&start)?;
                    self.stack.push(name_of(&start));
                    if self.stack.len() > MAX_DEPTH {
                        return Err(self.malformed_at(
                            self.here(),
                            format!("elements nested deeper than {MAX_DEPTH} levels"),
                        ));
                    }
                    if let Some(item) = item {
                        return Ok(Some(item));
                    }
                }
                Event::Empty(start) => {
                    if let Some(item) = self.open(&start)? {
                        return Ok(Some(item));
                    }
                }
                Event::End(_) => {
                    self.stack.pop();
                }
                Event::GeneralRef(r) => {
                    let name = String::from_utf8_lossy(&r).into_owned();
                    if !matches!(name.as_str(), "lt" | "gt" | "amp" | "apos" | "quot")
                        && !name.starts_with('#')
                    {
                        return Err(self.malformed_at(
                            self.here(),
                            format!("unknown entity `&{name};` (entities are not expanded)"),
                        ));
                    }
                }
                Event::Eof => {
                    if !self.seen_root {
                        return Err(FlexXmlError::NotFlex(
                            "the document has no root element".into(),
                        ));
                    }
                    if let Some(open) = self.stack.last() {
                        return Err(self.malformed_at(
                            self.here(),
                            format!("the document ends inside `<{open}>`"),
                        ));
                    }
                    return Ok(None);
                }
                _ => {}
            }
        }
    }

    /// Handles an opening (or empty) element at the current depth.
    fn open(&mut self, start: &BytesStart) -> Result<Option<FlexItem>, FlexXmlError> {
        let name = name_of(start);
        let depth = self.stack.len();
        if depth == 0 {
            if self.seen_root {
                return Err(self.malformed_at(self.here(), "a second root element"));
            }
            self.seen_root = true;
            if name != "FlexQueryResponse" {
                return Err(FlexXmlError::NotFlex(format!(
                    "the root element is `<{name}>`, not `<FlexQueryResponse>`"
                )));
            }
            // Still read the attributes: a malformed one is an error here too.
            self.attributes(start)?;
            return Ok(None);
        }
        let attrs = self.attributes(start)?;
        let parent = self.stack.last().map(String::as_str).unwrap_or("");
        if name == "FlexStatement" && parent == "FlexStatements" {
            let get = |k: &str| {
                attrs
                    .iter()
                    .find(|(a, _)| a == k)
                    .map(|(_, v)| v.trim().to_string())
                    .filter(|v| !v.is_empty())
            };
            return Ok(Some(FlexItem::Statement(StatementInfo {
                account: get("accountId").unwrap_or_default(),
                from_date: get("fromDate"),
                to_date: get("toDate"),
                period: get("period"),
                when_generated: get("whenGenerated"),
            })));
        }
        if parent == "FlexStatement" && !TRADE_SECTIONS.contains(&name.as_str()) {
            *self.counts.sections_ignored.entry(name).or_default() += 1;
            return Ok(None);
        }
        if TRADE_SECTIONS.contains(&parent) {
            let level = attrs
                .iter()
                .find(|(k, _)| k == "levelOfDetail")
                .map(|(_, v)| v.trim().to_ascii_uppercase());
            let is_execution = match &level {
                Some(l) => l == "EXECUTION",
                None => EXECUTION_ELEMENTS.contains(&name.as_str()),
            };
            if !is_execution {
                let key = level.unwrap_or_else(|| name.clone());
                *self.counts.summary_rows_skipped.entry(key).or_default() += 1;
                return Ok(None);
            }
            let (line, _) = self.reader.get_ref().position(self.here());
            return Ok(Some(FlexItem::Row(FlexRow {
                element: name,
                attrs,
                line,
            })));
        }
        Ok(None)
    }

    fn attributes(&self, start: &BytesStart) -> Result<Vec<(String, String)>, FlexXmlError> {
        let mut out = Vec::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| self.malformed_at(self.here(), e.to_string()))?;
            let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
            let value = attr
                .decode_and_unescape_value(self.reader.decoder())
                .map_err(|e| self.malformed_at(self.here(), format!("attribute `{key}`: {e}")))?
                .into_owned();
            out.push((key, value));
        }
        Ok(out)
    }
}

fn name_of(start: &BytesStart) -> String {
    String::from_utf8_lossy(start.name().as_ref()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(xml: &str) -> Result<(Vec<FlexItem>, ReadCounts), FlexXmlError> {
        let mut r = FlexReader::new(xml.as_bytes());
        let mut items = Vec::new();
        while let Some(item) = r.next_item()? {
            items.push(item);
        }
        Ok((items, r.counts))
    }

    #[test]
    fn reads_execution_rows_and_counts_the_rest() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<FlexQueryResponse queryName="q" type="AF">
<FlexStatements count="1">
<FlexStatement accountId="U123" fromDate="20261101" toDate="20261130" period="LastMonth">
<AccountInformation accountId="U123"/>
<Trades>
<Trade levelOfDetail="EXECUTION" ibExecID="0001.01" symbol="A&amp;B"/>
<Trade tradeID="7" ibExecID="0002.01"/>
<Order levelOfDetail="ORDER" ibOrderID="1"/>
<Lot levelOfDetail="CLOSED_LOT"/>
<SymbolSummary levelOfDetail="SYMBOL_SUMMARY"/>
<AssetSummary levelOfDetail="ASSET_SUMMARY"/>
</Trades>
<CashTransactions><CashTransaction amount="1"/></CashTransactions>
</FlexStatement>
</FlexStatements>
</FlexQueryResponse>"#;
        let (items, counts) = read_all(xml).unwrap();
        assert_eq!(items.len(), 3);
        let FlexItem::Statement(s) = &items[0] else {
            panic!()
        };
        assert_eq!(s.account, "U123");
        assert_eq!(s.from_date.as_deref(), Some("20261101"));
        let FlexItem::Row(row) = &items[1] else {
            panic!()
        };
        assert_eq!(row.get("symbol"), Some("A&B"));
        assert_eq!(row.line, 7);
        let FlexItem::Row(old) = &items[2] else {
            panic!()
        };
        assert_eq!(old.get("tradeID"), Some("7"));
        assert_eq!(counts.summary_rows_skipped.values().sum::<usize>(), 4);
        assert_eq!(counts.summary_rows_skipped["ORDER"], 1);
        assert_eq!(counts.sections_ignored["AccountInformation"], 1);
        assert_eq!(counts.sections_ignored["CashTransactions"], 1);
    }

    #[test]
    fn malformed_xml_names_line_and_column() {
        let xml = "<FlexQueryResponse>\n<FlexStatements>\n<FlexStatement accountId=\"U1\">\n<Trades>\n<Trade a=\"1\" b=2/>\n";
        let err = read_all(xml).unwrap_err();
        let FlexXmlError::Malformed { line, column, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, 5, "{err}");
        assert!(*column >= 1);
        let err = read_all("<FlexQueryResponse>\n<FlexStatements>\n</FlexQueryResponse>")
            .unwrap_err();
        assert!(matches!(err, FlexXmlError::Malformed { line: 3, .. }), "{err}");
        let err = read_all("<FlexQueryResponse>\n<FlexStatements>").unwrap_err();
        assert!(err.to_string().contains("ends inside"), "{err}");
    }

    #[test]
    fn entities_and_deep_nesting_are_refused() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>
<FlexQueryResponse><FlexStatements><FlexStatement accountId="U1"><Trades>
<Trade ibExecID="&lol2;"/></Trades></FlexStatement></FlexStatements></FlexQueryResponse>"#;
        let err = read_all(bomb).unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        let undeclared = r#"<FlexQueryResponse><FlexStatements><FlexStatement accountId="U1"><Trades>
<Trade ibExecID="&xxe;"/></Trades></FlexStatement></FlexStatements></FlexQueryResponse>"#;
        assert!(read_all(undeclared).is_err());
        let deep = format!(
            "<FlexQueryResponse>{}{}</FlexQueryResponse>",
            "<a>".repeat(40),
            "</a>".repeat(40)
        );
        let err = read_all(&deep).unwrap_err();
        assert!(err.to_string().contains("deeper"), "{err}");
    }

    #[test]
    fn other_documents_are_not_flex_statements() {
        for doc in ["<html><body/></html>", "", "   ", "<FlexStatementResponse/>"] {
            let err = read_all(doc).unwrap_err();
            assert!(matches!(err, FlexXmlError::NotFlex(_)), "{doc}: {err}");
        }
    }
}
