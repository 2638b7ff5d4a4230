//! The CommerceML reader against the real files in `../shared/fixtures/1c` (facts read from
//! the files by hand), hostile input, and the generator's output read back.

use std::io::Cursor;
use std::path::PathBuf;

use megashop_onec::cml::{gen, CmlError, CmlReader, Decimal, Item, Limits, Offer, Product};

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/1c").join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// All items of a document; panics on any error.
fn items(bytes: &[u8]) -> Vec<Item> {
    CmlReader::new(Cursor::new(bytes)).collect::<Result<Vec<_>, _>>().unwrap()
}

/// Reads to the end and returns the items and every error met.
fn read_all(bytes: &[u8], limits: Limits) -> (Vec<Item>, Vec<CmlError>) {
    let mut reader = CmlReader::with_limits(Cursor::new(bytes), limits);
    let (mut items, mut errors) = (Vec::new(), Vec::new());
    loop {
        match reader.next_item() {
            Ok(Some(item)) => items.push(item),
            Ok(None) => break,
            Err(e) => errors.push(e),
        }
        assert!(items.len() + errors.len() < 1_000_000, "the reader loops");
    }
    (items, errors)
}

#[derive(Default, Debug)]
struct Counts {
    groups: usize,
    properties: usize,
    price_types: usize,
    warehouses: usize,
    units: usize,
    products: usize,
    offers: usize,
    orders: usize,
}

fn counts(items: &[Item]) -> Counts {
    let mut c = Counts::default();
    for item in items {
        match item {
            Item::Group(_) => c.groups += 1,
            Item::Property(_) => c.properties += 1,
            Item::PriceType(_) => c.price_types += 1,
            Item::Warehouse(_) => c.warehouses += 1,
            Item::Unit(_) => c.units += 1,
            Item::Product(_) => c.products += 1,
            Item::Offer(_) => c.offers += 1,
            Item::Orders => c.orders += 1,
            _ => {}
        }
    }
    c
}

fn products(items: &[Item]) -> Vec<&Product> {
    items.iter().filter_map(|i| if let Item::Product(p) = i { Some(p) } else { None }).collect()
}

fn offers(items: &[Item]) -> Vec<&Offer> {
    items.iter().filter_map(|i| if let Item::Offer(o) = i { Some(o) } else { None }).collect()
}

fn version(items: &[Item]) -> Option<&str> {
    match items.first() {
        Some(Item::Document { version, .. }) => version.as_deref(),
        other => panic!("the first item is not the document: {other:?}"),
    }
}

fn d(text: &str) -> Decimal {
    Decimal::parse(text).unwrap()
}

// ----- catalogue fixtures ------------------------------------------------------------------

#[test]
fn carono_import_2_07() {
    let items = items(&fixture("carono-import.xml"));
    assert_eq!(version(&items), Some("2.07"));
    let c = counts(&items);
    assert_eq!((c.groups, c.properties, c.products, c.offers, c.orders), (22, 10, 2, 0, 0));

    assert!(items.contains(&Item::ClassifierStart {
        id: Some("07cfe53d-5145-4c4e-a81c-899be39cc5bd".into()),
        name: Some("Классификатор (Каталог товаров 07CFE53D)".into()),
        only_changes: false,
    }));
    assert!(items.contains(&Item::CatalogStart {
        id: Some("07cfe53d-5145-4c4e-a81c-899be39cc5bd".into()),
        classifier_id: Some("07cfe53d-5145-4c4e-a81c-899be39cc5bd".into()),
        name: Some("Каталог товаров 07CFE53D".into()),
        only_changes: false,
    }));

    // Group tree: parents before children, parent_id from the enclosing group.
    let groups: Vec<_> = items.iter().filter_map(|i| if let Item::Group(g) = i { Some(g) } else { None }).collect();
    assert_eq!(groups.iter().filter(|g| g.parent_id.is_none()).count(), 7);
    let series = groups.iter().find(|g| g.id == "f3257ce7-9c2f-11e1-a282-0011955bd175").unwrap();
    assert_eq!(series.name, "Бытовая техника с учетом серий, гарантия 12 мес.");
    assert_eq!(series.parent_id.as_deref(), Some("453d6e1a-7233-11e0-8636-0011951d229d"));
    for (i, g) in groups.iter().enumerate() {
        if let Some(parent) = &g.parent_id {
            assert!(groups[..i].iter().any(|p| &p.id == parent), "{} before its parent", g.name);
        }
    }

    let maker = items
        .iter()
        .find_map(|i| match i {
            Item::Property(p) if p.id == "bb14a4b8-6b17-11e0-9819-e0cb4ed5eed4" => Some(p),
            _ => None,
        })
        .unwrap();
    assert_eq!(maker.name, "Производитель");
    assert_eq!(maker.value_type.as_deref(), Some("Справочник"));
    assert_eq!(maker.values.len(), 7);
    assert_eq!(maker.values[0], ("444bbea3-6b18-11e0-9819-e0cb4ed5eed4".into(), "Обувной комбинат".into()));

    let p = products(&items)[0];
    assert_eq!(p.id, "bd72d910-55bc-11d9-848a-00112f43529a");
    assert_eq!(p.name, "Женские ботфорты коричневые");
    assert_eq!(p.full_name.as_deref(), Some("Женские ботфорты коричневые"));
    assert_eq!(p.article.as_deref(), Some("Б-130001"));
    assert_eq!(p.barcode.as_deref(), Some("2000018987155"));
    assert_eq!(p.unit.as_deref(), Some("715"), "БазоваяЕдиница@Код with only a Пересчет inside");
    assert_eq!(p.groups, ["e5a4c309-a659-11dd-acee-0015e9b8c48d"]);
    assert_eq!(p.description, None, "<Описание/>");
    assert_eq!(p.images.len(), 3);
    assert!(p.images[0].starts_with("import_files/9d/9da00149441011e19bb10015174048b8_"));
    assert_eq!(p.properties.len(), 4);
    assert!(p.properties.contains(&("444bbea0-6b18-11e0-9819-e0cb4ed5eed4".into(), "ООО Рога и копыта".into())));
    assert_eq!(p.requisites.len(), 4);
    assert!(p.requisites.contains(&("ВидНоменклатуры".into(), "Обувь".into())));
    assert!(!p.deleted);
    let second = products(&items)[1];
    assert_eq!(second.barcode, None, "no Штрихкод element");
    assert_eq!(second.article.as_deref(), Some("Б- 130005"));
}

