//! The items a CommerceML catalogue file is made of, one at a time, as plain data.
//!
//! They mirror the XML (1C's identifiers and strings, trimmed; empty elements are `None`)
//! and decide nothing about the store: mapping to the catalogue is the caller's job.

use super::Decimal;

/// One step of a CommerceML document, in document order. See [`CmlReader`](super::CmlReader).
#[derive(Clone, Debug, PartialEq)]
// A Product is large and the other variants are small; items are moved once, to the caller,
// so boxing would only add an allocation per product.
#[allow(clippy::large_enum_variant)]
pub enum Item {
    /// Always the first item: the root `КоммерческаяИнформация`.
    Document {
        /// `ВерсияСхемы` (`2.04` … `2.10`, `3.1`).
        version: Option<String>,
        /// `ДатаФормирования` as written (`2017-08-24T13:51:00`).
        generated_at: Option<String>,
    },
    /// A `Классификатор` begins; its groups, properties, price types, warehouses and units
    /// follow.
    ClassifierStart {
        /// `Ид`.
        id: Option<String>,
        /// `Наименование`.
        name: Option<String>,
        /// `@СодержитТолькоИзменения="true"` (3.x classifiers): a delta, hide nothing.
        only_changes: bool,
    },
    /// `Группы/Группа` at any depth, parents before their children.
    Group(Group),
    /// `Свойства/Свойство` of the classifier, or of a group.
    Property(Property),
    /// `ТипыЦен/ТипЦены` (in `Классификатор` since 2.08, in `ПакетПредложений` before).
    PriceType(PriceType),
    /// `Склады/Склад` (in `Классификатор` or `ПакетПредложений`).
    Warehouse(Warehouse),
    /// `ЕдиницыИзмерения/ЕдиницаИзмерения`.
    Unit(Unit),
    /// A `Каталог` begins; its products follow.
    CatalogStart {
        /// `Ид`.
        id: Option<String>,
        /// `ИдКлассификатора`.
        classifier_id: Option<String>,
        /// `Наименование`.
        name: Option<String>,
        /// `@СодержитТолькоИзменения="true"`: a delta; `false` or absent: the full catalogue
        /// (what is not in it may be hidden after the exchange).
        only_changes: bool,
    },
    /// `Каталог/Товары/Товар`.
    Product(Product),
    /// A `ПакетПредложений` (or `ИзмененияПакетаПредложений`) begins; its price types,
    /// warehouses and offers follow.
    OffersStart {
        /// `Ид` (1C writes `<catalog guid>#`).
        id: Option<String>,
        /// `ИдКаталога`.
        catalog_id: Option<String>,
        /// `ИдКлассификатора`.
        classifier_id: Option<String>,
        /// `Наименование`.
        name: Option<String>,
        /// `@СодержитТолькоИзменения="true"`, and always for `ИзмененияПакетаПредложений`.
        only_changes: bool,
    },
    /// `Предложения/Предложение`.
    Offer(Offer),
    /// The document holds orders (`Документ`, or 3.x `Контейнер`): not a catalogue. Emitted
    /// once; the documents themselves are skipped.
    Orders,
}

/// A catalogue group (category).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Group {
    /// `Ид`.
    pub id: String,
    /// `Ид` of the enclosing group; `None` at the top of the tree.
    pub parent_id: Option<String>,
    /// `Наименование` (empty when missing).
    pub name: String,
    /// `Описание`.
    pub description: Option<String>,
    /// `ПометкаУдаления` (2.08+).
    pub deleted: bool,
    /// `НомерВерсии` (2.08+).
    pub version: Option<String>,
}

/// A property (attribute) definition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Property {
    /// `Ид`.
    pub id: String,
    /// `Ид` of the group when the property is declared in a group's `Свойства`.
    pub group_id: Option<String>,
    /// `Наименование` (empty when missing).
    pub name: String,
    /// `ТипЗначений`: `Строка`, `Число`, `Справочник`, `Дата`, … as written.
    pub value_type: Option<String>,
    /// `ВариантыЗначений/Справочник`: (`ИдЗначения`, `Значение`) in document order.
    pub values: Vec<(String, String)>,
    /// `ДляТоваров`.
    pub for_products: Option<bool>,
    /// `ДляПредложений`.
    pub for_offers: Option<bool>,
    /// `Множественное`.
    pub multiple: bool,
    /// `ПометкаУдаления`.
    pub deleted: bool,
    /// `НомерВерсии`.
    pub version: Option<String>,
}

/// A price type (`Розничная`, `Оптовая`, …).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PriceType {
    /// `Ид`.
    pub id: String,
    /// `Наименование` (empty when missing).
    pub name: String,
    /// `Валюта` (`RUB`, `руб`, `643`, …).
    pub currency: Option<String>,
    /// `Налог/Наименование` (`НДС`).
    pub tax_name: Option<String>,
    /// `Налог/УчтеноВСумме`: whether prices of this type include the tax.
    pub tax_included: Option<bool>,
    /// `ПометкаУдаления`.
    pub deleted: bool,
}

/// A warehouse.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Warehouse {
    /// `Ид`.
    pub id: String,
    /// `Наименование` (empty when missing).
    pub name: String,
    /// `Адрес/Представление` (or the text of `Адрес`).
    pub address: Option<String>,
    /// `ПометкаУдаления`.
    pub deleted: bool,
}

