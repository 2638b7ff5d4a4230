//! Synthetic CommerceML files shaped like УТ 11 exports (2.09, `urn:1C.ru:commerceml_2`,
//! UTF-8 with a BOM), for benchmarks and round-trip tests.
//!
//! Everything is a pure function of `(seed, index)` (a splitmix64 hash, no RNG state), so
//! [`write_import`] and [`write_offers`] agree on identifiers, and tests can recompute what
//! was written ([`product_id`], [`offer_ids`], [`price_minor`], [`stock`]) without keeping
//! the file's content in memory.
//!
//! Shape: a classifier with [`GROUPS`] groups three levels deep (8 × 4 × 5), [`PROPERTIES`]
//! properties (8 `Справочник` ones with 5–12 values, the second one multiple), 2 price
//! types, 2 warehouses and one unit; products with groups, article, barcode (every third
//! empty), description, picture (every second), property values and requisites, every
//! fifth with characteristics and every 50th marked deleted. Offers: one per product, or
//! three `product#characteristic` variants for every fifth product, with both prices and
//! the stock of both warehouses, alternately in the attribute form (`Склад@ИдСклада`) and the
//! element form (`Остатки/Остаток/Склад`); some quantities fractional, some negative.

use std::io::{self, BufWriter, Write};

use super::Decimal;

/// Groups in the generated classifier.
pub const GROUPS: usize = 200;
/// Properties in the generated classifier.
pub const PROPERTIES: usize = 20;
/// Price types.
pub const PRICE_TYPES: usize = 2;
/// Warehouses.
pub const WAREHOUSES: usize = 2;

const ROOT_GROUPS: usize = 8;
const CHILDREN: usize = 4;
const GRANDCHILDREN: usize = 5;
const FIRST_LEAF: usize = ROOT_GROUPS + ROOT_GROUPS * CHILDREN;
const DICTIONARY_PROPERTIES: usize = 8;

const GROUP: u64 = 1;
const PROPERTY: u64 = 2;
const VALUE: u64 = 3;
const PRICE_TYPE: u64 = 4;
const WAREHOUSE: u64 = 5;
const PRODUCT: u64 = 6;
const CHARACTERISTIC: u64 = 7;
const CATALOG: u64 = 8;
const NUMBERS: u64 = 9;

const HEADER: &str = "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_2\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ВерсияСхемы=\"2.09\" ДатаФормирования=\"2024-03-01T12:00:00\">\n";
const UNIT: &str =
    "<БазоваяЕдиница Код=\"796\" НаименованиеПолное=\"Штука\" МеждународноеСокращение=\"PCE\">шт</БазоваяЕдиница>";
const SIZES: [&str; 3] = ["S", "M", "L"];
const WORDS: [&str; 8] = ["чайник", "кружка", "лампа", "стол", "полка", "коврик", "зонт", "рюкзак"];