#[test]
fn carono_import_without_classifier() {
    let items = items(&fixture("carono-import_wo_classifier.xml"));
    let c = counts(&items);
    assert_eq!((c.groups, c.properties, c.products), (0, 0, 2));
    assert!(!items.iter().any(|i| matches!(i, Item::ClassifierStart { .. })));
    assert!(matches!(&items[1], Item::CatalogStart { only_changes: false, .. }));
    let p = products(&items)[1];
    assert_eq!(p.name, "Ботинки женские демисезонные");
    assert_eq!(p.properties.len(), 3);
}

/// carono-classifier.xml is a bare `Классификатор` (a fragment cut from carono-import.xml,
/// no `КоммерческаяИнформация` root): the reader refuses it, and reads it once wrapped.
#[test]
fn carono_classifier_fragment() {
    let bytes = fixture("carono-classifier.xml");
    let err = CmlReader::new(Cursor::new(&bytes)).next_item().unwrap_err();
    assert!(matches!(&err, CmlError::NotCommerceMl { root } if root == "Классификатор"), "{err}");
    assert_eq!(err.code(), "not_commerceml");

    let mut wrapped = "<КоммерческаяИнформация ВерсияСхемы=\"2.07\">".as_bytes().to_vec();
    wrapped.extend_from_slice(&bytes);
    wrapped.extend_from_slice("</КоммерческаяИнформация>".as_bytes());
    let items = items(&wrapped);
    let c = counts(&items);
    assert_eq!((c.groups, c.properties), (22, 10));
    let toy = items.iter().rev().find_map(|i| if let Item::Property(p) = i { Some(p) } else { None }).unwrap();
    assert_eq!(toy.name, "Размер игрушки");
    assert_eq!(toy.values.last(), Some(&("444bbf65-6b18-11e0-9819-e0cb4ed5eed4".into(), "100".into())));
}

#[test]
fn carono_offers_2_07() {
    let items = items(&fixture("carono-offers.xml"));
    let c = counts(&items);
    assert_eq!((c.price_types, c.warehouses, c.offers, c.groups), (1, 5, 5, 0));
    // The classifier holds only Ид/Наименование/Владелец: announced at its end.
    assert!(
        matches!(&items[1], Item::ClassifierStart { id: Some(id), .. } if id == "07cfe53d-5145-4c4e-a81c-899be39cc5bd")
    );
    assert!(items.contains(&Item::OffersStart {
        id: Some("07cfe53d-5145-4c4e-a81c-899be39cc5bd#".into()),
        catalog_id: Some("07cfe53d-5145-4c4e-a81c-899be39cc5bd".into()),
        classifier_id: Some("07cfe53d-5145-4c4e-a81c-899be39cc5bd".into()),
        name: Some("Пакет предложений ( Каталог товаров 07CFE53D )".into()),
        only_changes: false,
    }));
    let retail = items.iter().find_map(|i| if let Item::PriceType(p) = i { Some(p) } else { None }).unwrap();
    assert_eq!(retail.id, "bb14a3a4-6b17-11e0-9819-e0cb4ed5eed4");
    assert_eq!(retail.name, "Розничная");
    assert_eq!(retail.currency.as_deref(), Some("RUB"));
    assert_eq!(retail.tax_name.as_deref(), Some("НДС"));
    assert_eq!(retail.tax_included, Some(true));
    let shop = items.iter().find_map(|i| if let Item::Warehouse(w) = i { Some(w) } else { None }).unwrap();
    assert_eq!(shop.name, "Магазин \"Обувь\"");
    assert_eq!(shop.address.as_deref(), Some("РОССИЯ ,Москва г ,Москва г ,34 ,1 ,"));

    let all = offers(&items);
    let o = all[0];
    assert_eq!(o.id, "bd72d910-55bc-11d9-848a-00112f43529a#90c55447-d3a8-11e4-9423-e0cb4ed5eed4");
    assert_eq!(o.product_id, "bd72d910-55bc-11d9-848a-00112f43529a");
    assert_eq!(o.characteristic_id.as_deref(), Some("90c55447-d3a8-11e4-9423-e0cb4ed5eed4"));
    assert_eq!(o.name.as_deref(), Some("Женские ботфорты коричневые (38)"));
    assert_eq!(o.unit.as_deref(), Some("715"));
    let prices = o.prices.as_ref().unwrap();
    assert_eq!(prices.len(), 1);
    assert_eq!(prices[0].price_type_id, "bb14a3a4-6b17-11e0-9819-e0cb4ed5eed4");
    assert_eq!(prices[0].amount_minor, 171_900);
    assert_eq!(prices[0].currency.as_deref(), Some("RUB"));
    assert_eq!(prices[0].factor.as_deref(), Some("1"));
    assert_eq!(o.quantity, Some(d("20")));
    assert_eq!(o.stocks, Some(vec![("b6112590-41ba-11dd-ac9d-0015e9b8c48d".to_owned(), d("20"))]));
    let options: Vec<_> =
        o.characteristics.iter().map(|c| (c.name.as_str(), c.value.as_deref().unwrap_or(""))).collect();
    assert_eq!(options, [("Размер", "40"), ("Тип кожи", "натуральная кожа"), ("Цвет", "Коричневый")]);
    assert_eq!(o.characteristics[0].id.as_deref(), Some("14ed8b06-55bd-11d9-848a-00112f43529a"));

    let total: i64 = all.iter().flat_map(|o| o.prices.iter().flatten()).map(|p| p.amount_minor).sum();
    assert_eq!(total, 710_400);
    let stock: i64 = all.iter().flat_map(|o| o.stocks.iter().flatten()).map(|(_, q)| q.floor()).sum();
    assert_eq!(stock, 219);
}