/// A unit of measure.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Unit {
    /// `Ид` (often the OKEI code, `796`).
    pub id: Option<String>,
    /// `Код` (OKEI, `796`).
    pub code: Option<String>,
    /// `НаименованиеКраткое` (`шт`).
    pub short_name: Option<String>,
    /// `НаименованиеПолное` (`Штука`).
    pub full_name: Option<String>,
    /// `МеждународноеСокращение` (`PCE`).
    pub intl: Option<String>,
    /// `ПометкаУдаления`.
    pub deleted: bool,
}

/// A product option (`ХарактеристикиТовара/ХарактеристикаТовара`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Characteristic {
    /// `Ид` (some 1C versions write one).
    pub id: Option<String>,
    /// `Наименование` (`Размер`; empty when missing).
    pub name: String,
    /// `Значение` (`42`); some files list names only.
    pub value: Option<String>,
}

/// A product (`Товар`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Product {
    /// `Ид`.
    pub id: String,
    /// `@Статус` (≤2.07: `Новый`, `Изменен`, `Удален`).
    pub status: Option<String>,
    /// `ПометкаУдаления` is `true`/`1`, or `@Статус="Удален"`.
    pub deleted: bool,
    /// `НомерВерсии`.
    pub version: Option<String>,
    /// `Артикул`.
    pub article: Option<String>,
    /// `Штрихкод`.
    pub barcode: Option<String>,
    /// `Наименование` (empty when missing, e.g. in a deletion record).
    pub name: String,
    /// The requisite `Полное наименование`.
    pub full_name: Option<String>,
    /// `Описание`.
    pub description: Option<String>,
    /// `Описание@ФорматHTML="true"` or the requisite `ОписаниеВФорматеHTML` = `true`.
    pub description_is_html: bool,
    /// `БазоваяЕдиница`: its `@Код` when present, else its text (`796` in 3.1, `шт` in some
    /// CMS files).
    pub unit: Option<String>,
    /// The unit's short name when the code came from `@Код` (`шт`): the element text or
    /// `@НаименованиеКраткое`.
    pub unit_name: Option<String>,
    /// `Группы/Ид`, in order.
    pub groups: Vec<String>,
    /// `Картинка` paths (`import_files/…`), in order.
    pub images: Vec<String>,
    /// `Изготовитель/Наименование` (or `Изготовитель`/`Производитель` text).
    pub manufacturer: Option<String>,
    /// `Страна`.
    pub country: Option<String>,
    /// `ЗначенияСвойств/ЗначенияСвойства`: (property `Ид`, `Значение`), one pair per
    /// non-empty value (a multiple property gives several pairs). For `Справочник`
    /// properties the value is an `ИдЗначения`.
    pub properties: Vec<(String, String)>,
    /// `ЗначенияРеквизитов/ЗначениеРеквизита`: (`Наименование`, `Значение`), empty values
    /// dropped.
    pub requisites: Vec<(String, String)>,
    /// `ХарактеристикиТовара`.
    pub characteristics: Vec<Characteristic>,
    /// `СтавкиНалогов/СтавкаНалога/Ставка` of `НДС` (or the first rate): `20`, `10`,
    /// `Без налога`.
    pub tax_rate: Option<String>,
    /// `Вес` (kilograms) in grams, rounded; or the requisite `Вес`.
    pub weight_grams: Option<i64>,
}

/// A sellable offer (`Предложение`): the product itself or one of its variants.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Offer {
    /// `Ид`: `product` or `product#characteristic`.
    pub id: String,
    /// The part of `Ид` before `#`.
    pub product_id: String,
    /// The part after `#` (or `ИдХарактеристики`); `None` for the product itself.
    pub characteristic_id: Option<String>,
    /// `ПометкаУдаления` or `@Статус="Удален"`.
    pub deleted: bool,
    /// `НомерВерсии`.
    pub version: Option<String>,
    /// `Артикул`.
    pub article: Option<String>,
    /// `Штрихкод`.
    pub barcode: Option<String>,
    /// `Наименование`.
    pub name: Option<String>,
    /// `БазоваяЕдиница` (as for products) or `КодЕдиницыИзмерения`.
    pub unit: Option<String>,
    /// `ХарактеристикиТовара`: the variant's options.
    pub characteristics: Vec<Characteristic>,
    /// `ЗначенияСвойств`: (property `Ид`, `Значение`), empty values dropped.
    pub properties: Vec<(String, String)>,
    /// `Цены/Цена`; `None` when the offer has no `Цены` element (a stock-only file): keep
    /// the prices you have.
    pub prices: Option<Vec<Price>>,
    /// `Количество` (all warehouses); `None` when absent.
    pub quantity: Option<Decimal>,
    /// Stock per warehouse: `Склад@ИдСклада/@КоличествоНаСкладе` (≤2.07) or
    /// `Остатки/Остаток/Склад/{Ид,Количество}` (2.09+, 3.x); `None` when the offer has
    /// neither (a price-only file): keep the stock you have.
    pub stocks: Option<Vec<(String, Decimal)>>,
}

/// One price of an offer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Price {
    /// `ИдТипаЦены`.
    pub price_type_id: String,
    /// `ЦенаЗаЕдиницу` in hundredths (`310.00` → 31000), rounded half away from zero.
    pub amount_minor: i64,
    /// `Валюта`; `None` means the price type's currency.
    pub currency: Option<String>,
    /// `Единица`.
    pub unit: Option<String>,
    /// `Коэффициент`.
    pub factor: Option<String>,
    /// `МинКоличество`.
    pub min_quantity: Option<String>,
    /// `Налог/УчтеноВСумме` (3.1 prices files).
    pub tax_included: Option<bool>,
}
