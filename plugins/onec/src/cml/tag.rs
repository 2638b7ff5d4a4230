//! The element and attribute names the reader understands, looked up by local name.
//!
//! Every start tag goes through [`Tag::of`], so the lookup is a small open-addressing table
//! keyed by a cheap hash of the raw UTF-8 bytes (no decoding, no allocation) instead of a
//! chain of string comparisons.

use std::sync::OnceLock;

macro_rules! tags {
    ($($variant:ident = $name:literal,)*) => {
        /// A known CommerceML name; [`Tag::Other`] for everything else.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Tag {
            $($variant,)*
            Other,
        }

        const NAMES: &[(&str, Tag)] = &[$(($name, Tag::$variant),)*];

        impl Tag {
            /// The CommerceML name (`"?"` for [`Tag::Other`]).
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Tag::$variant => $name,)*
                    Tag::Other => "?",
                }
            }
        }
    };
}

tags! {
    // Document structure.
    Root = "КоммерческаяИнформация",
    Classifier = "Классификатор",
    Catalog = "Каталог",
    Offers = "ПакетПредложений",
    OffersChanges = "ИзмененияПакетаПредложений",
    Document = "Документ",
    Container = "Контейнер",
    // Common children.
    Id = "Ид",
    Name = "Наименование",
    Description = "Описание",
    Deleted = "ПометкаУдаления",
    Version = "НомерВерсии",
    Value = "Значение",
    ClassifierId = "ИдКлассификатора",
    CatalogId = "ИдКаталога",
    // Classifier.
    Groups = "Группы",
    Group = "Группа",
    Properties = "Свойства",
    Property = "Свойство",
    ValueType = "ТипЗначений",
    ValueVariants = "ВариантыЗначений",
    Dictionary = "Справочник",
    ValueId = "ИдЗначения",
    ForProducts = "ДляТоваров",
    ForOffers = "ДляПредложений",
    Multiple = "Множественное",
    PriceTypes = "ТипыЦен",
    PriceType = "ТипЦены",
    Currency = "Валюта",
    Tax = "Налог",
    TaxIncluded = "УчтеноВСумме",
    Warehouses = "Склады",
    Warehouse = "Склад",
    Address = "Адрес",
    Presentation = "Представление",
    Units = "ЕдиницыИзмерения",
    Unit = "ЕдиницаИзмерения",
    Code = "Код",
    ShortName = "НаименованиеКраткое",
    FullName = "НаименованиеПолное",
    IntlAbbr = "МеждународноеСокращение",
    // Products.
    Products = "Товары",
    Product = "Товар",
    Barcode = "Штрихкод",
    Article = "Артикул",
    BaseUnit = "БазоваяЕдиница",
    Picture = "Картинка",
    Manufacturer = "Изготовитель",
    Producer = "Производитель",
    Country = "Страна",
    PropertyValues = "ЗначенияСвойств",
    PropertyValue = "ЗначенияСвойства",
    TaxRates = "СтавкиНалогов",
    TaxRate = "СтавкаНалога",
    Rate = "Ставка",
    Requisites = "ЗначенияРеквизитов",
    Requisite = "ЗначениеРеквизита",
    Characteristics = "ХарактеристикиТовара",
    Characteristic = "ХарактеристикаТовара",
    Weight = "Вес",
    // Offers.
    OfferList = "Предложения",
    Offer = "Предложение",
    Prices = "Цены",
    Price = "Цена",
    PriceTypeId = "ИдТипаЦены",
    PricePerUnit = "ЦенаЗаЕдиницу",
    PriceUnit = "Единица",
    Factor = "Коэффициент",
    MinQuantity = "МинКоличество",
    Quantity = "Количество",
    Rests = "Остатки",
    Rest = "Остаток",
    CharacteristicId = "ИдХарактеристики",
    UnitCode = "КодЕдиницыИзмерения",
    // Attributes.
    SchemaVersion = "ВерсияСхемы",
    GeneratedAt = "ДатаФормирования",
    OnlyChanges = "СодержитТолькоИзменения",
    Status = "Статус",
    WarehouseId = "ИдСклада",
    WarehouseQuantity = "КоличествоНаСкладе",
    HtmlFormat = "ФорматHTML",
}

/// Slots of the open-addressing table (a power of two, about ten times the names).
const SLOTS: usize = 1024;

/// A hash of a name from its length and its first and last 8 bytes: two loads and a
/// multiply. The names differ in length or in their ends (`Наименование`,
/// `НаименованиеПолное`), and a hit is confirmed by comparing the bytes anyway.
fn slot(name: &[u8]) -> usize {
    let n = name.len();
    let (head, tail) = if n >= 8 {
        let mut head = [0u8; 8];
        let mut tail = [0u8; 8];
        head.copy_from_slice(&name[..8]);
        tail.copy_from_slice(&name[n - 8..]);
        (u64::from_le_bytes(head), u64::from_le_bytes(tail))
    } else {
        let mut head = [0u8; 8];
        head[..n].copy_from_slice(name);
        (u64::from_le_bytes(head), 0)
    };
    let mixed = head ^ tail.rotate_left(23) ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 54) as usize & (SLOTS - 1)
}

/// Index + 1 into `NAMES` per slot; 0 = empty.
fn table() -> &'static [u8; SLOTS] {
    static TABLE: OnceLock<[u8; SLOTS]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [0u8; SLOTS];
        for (index, (name, _)) in NAMES.iter().enumerate() {
            let mut at = slot(name.as_bytes());
            while table[at] != 0 {
                at = (at + 1) & (SLOTS - 1);
            }
            table[at] = u8::try_from(index + 1).unwrap_or(0);
        }
        table
    })
}

impl Tag {
    /// The tag of a local name (raw UTF-8 bytes).
    pub(crate) fn of(local_name: &[u8]) -> Tag {
        let table = table();
        let mut at = slot(local_name);
        loop {
            let Some(&(name, tag)) = usize::from(table[at]).checked_sub(1).and_then(|i| NAMES.get(i)) else {
                return Tag::Other;
            };
            if name.as_bytes() == local_name {
                return tag;
            }
            at = (at + 1) & (SLOTS - 1);
        }
    }

    /// Whether the reader keeps this element's attributes.
    pub(crate) fn wants_attributes(self) -> bool {
        matches!(
            self,
            Tag::Root
                | Tag::Classifier
                | Tag::Catalog
                | Tag::Offers
                | Tag::Product
                | Tag::Offer
                | Tag::BaseUnit
                | Tag::Warehouse
                | Tag::Description
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &(name, tag) in NAMES {
            assert_eq!(Tag::of(name.as_bytes()), tag, "{name}");
            assert_eq!(tag.name(), name);
        }
        assert!(NAMES.len() < 255 && NAMES.len() * 4 < SLOTS);
        assert_eq!(table().iter().filter(|&&s| s != 0).count(), NAMES.len());
        let mut sorted: Vec<_> = NAMES.iter().map(|(n, _)| *n).collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), NAMES.len(), "duplicate names");
        assert_eq!(Tag::of(b"Unknown"), Tag::Other);
        assert_eq!(Tag::of(b""), Tag::Other);
    }
}