#[test]
fn gillbeits_prices_2_09() {
    let items = items(&fixture("gillbeits-prices___d66a6b51-ce9c-4e7a-8c7c-25079721107f.xml"));
    assert_eq!(version(&items), Some("2.09"));
    assert!(matches!(&items[1], Item::OffersStart { only_changes: true, catalog_id: Some(c), .. }
        if c == "86bca4ea-eb3a-4beb-b0d6-2090dbef560e"));
    let all = offers(&items);
    assert_eq!(all.len(), 978);
    assert!(all.iter().all(|o| o.stocks.is_none() && o.quantity.is_none()), "a price file must not touch stock");
    assert!(all.iter().all(|o| o.characteristic_id.is_none()));
    let first = all[0];
    assert_eq!(first.id, "26b0dc1e-4d66-11e4-99fe-003048c64779");
    assert_eq!(first.product_id, first.id);
    let price = &first.prices.as_ref().unwrap()[0];
    assert_eq!((price.price_type_id.as_str(), price.amount_minor), ("4d968229-47ba-11e4-a628-003048c64779", 18_100));
    let total: i64 = all.iter().flat_map(|o| o.prices.iter().flatten()).map(|p| p.amount_minor).sum();
    assert_eq!(total, 36_656_300);
    let dearest = all.iter().find(|o| o.id == "0bddb965-a79f-11e4-a4a8-003048c64779").unwrap();
    assert_eq!(dearest.prices.as_ref().unwrap()[0].amount_minor, 373_500);
}

#[test]
fn gillbeits_rests_2_09() {
    let items = items(&fixture("gillbeits-rests___1af6e7b8-a026-4690-9752-1c9d64cb914d.xml"));
    let all = offers(&items);
    assert_eq!(all.len(), 978);
    assert!(all.iter().all(|o| o.prices.is_none()), "a rests file must not touch prices");
    assert!(all.iter().all(|o| o.stocks.as_ref().is_some_and(|s| s.len() == 1)));
    let most = all.iter().find(|o| o.id == "6ec61808-b910-11e4-a4a8-003048c64779").unwrap();
    assert_eq!(most.stocks, Some(vec![("5d1caeb1-44b2-11e4-a628-003048c64779".to_owned(), d("113"))]));
    let total: i64 = all.iter().flat_map(|o| o.stocks.iter().flatten()).map(|(_, q)| q.floor()).sum();
    assert_eq!(total, 1924);
    let nonzero = all.iter().flat_map(|o| o.stocks.iter().flatten()).filter(|(_, q)| *q != Decimal::ZERO).count();
    assert_eq!(nonzero, 226);
}

#[test]
fn irpsv_classifier_3_1() {
    let items = items(&fixture("irpsv-bm6-import-classifier-3.1.xml"));
    assert_eq!(version(&items), Some("3.1"));
    let c = counts(&items);
    assert_eq!((c.groups, c.price_types, c.warehouses, c.units, c.products), (1, 8, 12, 1, 0));
    assert!(items.contains(&Item::ClassifierStart {
        id: Some("3471fae0-92bc-47f5-8234-db142906215a".into()),
        name: Some("Основной каталог товаров".into()),
        only_changes: true,
    }));
    assert!(items.iter().any(|i| matches!(i, Item::Group(g)
        if g.id == "94dcb60e-616e-498e-9332-e9991143bbf6" && g.name == "OSki" && !g.deleted
            && g.version.as_deref() == Some("123") && g.parent_id.is_none())));
    let types: Vec<_> = items.iter().filter_map(|i| if let Item::PriceType(p) = i { Some(p) } else { None }).collect();
    let euro = types.iter().find(|t| t.name == "Отпускная, евро").unwrap();
    assert_eq!((euro.currency.as_deref(), euro.tax_included), (Some("EUR"), Some(false)));
    let purchase = types.iter().find(|t| t.id == "aef2c175-1862-11de-9d9d-001a4d4b12d9").unwrap();
    assert_eq!(purchase.tax_included, Some(true));
    assert!(items.contains(&Item::Unit(megashop_onec::cml::Unit {
        id: Some("796".into()),
        code: Some("796".into()),
        short_name: Some("шт".into()),
        full_name: Some("штука".into()),
        intl: None,
        deleted: false,
    })));
    // The catalogue has no Товары: announced at its end; Описание after the header is fine.
    assert!(matches!(items.last(), Some(Item::CatalogStart { only_changes: true, .. })));
}

#[test]
fn irpsv_goods_import_3_1() {
    let items = items(&fixture("irpsv-bm6-goods-import-3.1.xml"));
    let all = products(&items);
    assert_eq!(all.len(), 21);
    assert!(matches!(&items[1], Item::CatalogStart { only_changes: true, .. }));
    // 3.1: `<БазоваяЕдиница>796 </БазоваяЕдиница>` is the bare code.
    assert!(all.iter().all(|p| p.unit.as_deref() == Some("796") && p.unit_name.is_none()));
    assert!(all.iter().all(|p| p.tax_rate.as_deref() == Some("Без налога")));
    assert!(all.iter().all(|p| !p.deleted && p.barcode.is_none() && p.article.is_none() && p.country.is_none()));
    assert!(all.iter().all(|p| p.requisites.len() == 4), "the empty requisite is dropped");
    assert!(all.iter().all(|p| p.weight_grams == Some(0)));
    let first = all[0];
    assert_eq!(first.id, "afc7eb78-8172-11e7-948c-00155d020201");
    assert_eq!(first.name, "Parallels Desktop for Mac Pro Lic");
    assert_eq!(first.version.as_deref(), Some("AAABVwAAAAA=49842"));
    assert_eq!(first.groups, ["94dcb60e-616e-498e-9332-e9991143bbf6"]);
    assert!(first.properties.is_empty(), "nine empty <Значение/>");
    assert!(first.requisites.contains(&("Код".into(), "С0006746".into())));
    let last = all[20];
    assert_eq!(last.name, "Windows 10 Education Lic");
    assert_eq!(last.properties.len(), 9);
    // A multiple property: the same Ид three times.
    let multi: Vec<_> = last
        .properties
        .iter()
        .filter(|(id, _)| id == "a12e5f86-5835-11e4-9440-00155d020201")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        multi,
        [
            "5463c32e-ab87-11e4-944a-00155d020201",
            "c87d33f2-ab88-11e4-944a-00155d020201",
            "5463c330-ab87-11e4-944a-00155d020201"
        ]
    );
}