/// splitmix64 of (seed, kind, index).
fn mix(seed: u64, kind: u64, index: u64) -> u64 {
    let mut z = seed
        .wrapping_add(kind.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(index.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A GUID in 1C's lower-case 8-4-4-4-12 form.
fn guid(seed: u64, kind: u64, index: u64) -> String {
    let a = mix(seed, kind, index);
    let b = mix(seed ^ 0x5555, kind, index);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// `Ид` of group `index` (0..[`GROUPS`]).
pub fn group_id(seed: u64, index: usize) -> String {
    guid(seed, GROUP, index as u64)
}

/// `Ид` of product `index`.
pub fn product_id(seed: u64, index: usize) -> String {
    guid(seed, PRODUCT, index as u64)
}

/// `Ид` of property `index` (0..[`PROPERTIES`]).
pub fn property_id(seed: u64, index: usize) -> String {
    guid(seed, PROPERTY, index as u64)
}

/// `Ид` of price type `index` (0 = `Розничная`, 1 = `Оптовая`).
pub fn price_type_id(seed: u64, index: usize) -> String {
    guid(seed, PRICE_TYPE, index as u64)
}

/// `Ид` of warehouse `index`.
pub fn warehouse_id(seed: u64, index: usize) -> String {
    guid(seed, WAREHOUSE, index as u64)
}

/// The leaf group product `index` belongs to.
pub fn product_group(index: usize) -> usize {
    FIRST_LEAF + index % (GROUPS - FIRST_LEAF)
}

/// The product's name, unescaped (every seventh contains `&`).
pub fn product_name(index: usize) -> String {
    let word = WORDS[index % WORDS.len()];
    if index % 7 == 0 {
        format!("Товар {index} {word} & Co")
    } else {
        format!("Товар {index} {word}")
    }
}

/// `Артикул` of product `index`.
pub fn article(index: usize) -> String {
    format!("ART-{index:06}")
}

/// Whether product `index` has three variant offers (and characteristics).
pub fn has_variants(index: usize) -> bool {
    index % 5 == 0
}

/// Offers written for `products` products.
pub fn offer_count(products: usize) -> usize {
    products + 2 * products.div_ceil(5)
}

/// The offer `Ид`s of product `index`, in file order.
pub fn offer_ids(seed: u64, index: usize) -> Vec<String> {
    let product = product_id(seed, index);
    if has_variants(index) {
        (0..SIZES.len())
            .map(|k| {
                let characteristic = guid(seed, CHARACTERISTIC, (index * 3 + k) as u64);
                format!("{product}#{characteristic}")
            })
            .collect()
    } else {
        vec![product]
    }
}

/// Price of the `offer`-th offer of the file (counting from 0) for price type `price_type`,
/// in hundredths. The wholesale price (type 1) is 90 % of the retail one.
pub fn price_minor(seed: u64, offer: usize, price_type: usize) -> i64 {
    // 50.00 … 10 049.99
    let retail = 5_000 + (mix(seed, NUMBERS, offer as u64) % 1_000_000) as i64;
    if price_type == 0 {
        retail
    } else {
        retail * 9 / 10
    }
}

/// Stock of the `offer`-th offer at warehouse `warehouse`: 0 … 99, every seventh offer with
/// half units (`12.5`), every eleventh `-1` at the first warehouse.
pub fn stock(seed: u64, offer: usize, warehouse: usize) -> Decimal {
    if offer % 11 == 3 && warehouse == 0 {
        return Decimal::from_int(-1);
    }
    let whole = (mix(seed, NUMBERS + 1 + warehouse as u64, offer as u64) % 100) as i64;
    if offer % 7 == 2 {
        Decimal::new(whole * 10 + 5, 1).unwrap_or(Decimal::ZERO)
    } else {
        Decimal::from_int(whole)
    }
}

/// Whether the `offer`-th offer writes its stock in the attribute form (`Склад@ИдСклада`);
/// the others use `Остатки/Остаток/Склад`.
pub fn stock_in_attributes(offer: usize) -> bool {
    offer % 2 == 0
}

fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['&', '<', '>']) {
        text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").into()
    } else {
        text.into()
    }
}

fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

fn property_values_count(property: usize) -> usize {
    5 + property
}

fn write_classifier(w: &mut impl Write, seed: u64) -> io::Result<()> {
    let catalog = guid(seed, CATALOG, 0);
    writeln!(w, "\t<Классификатор>\n\t\t<Ид>{catalog}</Ид>\n\t\t<Наименование>Классификатор (Основной каталог товаров)</Наименование>")?;
    writeln!(w, "\t\t<Владелец>\n\t\t\t<Ид>{}</Ид>\n\t\t\t<Наименование>ООО \"Ромашка\"</Наименование>\n\t\t\t<ИНН>7701234567</ИНН>\n\t\t</Владелец>", guid(seed, CATALOG, 1))?;
    writeln!(w, "\t\t<Группы>")?;
    for root in 0..ROOT_GROUPS {
        writeln!(w, "\t\t\t<Группа>\n\t\t\t\t<Ид>{}</Ид>\n\t\t\t\t<НомерВерсии>AAAAAQAAAA{root}=</НомерВерсии>\n\t\t\t\t<ПометкаУдаления>false</ПометкаУдаления>\n\t\t\t\t<Наименование>Раздел {root}</Наименование>\n\t\t\t\t<Группы>", group_id(seed, root))?;
        for c in 0..CHILDREN {
            let child = ROOT_GROUPS + root * CHILDREN + c;
            writeln!(w, "\t\t\t\t\t<Группа>\n\t\t\t\t\t\t<Ид>{}</Ид>\n\t\t\t\t\t\t<Наименование>Подраздел {child}</Наименование>\n\t\t\t\t\t\t<Группы>", group_id(seed, child))?;
            for g in 0..GRANDCHILDREN {
                let leaf = FIRST_LEAF + (root * CHILDREN + c) * GRANDCHILDREN + g;
                writeln!(w, "\t\t\t\t\t\t\t<Группа>\n\t\t\t\t\t\t\t\t<Ид>{}</Ид>\n\t\t\t\t\t\t\t\t<Наименование>Группа {leaf}</Наименование>\n\t\t\t\t\t\t\t</Группа>", group_id(seed, leaf))?;
            }
            writeln!(w, "\t\t\t\t\t\t</Группы>\n\t\t\t\t\t</Группа>")?;
        }
        writeln!(w, "\t\t\t\t</Группы>\n\t\t\t</Группа>")?;
    }
    writeln!(w, "\t\t</Группы>\n\t\t<Свойства>")?;
    for p in 0..PROPERTIES {
        let dictionary = p < DICTIONARY_PROPERTIES;
        let value_type = if dictionary {
            "Справочник"
        } else if p % 2 == 0 {
            "Строка"
        } else {
            "Число"
        };
        writeln!(w, "\t\t\t<Свойство>\n\t\t\t\t<Ид>{}</Ид>\n\t\t\t\t<НомерВерсии>AAAAAg{p}==</НомерВерсии>\n\t\t\t\t<ПометкаУдаления>false</ПометкаУдаления>\n\t\t\t\t<Наименование>Свойство {p}</Наименование>\n\t\t\t\t<Обязательное>false</Обязательное>\n\t\t\t\t<Множественное>{}</Множественное>\n\t\t\t\t<ТипЗначений>{value_type}</ТипЗначений>", property_id(seed, p), p == 1)?;
        if dictionary {
            writeln!(w, "\t\t\t\t<ВариантыЗначений>")?;
            for v in 0..property_values_count(p) {
                writeln!(w, "\t\t\t\t\t<Справочник>\n\t\t\t\t\t\t<ИдЗначения>{}</ИдЗначения>\n\t\t\t\t\t\t<Значение>Значение {p}.{v}</Значение>\n\t\t\t\t\t</Справочник>", guid(seed, VALUE, (p * 100 + v) as u64))?;
            }
            writeln!(w, "\t\t\t\t</ВариантыЗначений>")?;
        }
        writeln!(w, "\t\t\t\t<ДляТоваров>true</ДляТоваров>\n\t\t\t\t<ДляПредложений>false</ДляПредложений>\n\t\t\t\t<ДляДокументов>false</ДляДокументов>\n\t\t\t</Свойство>")?;
    }
    writeln!(w, "\t\t</Свойства>")?;
    write_price_types(w, seed, "\t\t")?;
    write_warehouses(w, seed, "\t\t")?;
    writeln!(w, "\t\t<ЕдиницыИзмерения>\n\t\t\t<ЕдиницаИзмерения>\n\t\t\t\t<Ид>796</Ид>\n\t\t\t\t<НомерВерсии>AAAAAQAAABM=</НомерВерсии>\n\t\t\t\t<ПометкаУдаления>false</ПометкаУдаления>\n\t\t\t\t<НаименованиеКраткое>шт</НаименованиеКраткое>\n\t\t\t\t<Код>796</Код>\n\t\t\t\t<НаименованиеПолное>Штука</НаименованиеПолное>\n\t\t\t\t<МеждународноеСокращение>PCE</МеждународноеСокращение>\n\t\t\t</ЕдиницаИзмерения>\n\t\t</ЕдиницыИзмерения>")?;
    writeln!(w, "\t</Классификатор>")
}

fn write_price_types(w: &mut impl Write, seed: u64, indent: &str) -> io::Result<()> {
    writeln!(w, "{indent}<ТипыЦен>")?;
    for (t, name) in ["Розничная", "Оптовая"].iter().enumerate() {
        writeln!(w, "{indent}\t<ТипЦены>\n{indent}\t\t<Ид>{}</Ид>\n{indent}\t\t<Наименование>{name}</Наименование>\n{indent}\t\t<Валюта>RUB</Валюта>\n{indent}\t\t<Налог>\n{indent}\t\t\t<Наименование>НДС</Наименование>\n{indent}\t\t\t<УчтеноВСумме>true</УчтеноВСумме>\n{indent}\t\t\t<Акциз>false</Акциз>\n{indent}\t\t</Налог>\n{indent}\t</ТипЦены>", price_type_id(seed, t))?;
    }
    writeln!(w, "{indent}</ТипыЦен>")
}

fn write_warehouses(w: &mut impl Write, seed: u64, indent: &str) -> io::Result<()> {
    writeln!(w, "{indent}<Склады>")?;
    for (s, name) in ["Основной склад", "Магазин на Тверской"].iter().enumerate() {
        writeln!(w, "{indent}\t<Склад>\n{indent}\t\t<Ид>{}</Ид>\n{indent}\t\t<Наименование>{name}</Наименование>\n{indent}\t\t<Комментарий/>\n{indent}\t</Склад>", warehouse_id(seed, s))?;
    }
    writeln!(w, "{indent}</Склады>")
}

fn write_product(w: &mut impl Write, seed: u64, i: usize) -> io::Result<()> {
    let id = product_id(seed, i);
    let name = product_name(i);
    let name = escape(&name);
    let r = mix(seed, PRODUCT + 100, i as u64);
    writeln!(w, "\t\t\t<Товар>\n\t\t\t\t<Ид>{id}</Ид>\n\t\t\t\t<НомерВерсии>AAAB{:08x}=</НомерВерсии>\n\t\t\t\t<ПометкаУдаления>{}</ПометкаУдаления>", r as u32, i % 50 == 49)?;
    if i % 3 == 2 {
        writeln!(w, "\t\t\t\t<Штрихкод/>")?;
    } else {
        writeln!(w, "\t\t\t\t<Штрихкод>46{:011}</Штрихкод>", r % 100_000_000_000)?;
    }
    writeln!(w, "\t\t\t\t<Артикул>{}</Артикул>\n\t\t\t\t<Наименование>{name}</Наименование>\n\t\t\t\t{UNIT}\n\t\t\t\t<Группы>\n\t\t\t\t\t<Ид>{}</Ид>\n\t\t\t\t</Группы>", article(i), group_id(seed, product_group(i)))?;
    writeln!(w, "\t\t\t\t<Описание>{name} — надёжная вещь для дома и дачи. Размеры, материалы и уход указаны в характеристиках; гарантия 12 месяцев, доставка по всей России.</Описание>")?;
    if i % 2 == 0 {
        writeln!(w, "\t\t\t\t<Картинка>import_files/{}/{id}.jpg</Картинка>", &id[..2])?;
    }
    writeln!(w, "\t\t\t\t<Страна>Россия</Страна>\n\t\t\t\t<ЗначенияСвойств>")?;
    for p in [0usize, 1, 2, 9, 12, 15] {
        write!(w, "\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{}</Ид>\n", property_id(seed, p))?;
        if p < DICTIONARY_PROPERTIES {
            let count = property_values_count(p);
            writeln!(w, "\t\t\t\t\t\t<Значение>{}</Значение>", guid(seed, VALUE, (p * 100 + i % count) as u64))?;
            if p == 1 {
                writeln!(
                    w,
                    "\t\t\t\t\t\t<Значение>{}</Значение>",
                    guid(seed, VALUE, (p * 100 + (i + 1) % count) as u64)
                )?;
            }
        } else if p == 15 {
            writeln!(w, "\t\t\t\t\t\t<Значение/>")?;
        } else if p % 2 == 0 {
            writeln!(w, "\t\t\t\t\t\t<Значение>строка {i}</Значение>")?;
        } else {
            writeln!(w, "\t\t\t\t\t\t<Значение>{}.5</Значение>", i % 1000)?;
        }
        writeln!(w, "\t\t\t\t\t</ЗначенияСвойства>")?;
    }
    writeln!(w, "\t\t\t\t</ЗначенияСвойств>\n\t\t\t\t<СтавкиНалогов>\n\t\t\t\t\t<СтавкаНалога>\n\t\t\t\t\t\t<Наименование>НДС</Наименование>\n\t\t\t\t\t\t<Ставка>20</Ставка>\n\t\t\t\t\t</СтавкаНалога>\n\t\t\t\t</СтавкиНалогов>")?;
    writeln!(w, "\t\t\t\t<ЗначенияРеквизитов>\n\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>ВидНоменклатуры</Наименование>\n\t\t\t\t\t\t<Значение>Товар</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>ТипНоменклатуры</Наименование>\n\t\t\t\t\t\t<Значение>Товар</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>Полное наименование</Наименование>\n\t\t\t\t\t\t<Значение>{name} (полное)</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n\t\t\t\t</ЗначенияРеквизитов>")?;
    if has_variants(i) {
        writeln!(w, "\t\t\t\t<ХарактеристикиТовара>\n\t\t\t\t\t<ХарактеристикаТовара>\n\t\t\t\t\t\t<Наименование>Размер</Наименование>\n\t\t\t\t\t\t<Значение>S, M, L</Значение>\n\t\t\t\t\t</ХарактеристикаТовара>\n\t\t\t\t</ХарактеристикиТовара>")?;
    }
    writeln!(w, "\t\t\t\t<Вес>{}.{:03}</Вес>\n\t\t\t</Товар>", i % 20, (i * 37) % 1000)
}

/// Writes a catalogue (`Классификатор` + `Каталог` with `products` products).
pub fn write_import(w: impl Write, products: usize, seed: u64) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(64 << 10, w);
    w.write_all(HEADER.as_bytes())?;
    write_classifier(&mut w, seed)?;
    let catalog = guid(seed, CATALOG, 0);
    writeln!(w, "\t<Каталог СодержитТолькоИзменения=\"false\">\n\t\t<Ид>{catalog}</Ид>\n\t\t<ИдКлассификатора>{catalog}</ИдКлассификатора>\n\t\t<Наименование>Основной каталог товаров</Наименование>\n\t\t<Товары>")?;
    for i in 0..products {
        write_product(&mut w, seed, i)?;
    }
    writeln!(w, "\t\t</Товары>\n\t</Каталог>\n</КоммерческаяИнформация>")?;
    w.flush()
}

/// Writes an offers package (`ПакетПредложений` with price types, warehouses and the
/// offers of `products` products: [`offer_count`] offers).
pub fn write_offers(w: impl Write, products: usize, seed: u64) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(64 << 10, w);
    w.write_all(HEADER.as_bytes())?;
    let catalog = guid(seed, CATALOG, 0);
    writeln!(w, "\t<ПакетПредложений СодержитТолькоИзменения=\"false\">\n\t\t<Ид>{catalog}#</Ид>\n\t\t<Наименование>Пакет предложений (Основной каталог товаров)</Наименование>\n\t\t<ИдКаталога>{catalog}</ИдКаталога>\n\t\t<ИдКлассификатора>{catalog}</ИдКлассификатора>")?;
    write_price_types(&mut w, seed, "\t\t")?;
    write_warehouses(&mut w, seed, "\t\t")?;
    writeln!(w, "\t\t<Предложения>")?;
    let warehouses = [warehouse_id(seed, 0), warehouse_id(seed, 1)];
    let price_types = [price_type_id(seed, 0), price_type_id(seed, 1)];
    let mut offer = 0usize;
    for i in 0..products {
        let name = product_name(i);
        let name = escape(&name);
        for (k, id) in offer_ids(seed, i).into_iter().enumerate() {
            writeln!(w, "\t\t\t<Предложение>\n\t\t\t\t<Ид>{id}</Ид>\n\t\t\t\t<Артикул>{}</Артикул>", article(i))?;
            if has_variants(i) {
                writeln!(w, "\t\t\t\t<Наименование>{name} ({size})</Наименование>\n\t\t\t\t{UNIT}\n\t\t\t\t<ХарактеристикиТовара>\n\t\t\t\t\t<ХарактеристикаТовара>\n\t\t\t\t\t\t<Наименование>Размер</Наименование>\n\t\t\t\t\t\t<Значение>{size}</Значение>\n\t\t\t\t\t</ХарактеристикаТовара>\n\t\t\t\t</ХарактеристикиТовара>", size = SIZES[k])?;
            } else {
                writeln!(w, "\t\t\t\t<Наименование>{name}</Наименование>\n\t\t\t\t{UNIT}")?;
            }
            writeln!(w, "\t\t\t\t<Цены>")?;
            for (t, type_id) in price_types.iter().enumerate() {
                let minor = price_minor(seed, offer, t);
                writeln!(w, "\t\t\t\t\t<Цена>\n\t\t\t\t\t\t<Представление>{} RUB за шт</Представление>\n\t\t\t\t\t\t<ИдТипаЦены>{type_id}</ИдТипаЦены>\n\t\t\t\t\t\t<ЦенаЗаЕдиницу>{}</ЦенаЗаЕдиницу>\n\t\t\t\t\t\t<Валюта>RUB</Валюта>\n\t\t\t\t\t\t<Единица>шт</Единица>\n\t\t\t\t\t\t<Коэффициент>1</Коэффициент>\n\t\t\t\t\t</Цена>", money(minor).replace('.', ","), money(minor))?;
            }
            writeln!(w, "\t\t\t\t</Цены>")?;
            let stocks = [stock(seed, offer, 0), stock(seed, offer, 1)];
            let total = Decimal::new(stocks[0].to_scaled(1).unwrap_or(0) + stocks[1].to_scaled(1).unwrap_or(0), 1)
                .unwrap_or(Decimal::ZERO);
            writeln!(w, "\t\t\t\t<Количество>{total}</Количество>")?;
            if stock_in_attributes(offer) {
                for (warehouse, quantity) in warehouses.iter().zip(stocks) {
                    writeln!(w, "\t\t\t\t<Склад ИдСклада=\"{warehouse}\" КоличествоНаСкладе=\"{quantity}\"/>")?;
                }
            } else {
                writeln!(w, "\t\t\t\t<Остатки>")?;
                for (warehouse, quantity) in warehouses.iter().zip(stocks) {
                    writeln!(w, "\t\t\t\t\t<Остаток>\n\t\t\t\t\t\t<Склад>\n\t\t\t\t\t\t\t<Ид>{warehouse}</Ид>\n\t\t\t\t\t\t\t<Количество>{quantity}</Количество>\n\t\t\t\t\t\t</Склад>\n\t\t\t\t\t</Остаток>")?;
                }
                writeln!(w, "\t\t\t\t</Остатки>")?;
            }
            writeln!(w, "\t\t\t</Предложение>")?;
            offer += 1;
        }
    }
    writeln!(w, "\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>")?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_guid_shaped() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_import(&mut a, 30, 7).unwrap();
        write_import(&mut b, 30, 7).unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with("\u{FEFF}<?xml".as_bytes()));
        let id = product_id(7, 3);
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_ne!(product_id(7, 3), product_id(8, 3));
        assert_eq!(offer_count(10), 14);
        assert_eq!(offer_ids(7, 0).len(), 3);
        assert_eq!(offer_ids(7, 1).len(), 1);
    }
}