#[test]
fn irpsv_goods_offers_3_1() {
    let items = items(&fixture("irpsv-bm6-goods-offers-3.1.xml"));
    let all = offers(&items);
    assert_eq!(all.len(), 86);
    assert!(all.iter().all(|o| o.characteristic_id.is_some() && o.prices.is_none() && o.stocks.is_none()));
    assert!(all.iter().all(|o| o.characteristics.is_empty()), "<ХарактеристикиТовара/>");
    assert_eq!(all.iter().filter(|o| o.deleted).count(), 6);
    let o = all[0];
    assert_eq!(o.product_id, "73bde82a-26e6-11e6-9472-00155d020201");
    assert_eq!(o.characteristic_id.as_deref(), Some("daccfacb-26e6-11e6-9472-00155d020201"));
    assert_eq!(
        o.name.as_deref(),
        Some("Сертифицированная ОС Роса DX Хром 1.0 пользовательская Lic (RL 00610, бессрочная, лицензия + базовая техподдержка 1 год)")
    );
    assert_eq!(o.properties[0], ("7e688b4f-ebaf-11e3-9437-00155d020201".into(), "RL 00610".into()));
    assert_eq!(all.iter().map(|o| o.properties.len()).sum::<usize>(), 404);
    let deleted =
        all.iter().find(|o| o.id == "56ece96f-ae16-11e5-9468-00155d020201#d708d39f-168c-11e6-946e-00155d020201");
    assert!(deleted.is_some_and(|o| o.deleted));
}

#[test]
fn irpsv_goods_prices_3_1() {
    let items = items(&fixture("irpsv-bm6-goods-prices-3.1.xml"));
    let all = offers(&items);
    assert_eq!(all.len(), 86);
    let o = all[0];
    assert_eq!(o.id, "235ccc6d-ab81-11e4-944a-00155d020201#a5abd77f-93f6-11e5-9468-00155d020201");
    let price = &o.prices.as_ref().unwrap()[0];
    // Представление "2 042,66 руб. за шт" is never parsed; ЦенаЗаЕдиницу is.
    assert_eq!(price.amount_minor, 204_266);
    assert_eq!(price.price_type_id, "aef2c177-1862-11de-9d9d-001a4d4b12d9");
    assert_eq!(price.currency.as_deref(), Some("руб"));
    assert_eq!(price.tax_included, Some(true), "Налог inside Цена");
    let total: i64 = all.iter().flat_map(|o| o.prices.iter().flatten()).map(|p| p.amount_minor).sum();
    assert_eq!(total, 390_876_373);
    let dearest =
        all.iter().find(|o| o.id == "73bde822-26e6-11e6-9472-00155d020201#daccfa98-26e6-11e6-9472-00155d020201");
    assert_eq!(dearest.unwrap().prices.as_ref().unwrap()[0].amount_minor, 75_000_000);
}

#[test]
fn irpsv_goods_rests_3_1() {
    let items = items(&fixture("irpsv-bm6-goods-rests-3.1.xml"));
    let all = offers(&items);
    assert_eq!(all.len(), 86);
    assert!(all.iter().all(|o| o.prices.is_none() && o.quantity.is_none()));
    assert!(all
        .iter()
        .all(|o| o.stocks.as_ref().is_some_and(|s| s.len() == 12 && s.iter().all(|(_, q)| *q == Decimal::ZERO))));
    assert_eq!(all[0].stocks.as_ref().unwrap()[0].0, "be3dfd89-0ac5-11e1-84f0-00241d886595");
}

#[test]
fn argent_remainders_3_1() {
    let items = items(&fixture("argent-remainders-3.1.xml"));
    let all = offers(&items);
    assert_eq!(all.len(), 2);
    let stocks = all[1].stocks.as_ref().unwrap();
    assert_eq!(stocks.len(), 7);
    assert!(stocks.contains(&("a3d8885d-d931-11e6-a8e7-38d547224d22".to_owned(), d("29"))));
    let total: i64 = all.iter().flat_map(|o| o.stocks.iter().flatten()).map(|(_, q)| q.floor()).sum();
    assert_eq!(total, 70);
}

#[test]
fn from_path_reads_a_file() {
    let mut reader = CmlReader::from_path(&fixture_path("carono-import_wo_classifier.xml")).unwrap();
    assert!(matches!(reader.next_item().unwrap(), Some(Item::Document { .. })));
    assert_eq!(reader.schema_version(), Some("2.07"));
    let rest: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(counts(&rest).products, 2);
    assert!(reader.next_item().unwrap().is_none(), "fused");
    assert!(matches!(CmlReader::from_path(&fixture_path("no-such-file.xml")).map(|_| ()), Err(CmlError::Io(_))));
}

// ----- orders documents ----------------------------------------------------------------

#[test]
fn orders_documents_are_recognised() {
    for (name, expected) in [
        ("carono-orders.xml", "2.03"),
        ("dobromyslov-bitrix-query-response-full.xml", "2.05"),
        ("irpsv-1c-official-orders-2.03.xml", "2.03"),
        ("irpsv-bm6-documents-from-1c-3.1.xml", "3.1"),
        ("argent-documents-2.09.xml", "2.09"),
    ] {
        let items = items(&fixture(name));
        assert_eq!(version(&items), Some(expected), "{name}");
        assert_eq!(&items[1..], [Item::Orders], "{name}");
    }
    // An answer without orders is an empty root.
    let items = items(&fixture("dobromyslov-bitrix-query-response-empty.xml"));
    assert_eq!(items.len(), 1);
    assert_eq!(version(&items), Some("2.05"));
}

// ----- encodings and namespaces ------------------------------------------------------------

#[test]
fn windows_1251_catalogue_reads_like_utf8() {
    let utf8 = fixture("carono-import.xml");
    let text = std::str::from_utf8(&utf8).unwrap().trim_start_matches('\u{FEFF}');
    let text = text.replacen("encoding=\"UTF-8\"", "encoding=\"windows-1251\"", 1);
    let (cp1251, _, unmappable) = encoding_rs::WINDOWS_1251.encode(&text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&cp1251).is_err(), "really single-byte Cyrillic");
    assert_eq!(items(&cp1251), items(&utf8));
}

#[test]
fn windows_1251_orders_are_decoded() {
    // dobromyslov's answer is windows-1251 throughout, names included.
    let mut reader = CmlReader::new(Cursor::new(fixture("dobromyslov-bitrix-query-response-full.xml")));
    assert!(
        matches!(reader.next_item().unwrap(), Some(Item::Document { generated_at: Some(at), .. }) if at == "2021-02-12T17:03:19")
    );
    assert_eq!(reader.next_item().unwrap(), Some(Item::Orders));
}

#[test]
fn utf8_without_bom_and_prefixed_names() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<cml:КоммерческаяИнформация xmlns:cml="urn:1C.ru:commerceml_2" ВерсияСхемы="2.10">
  <cml:Каталог cml:СодержитТолькоИзменения="true">
    <cml:Товары><cml:Товар><cml:Ид>p1</cml:Ид><cml:Наименование>Чай &amp; кофе &#8470;1 &#x41;<![CDATA[ <b>]]></cml:Наименование></cml:Товар></cml:Товары>
  </cml:Каталог>
</cml:КоммерческаяИнформация>"#;
    let items = items(xml.as_bytes());
    assert_eq!(version(&items), Some("2.10"));
    assert!(matches!(&items[1], Item::CatalogStart { only_changes: true, .. }));
    assert_eq!(products(&items)[0].name, "Чай & кофе №1 A <b>");
}

#[test]
fn unsupported_encoding() {
    let err =
        CmlReader::new(Cursor::new(&br#"<?xml version="1.0" encoding="x-klingon"?><a/>"#[..])).next_item().unwrap_err();
    assert!(matches!(&err, CmlError::UnsupportedEncoding { label } if label == "x-klingon"), "{err}");
}

// ----- tolerance ----------------------------------------------------------------------------

const HEAD: &str = "<КоммерческаяИнформация ВерсияСхемы=\"2.05\"><Каталог><Товары>";
const TAIL: &str = "</Товары></Каталог></КоммерческаяИнформация>";

fn catalogue(products: &str) -> Vec<u8> {
    format!("{HEAD}{products}{TAIL}").into_bytes()
}

#[test]
fn unknown_and_empty_elements_and_status() {
    let xml = catalogue(
        "<Неизвестно><Товар><Ид>not-a-product</Ид></Товар></Неизвестно>\
         <Товар Статус=\"Удален\"><Ид> p1 </Ид><Штрихкод/><Артикул>   </Артикул><Новое а=\"1\"><Ид>x</Ид></Новое>\
           <БазоваяЕдиница Код=\"796\" НаименованиеПолное=\"Штука\">шт</БазоваяЕдиница>\
           <Изготовитель><Ид>m</Ид><Наименование>Завод</Наименование></Изготовитель>\
           <Описание ФорматHTML=\"true\">&lt;p&gt;Hi&lt;/p&gt;</Описание>\
           <ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Вес</Наименование><Значение>1.2345</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>\
           <СтавкиНалогов><СтавкаНалога><Наименование>Акциз</Наименование><Ставка>5</Ставка></СтавкаНалога>\
             <СтавкаНалога><Наименование>НДС</Наименование><Ставка>20</Ставка></СтавкаНалога></СтавкиНалогов>\
         </Товар>\
         <Товар><Ид>p2</Ид><ПометкаУдаления>1</ПометкаУдаления><Изготовитель>Фабрика</Изготовитель></Товар>",
    );
    let items = items(&xml);
    let all = products(&items);
    assert_eq!(all.len(), 2);
    let p = all[0];
    assert_eq!(p.id, "p1");
    assert_eq!(p.status.as_deref(), Some("Удален"));
    assert!(p.deleted);
    assert_eq!((p.barcode.as_deref(), p.article.as_deref()), (None, None));
    assert_eq!((p.unit.as_deref(), p.unit_name.as_deref()), (Some("796"), Some("шт")));
    assert_eq!(p.manufacturer.as_deref(), Some("Завод"));
    assert!(p.description_is_html);
    assert_eq!(p.description.as_deref(), Some("<p>Hi</p>"));
    assert_eq!(p.weight_grams, Some(1235), "requisite Вес in kg, rounded half away");
    assert_eq!(p.tax_rate.as_deref(), Some("20"), "НДС wins");
    assert!(all[1].deleted);
    assert_eq!(all[1].manufacturer.as_deref(), Some("Фабрика"));
}

#[test]
fn offers_in_every_stock_form() {
    let xml = "<КоммерческаяИнформация><ПакетПредложений><Предложения>\
        <Предложение><Ид>a</Ид><Количество>2.5</Количество>\
          <Склад ИдСклада=\"w1\" КоличествоНаСкладе=\"-1.5\"/><Склад ИдСклада=\"w2\" КоличествоНаСкладе=\"4\"/></Предложение>\
        <Предложение><Ид>b#c</Ид><Остатки><Остаток><Количество>7</Количество></Остаток></Остатки><Цены/></Предложение>\
        <Предложение><Ид>d#</Ид><Цены><Цена><ИдТипаЦены>t</ИдТипаЦены><ЦенаЗаЕдиницу>0.005</ЦенаЗаЕдиницу>\
          <Единица>шт</Единица><МинКоличество>2</МинКоличество></Цена></Цены></Предложение>\
      </Предложения></ПакетПредложений>\
      <ИзмененияПакетаПредложений><Предложение><Ид>e</Ид><ИдХарактеристики>f</ИдХарактеристики>\
        <КодЕдиницыИзмерения>796</КодЕдиницыИзмерения><Склады><Склад><ИдСклада>w1</ИдСклада><Количество>3</Количество></Склад></Склады>\
      </Предложение></ИзмененияПакетаПредложений></КоммерческаяИнформация>";
    let items = items(xml.as_bytes());
    let all = offers(&items);
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].quantity, Some(d("2.5")));
    assert_eq!(all[0].stocks, Some(vec![("w1".into(), d("-1.5")), ("w2".into(), d("4"))]));
    assert_eq!(all[0].prices, None);
    assert_eq!(all[1].product_id, "b");
    assert_eq!(all[1].characteristic_id.as_deref(), Some("c"));
    assert_eq!(all[1].quantity, Some(d("7")), "Остаток/Количество without a warehouse is the total");
    assert_eq!(all[1].stocks, Some(vec![]));
    assert_eq!(all[1].prices, Some(vec![]), "an empty Цены is still a Цены");
    assert_eq!((all[2].product_id.as_str(), all[2].characteristic_id.as_deref()), ("d", None));
    let price = &all[2].prices.as_ref().unwrap()[0];
    assert_eq!((price.amount_minor, price.unit.as_deref(), price.min_quantity.as_deref()), (1, Some("шт"), Some("2")));
    let change = all[3];
    assert_eq!(
        (change.id.as_str(), change.product_id.as_str(), change.characteristic_id.as_deref()),
        ("e#f", "e", Some("f"))
    );
    assert_eq!(change.unit.as_deref(), Some("796"));
    assert_eq!(change.stocks, Some(vec![("w1".into(), d("3"))]));
    assert!(items.iter().filter(|i| matches!(i, Item::OffersStart { .. })).count() == 2);
    assert!(matches!(
        items.iter().rev().find(|i| matches!(i, Item::OffersStart { .. })),
        Some(Item::OffersStart { only_changes: true, .. })
    ));
}

#[test]
fn empty_root() {
    let items = items("<КоммерческаяИнформация ВерсияСхемы=\"3.1\"/>".as_bytes());
    assert_eq!(items.len(), 1);
    assert_eq!(version(&items), Some("3.1"));
}

// ----- errors -------------------------------------------------------------------------------

#[test]
fn item_errors_are_recoverable() {
    let xml = catalogue(
        "<Товар><Наименование>no id</Наименование></Товар>\
         <Товар><Ид>ok1</Ид></Товар>",
    );
    let (items, errors) = read_all(&xml, Limits::default());
    assert_eq!(products(&items).len(), 1);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code(), "missing_field");
    assert!(errors[0].is_recoverable());
    assert!(errors[0].to_string().contains("Товары/Товар"), "{}", errors[0]);

    let xml = "<КоммерческаяИнформация><ПакетПредложений><Предложения>\
        <Предложение><Ид>bad</Ид><Цены><Цена><ИдТипаЦены>t</ИдТипаЦены><ЦенаЗаЕдиницу>12,50</ЦенаЗаЕдиницу></Цена></Цены></Предложение>\
        <Предложение><Ид>good</Ид><Цены><Цена><ИдТипаЦены>t</ИдТипаЦены><ЦенаЗаЕдиницу>12.50</ЦенаЗаЕдиницу></Цена></Цены></Предложение>\
        </Предложения></ПакетПредложений></КоммерческаяИнформация>";
    let (items, errors) = read_all(xml.as_bytes(), Limits::default());
    assert_eq!(offers(&items).len(), 1);
    assert_eq!(offers(&items)[0].prices.as_ref().unwrap()[0].amount_minor, 1250);
    assert!(
        matches!(&errors[..], [CmlError::BadNumber { value, id: Some(id), .. }] if value == "12,50" && id == "bad"),
        "{errors:?}"
    );
}

#[test]
fn over_long_text_skips_the_item() {
    let long = "я".repeat(40_000); // 80 KB > 64 KiB
    let xml =
        catalogue(&format!("<Товар><Ид>p1</Ид><Наименование>{long}</Наименование></Товар><Товар><Ид>p2</Ид></Товар>"));
    let (read, errors) = read_all(&xml, Limits::default());
    assert_eq!(products(&read).iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["p2"]);
    assert!(matches!(&errors[..], [CmlError::TooLong { limit: 65536, id: Some(id), .. }] if id == "p1"), "{errors:?}");
    assert_eq!(errors[0].code(), "text_too_long");

    // Descriptions may be larger …
    let description = "a".repeat(1 << 20);
    let xml = catalogue(&format!("<Товар><Ид>p1</Ид><Описание>{description}</Описание></Товар>"));
    assert_eq!(products(&items(&xml))[0].description.as_ref().map(String::len), Some(1 << 20));
    // … up to 4 MiB.
    let description = "a".repeat((4 << 20) + 1);
    let xml = catalogue(&format!("<Товар><Ид>p1</Ид><Описание>{description}</Описание></Товар>"));
    let (_, errors) = read_all(&xml, Limits::default());
    assert!(matches!(&errors[..], [CmlError::TooLong { .. }]), "{errors:?}");
}

#[test]
fn one_huge_token_is_fatal() {
    let limits = Limits { max_token: 10_000, ..Limits::default() };
    let xml = catalogue(&format!(
        "<Товар><Ид>p1</Ид><Описание>{}</Описание></Товар><Товар><Ид>p2</Ид></Товар>",
        "b".repeat(50_000)
    ));
    let (items, errors) = read_all(&xml, limits.clone());
    assert!(products(&items).is_empty());
    assert!(matches!(&errors[..], [CmlError::TokenTooLong { limit: 10_000, .. }]), "{errors:?}");
    assert!(!errors[0].is_recoverable());
    // A giant attribute (one start tag) too.
    let xml = format!("<КоммерческаяИнформация a=\"{}\"/>", "c".repeat(50_000));
    let (_, errors) = read_all(xml.as_bytes(), limits);
    assert!(matches!(&errors[..], [CmlError::TokenTooLong { .. }]), "{errors:?}");
}

#[test]
fn too_many_entries() {
    let limits = Limits { max_entries: 5, ..Limits::default() };
    let pictures: String = (0..6).map(|i| format!("<Картинка>{i}.jpg</Картинка>")).collect();
    let xml = catalogue(&format!(
        "<Товар><Ид>p1</Ид>{pictures}</Товар><Товар><Ид>p2</Ид>{}</Товар>",
        &pictures[..pictures.len() / 2]
    ));
    let (items, errors) = read_all(&xml, limits);
    assert_eq!(products(&items).len(), 1);
    assert!(matches!(&errors[..], [CmlError::TooMany { limit: 5, .. }]), "{errors:?}");
    assert_eq!(errors[0].code(), "too_many_entries");
}

#[test]
fn one_item_has_a_text_budget() {
    let limits = Limits { max_item_bytes: 1000, ..Limits::default() };
    let pictures: String = (0..20).map(|i| format!("<Картинка>import_files/{i:0>90}.jpg</Картинка>")).collect();
    let xml = catalogue(&format!(
        "<Товар><Ид>big</Ид>{pictures}</Товар><Товар><Ид>small</Ид><Картинка>a.jpg</Картинка></Товар>"
    ));
    let (items, errors) = read_all(&xml, limits);
    assert_eq!(products(&items).iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["small"]);
    assert!(
        matches!(&errors[..], [CmlError::ItemTooLarge { limit: 1000, id: Some(id), .. }] if id == "big"),
        "{errors:?}"
    );
    assert_eq!(errors[0].code(), "item_too_large");
}

#[test]
fn group_tree_four_levels_with_group_properties() {
    let xml = "<КоммерческаяИнформация><Классификатор><Ид>c</Ид><Группы>\
        <Группа><Ид>a</Ид><Наименование>A</Наименование>\
          <Свойства><Свойство><Ид>pa</Ид><Наименование>Только в A</Наименование><Множественное>true</Множественное></Свойство></Свойства>\
          <Группы><Группа><Ид>b</Ид><Наименование>B</Наименование><Группы>\
            <Группа><Ид>c1</Ид><Наименование>C</Наименование><Группы><Группа><Ид>d</Ид><Наименование>D</Наименование>\
              <ПометкаУдаления>true</ПометкаУдаления><Описание>Четвёртый уровень</Описание></Группа></Группы></Группа>\
          </Группы></Группа></Группы></Группа>\
        <Группа><Ид>e</Ид><Наименование>E</Наименование></Группа>\
      </Группы><Свойства><Свойство><Ид>p</Ид><Наименование>Общее</Наименование><ТипЗначений>Строка</ТипЗначений></Свойство></Свойства>\
      </Классификатор></КоммерческаяИнформация>";
    let items = items(xml.as_bytes());
    let summary: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            Item::Group(g) => Some(format!("G {} < {}", g.id, g.parent_id.as_deref().unwrap_or("-"))),
            Item::Property(p) => Some(format!("P {} in {}", p.id, p.group_id.as_deref().unwrap_or("-"))),
            _ => None,
        })
        .collect();
    assert_eq!(summary, ["G a < -", "P pa in a", "G b < a", "G c1 < b", "G d < c1", "G e < -", "P p in -"]);
    let d = items.iter().find_map(|i| if let Item::Group(g) = i { (g.id == "d").then_some(g) } else { None }).unwrap();
    assert!(d.deleted);
    assert_eq!(d.description.as_deref(), Some("Четвёртый уровень"));
}

#[test]
fn utf16_with_bom() {
    let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><КоммерческаяИнформация ВерсияСхемы=\"2.05\"><Каталог><Товары><Товар><Ид>u</Ид><Наименование>Ёж</Наименование></Товар></Товары></Каталог></КоммерческаяИнформация>";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(products(&items(&bytes))[0].name, "Ёж");
}

#[test]
fn deep_nesting_is_refused() {
    let depth = 100_000;
    let xml = catalogue(&format!("<Товар><Ид>p</Ид>{}{}</Товар>", "<a>".repeat(depth), "</a>".repeat(depth)));
    let (items, errors) = read_all(&xml, Limits::default());
    assert!(products(&items).is_empty());
    assert!(matches!(&errors[..], [CmlError::TooDeep { limit: 64, .. }]), "{errors:?}");
    assert_eq!(errors[0].code(), "nesting_too_deep");
}

#[test]
fn not_commerceml() {
    for (xml, root) in [("<html><body/></html>", "html"), ("<?xml version=\"1.0\"?><!-- c --><rss/>", "rss")] {
        let err = CmlReader::new(Cursor::new(xml.as_bytes())).next_item().unwrap_err();
        assert!(matches!(&err, CmlError::NotCommerceMl { root: r } if r == root), "{err}");
    }
    for xml in ["", "   ", "just text", "<?xml version=\"1.0\"?>"] {
        let err = CmlReader::new(Cursor::new(xml.as_bytes())).next_item().unwrap_err();
        assert_eq!(err.code(), "malformed_xml", "{xml:?}: {err}");
    }
}

#[test]
fn truncated_files_fail_cleanly() {
    for name in [
        "carono-import.xml",
        "carono-offers.xml",
        "irpsv-bm6-goods-import-3.1.xml",
        "irpsv-bm6-goods-prices-3.1.xml",
        "carono-orders.xml",
        "gillbeits-rests___1af6e7b8-a026-4690-9752-1c9d64cb914d.xml",
    ] {
        let bytes = fixture(name);
        let end = bytes.len() - bytes.rsplit(|&b| b == b'>').next().map_or(0, <[u8]>::len);
        let half = &bytes[..bytes.len() / 2];
        let (_, errors) = read_all(half, Limits::default());
        match errors.last() {
            Some(CmlError::Malformed { position, message, .. }) => {
                // Positions count UTF-8 bytes: a windows-1251 file's are up to twice its own.
                assert!(*position > 0 && *position <= 2 * half.len() as u64, "{name}: position {position}");
                assert!(!message.is_empty());
            }
            other => panic!("{name}: cut in half gave {other:?}"),
        }
        // Every cut before the root's end is an error, never a panic or a loop.
        for cut in (0..end - 1).step_by(1 + end / 97) {
            let (_, errors) = read_all(&bytes[..cut], Limits::default());
            assert!(errors.last().is_some_and(|e| !e.is_recoverable()), "{name} cut at {cut}: {errors:?}");
        }
    }
}

/// xorshift64*: reproducible noise without a dependency.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn garbage_never_panics() {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let sample = fixture("carono-offers.xml");
    for round in 0..300 {
        let len = (noise.next() % 4096) as usize;
        let mut bytes: Vec<u8> = match round % 3 {
            // Pure noise.
            0 => (0..len).map(|_| noise.next() as u8).collect(),
            // Noise made of XML punctuation and Cyrillic names.
            1 => {
                let parts = [
                    "<",
                    ">",
                    "</",
                    "/>",
                    "Товар",
                    "Ид",
                    "Предложение",
                    "&amp;",
                    "&#",
                    "\"",
                    "=",
                    "Цена",
                    " ",
                    "<![CDATA[",
                    "]]>",
                    "<?",
                    "?>",
                    "КоммерческаяИнформация",
                ];
                (0..len / 4).flat_map(|_| parts[(noise.next() % parts.len() as u64) as usize].bytes()).collect()
            }
            // A real file with bytes flipped.
            _ => {
                let mut bytes = sample.clone();
                for _ in 0..1 + noise.next() % 20 {
                    let at = (noise.next() % bytes.len() as u64) as usize;
                    bytes[at] = noise.next() as u8;
                }
                bytes
            }
        };
        if round % 5 == 0 {
            let mut prefixed = "<КоммерческаяИнформация><Каталог><Товары><Товар>".as_bytes().to_vec();
            prefixed.append(&mut bytes);
            bytes = prefixed;
        }
        let _ = read_all(&bytes, Limits::default());
    }
}

// ----- the generator, read back -------------------------------------------------------------

#[test]
fn generated_import_round_trips() {
    let (seed, n) = (42, 500);
    let mut bytes = Vec::new();
    gen::write_import(&mut bytes, n, seed).unwrap();
    let items = items(&bytes);
    assert_eq!(version(&items), Some("2.09"));
    let c = counts(&items);
    assert_eq!(
        (c.groups, c.properties, c.price_types, c.warehouses, c.units, c.products),
        (gen::GROUPS, gen::PROPERTIES, gen::PRICE_TYPES, gen::WAREHOUSES, 1, n)
    );
    let groups: Vec<_> = items.iter().filter_map(|i| if let Item::Group(g) = i { Some(g) } else { None }).collect();
    assert_eq!(groups.iter().filter(|g| g.parent_id.is_none()).count(), 8);
    for (i, g) in groups.iter().enumerate() {
        if let Some(parent) = &g.parent_id {
            assert!(groups[..i].iter().any(|p| &p.id == parent));
        }
    }
    let maker = items.iter().find_map(|i| if let Item::Property(p) = i { Some(p) } else { None }).unwrap();
    assert_eq!(
        (maker.values.len(), maker.value_type.as_deref(), maker.for_products),
        (5, Some("Справочник"), Some(true))
    );
    let second = items.iter().filter_map(|i| if let Item::Property(p) = i { Some(p) } else { None }).nth(1).unwrap();
    assert!(second.multiple);

    for (i, p) in products(&items).into_iter().enumerate() {
        assert_eq!(p.id, gen::product_id(seed, i));
        assert_eq!(p.name, gen::product_name(i));
        assert_eq!(p.article.as_deref(), Some(gen::article(i).as_str()));
        assert_eq!(p.groups, [gen::group_id(seed, gen::product_group(i))]);
        assert_eq!(p.barcode.is_none(), i % 3 == 2);
        assert_eq!(p.images.len(), usize::from(i % 2 == 0));
        assert_eq!(p.deleted, i % 50 == 49);
        assert_eq!(p.properties.len(), 6, "the multiple property gives two pairs, the empty value none");
        assert_eq!(p.properties[0].0, gen::property_id(seed, 0));
        assert_eq!(p.unit.as_deref(), Some("796"));
        assert_eq!(p.tax_rate.as_deref(), Some("20"));
        assert_eq!(p.full_name, Some(format!("{} (полное)", gen::product_name(i))));
        assert_eq!(p.weight_grams, Some((i % 20 * 1000 + i * 37 % 1000) as i64));
        assert_eq!(p.characteristics.len(), usize::from(gen::has_variants(i)));
        assert!(p.description.as_deref().is_some_and(|d| d.starts_with(&gen::product_name(i))));
    }
}

#[test]
fn generated_offers_round_trip() {
    let (seed, n) = (7, 400);
    let mut bytes = Vec::new();
    gen::write_offers(&mut bytes, n, seed).unwrap();
    let items = items(&bytes);
    let c = counts(&items);
    assert_eq!((c.price_types, c.warehouses, c.offers), (2, 2, gen::offer_count(n)));
    let all = offers(&items);
    let expected: Vec<String> = (0..n).flat_map(|i| gen::offer_ids(seed, i)).collect();
    assert_eq!(all.iter().map(|o| o.id.clone()).collect::<Vec<_>>(), expected);
    let warehouses = [gen::warehouse_id(seed, 0), gen::warehouse_id(seed, 1)];
    let mut fractional = 0;
    let mut negative = 0;
    for (j, o) in all.iter().enumerate() {
        let prices: Vec<_> =
            o.prices.as_ref().unwrap().iter().map(|p| (p.price_type_id.clone(), p.amount_minor)).collect();
        assert_eq!(
            prices,
            [
                (gen::price_type_id(seed, 0), gen::price_minor(seed, j, 0)),
                (gen::price_type_id(seed, 1), gen::price_minor(seed, j, 1))
            ]
        );
        let stocks = [gen::stock(seed, j, 0), gen::stock(seed, j, 1)];
        assert_eq!(
            o.stocks.as_ref().unwrap(),
            &[(warehouses[0].clone(), stocks[0]), (warehouses[1].clone(), stocks[1])]
        );
        let total = stocks[0].to_scaled(1).unwrap() + stocks[1].to_scaled(1).unwrap();
        assert_eq!(o.quantity.unwrap().to_scaled(1), Some(total));
        fractional += usize::from(stocks.iter().any(|s| s.scale() > 0));
        negative += usize::from(stocks.iter().any(|s| s.is_negative()));
        assert_eq!(o.product_id, o.id.split('#').next().unwrap());
        assert_eq!(o.characteristic_id.is_some(), o.characteristics.len() == 1);
    }
    assert!(fractional > 10 && negative > 10, "{fractional} {negative}");
    assert!(all
        .iter()
        .any(|o| o.characteristics.first().is_some_and(|c| c.name == "Размер" && c.value.as_deref() == Some("M"))));
}
