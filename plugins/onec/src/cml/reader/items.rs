//! Readers of the elements that become one item each. Every function is called just after
//! its element opened and returns after it closed; unknown children are skipped.

use std::io::BufRead;

use super::{parse_bool, CmlReader};
use crate::cml::tag::Tag;
use crate::cml::{
    Characteristic, CmlError, Decimal, Item, Offer, Price, PriceType, Product, Property, Unit, Warehouse,
};

impl<R: BufRead> CmlReader<R> {
    /// Ends an item: its first deferred error, else the item.
    fn finish(&mut self, id: Option<&str>) -> Result<(), CmlError> {
        match self.deferred.take() {
            Some(error) => Err(error.with_item_id(id)),
            None => Ok(()),
        }
    }

    /// Ends an item that must have an `Ид`.
    fn require_id(&mut self, id: Option<String>) -> Result<String, CmlError> {
        self.finish(id.as_deref())?;
        id.ok_or_else(|| self.missing("Ид", None))
    }

    /// `Классификатор/Свойства/Свойство` (or a group's).
    pub(super) fn read_property(&mut self, group_id: Option<String>) -> Result<Item, CmlError> {
        let mut property = Property { group_id, ..Property::default() };
        let mut id = None;
        while let Some(tag) = self.next_child()? {
            match tag {
                Tag::Id => id = self.text()?,
                Tag::Name => property.name = self.text()?.unwrap_or_default(),
                Tag::ValueType => property.value_type = self.text()?,
                Tag::ForProducts => property.for_products = self.flag()?,
                Tag::ForOffers => property.for_offers = self.flag()?,
                Tag::Multiple => property.multiple = self.flag()?.unwrap_or(false),
                Tag::Deleted => property.deleted = self.flag()?.unwrap_or(false),
                Tag::Version => property.version = self.text()?,
                Tag::ValueVariants => {
                    while let Some(tag) = self.next_child()? {
                        if tag != Tag::Dictionary {
                            self.skip()?;
                            continue;
                        }
                        let (mut value_id, mut value) = (None, None);
                        while let Some(tag) = self.next_child()? {
                            match tag {
                                Tag::ValueId => value_id = self.text()?,
                                Tag::Value => value = self.text()?,
                                _ => self.skip()?,
                            }
                        }
                        if let (Some(value_id), Some(value)) = (value_id, value) {
                            self.push_limited(&mut property.values, (value_id, value));
                        }
                    }
                }
                _ => self.skip()?,
            }
        }
        property.id = self.require_id(id)?;
        Ok(Item::Property(property))
    }

    /// `ТипыЦен/ТипЦены`.
    pub(super) fn read_price_type(&mut self) -> Result<Item, CmlError> {
        let mut price_type = PriceType::default();
        let mut id = None;
        while let Some(tag) = self.next_child()? {
            match tag {
                Tag::Id => id = self.text()?,
                Tag::Name => price_type.name = self.text()?.unwrap_or_default(),
                Tag::Currency => price_type.currency = self.text()?,
                Tag::Deleted => price_type.deleted = self.flag()?.unwrap_or(false),
                Tag::Tax => {
                    while let Some(tag) = self.next_child()? {
                        match tag {
                            Tag::Name => price_type.tax_name = self.text()?,
                            Tag::TaxIncluded => price_type.tax_included = self.flag()?,
                            _ => self.skip()?,
                        }
                    }
                }
                _ => self.skip()?,
            }
        }
        price_type.id = self.require_id(id)?;
        Ok(Item::PriceType(price_type))
    }

    /// `Склады/Склад` of a classifier or an offers package.
    pub(super) fn read_warehouse(&mut self) -> Result<Item, CmlError> {
        let mut warehouse = Warehouse::default();
        let mut id = None;
        while let Some(tag) = self.next_child()? {
            match tag {
                Tag::Id => id = self.text()?,
                Tag::Name => warehouse.name = self.text()?.unwrap_or_default(),
                Tag::Deleted => warehouse.deleted = self.flag()?.unwrap_or(false),
                Tag::Address => warehouse.address = self.text_or_child(Tag::Presentation)?,
                _ => self.skip()?,
            }
        }
        warehouse.id = self.require_id(id)?;
        Ok(Item::Warehouse(warehouse))
    }

    /// `ЕдиницыИзмерения/ЕдиницаИзмерения`.
    pub(super) fn read_unit(&mut self) -> Result<Item, CmlError> {
        let mut unit = Unit::default();
        while let Some(tag) = self.next_child()? {
            match tag {
                Tag::Id => unit.id = self.text()?,
                Tag::Code => unit.code = self.text()?,
                Tag::ShortName => unit.short_name = self.text()?,
                Tag::FullName => unit.full_name = self.text()?,
                Tag::IntlAbbr => unit.intl = self.text()?,
                Tag::Deleted => unit.deleted = self.flag()?.unwrap_or(false),
                _ => self.skip()?,
            }
        }
        self.finish(unit.id.as_deref())?;
        Ok(Item::Unit(unit))
    }

    /// `Каталог/Товары/Товар`.
    pub(super) fn read_product(&mut self) -> Result<Item, CmlError> {
        let mut product = Product { status: self.take_attr(Tag::Status), ..Product::default() };
        let mut id = None;
        let mut weight = None;
        while let Some(tag) = self.next_child()? {
            match tag {
                Tag::Id => id = self.text()?,
                Tag::Version => product.version = self.text()?,
                Tag::Deleted => product.deleted |= self.flag()?.unwrap_or(false),
                Tag::Barcode => product.barcode = self.text()?,
                Tag::Article => product.article = self.text()?,
                Tag::Name => product.name = self.text()?.unwrap_or_default(),
                Tag::BaseUnit => (product.unit, product.unit_name) = self.base_unit()?,
                Tag::Groups => {
                    while let Some(tag) = self.next_child()? {
                        match tag {
                            Tag::Id => {
                                if let Some(group) = self.text()? {
                                    self.push_limited(&mut product.groups, group);
                                }
                            }
                            _ => self.skip()?,
                        }
                    }
                }
                Tag::Description => {
                    if self.take_attr(Tag::HtmlFormat).is_some_and(|v| parse_bool(&v) == Some(true)) {
                        product.description_is_html = true;
                    }
                    product.description = self.long_text()?;
                }
                Tag::Picture => {
                    if let Some(picture) = self.text()? {
                        self.push_limited(&mut product.images, picture);
                    }
                }
                Tag::Manufacturer | Tag::Producer => {
                    product.manufacturer = self.text_or_child(Tag::Name)?;
                }
                Tag::Country => product.country = self.text()?,
                Tag::PropertyValues => self.property_values(&mut product.properties)?,
                Tag::TaxRates => product.tax_rate = self.tax_rate()?,
                Tag::Requisites => self.requisites(&mut product.requisites)?,
                Tag::Characteristics => self.characteristics(&mut product.characteristics)?,
                Tag::Weight => weight = self.scaled(3)?,
                _ => self.skip()?,
            }
        }
        for (name, value) in &product.requisites {
            match name.as_str() {
                "Полное наименование" if product.full_name.is_none() => {
                    product.full_name = Some(value.clone());
                }
                "ОписаниеВФорматеHTML" if parse_bool(value) == Some(true) => {
                    product.description_is_html = true;
                }
                "Вес" if weight.is_none() => {
                    weight = crate::cml::decimal::parse_scaled(value, 3);
                }
                _ => {}
            }
        }
        product.weight_grams = weight;
        if product.status.as_deref() == Some("Удален") {
            product.deleted = true;
        }
        product.id = self.require_id(id)?;
        Ok(Item::Product(product))
    }

    /// `Предложения/Предложение` (also of `ИзмененияПакетаПредложений`).
    pub(super) fn read_offer(&mut self) -> Result<Item, CmlError> {
        let mut offer = Offer::default();
        let status = self.take_attr(Tag::Status);
        let mut id = None;
        let mut characteristic_id = None;
        while let Some(tag) = self.next_child()? {
            match tag {
                Tag::Id => id = self.text()?,
                Tag::CharacteristicId => characteristic_id = self.text()?,
                Tag::Version => offer.version = self.text()?,
                Tag::Deleted => offer.deleted |= self.flag()?.unwrap_or(false),
                Tag::Barcode => offer.barcode = self.text()?,
                Tag::Article => offer.article = self.text()?,
                Tag::Name => offer.name = self.text()?,
                Tag::BaseUnit => offer.unit = self.base_unit()?.0,
                Tag::UnitCode => offer.unit = self.text()?,
                Tag::Characteristics => self.characteristics(&mut offer.characteristics)?,
                Tag::PropertyValues => self.property_values(&mut offer.properties)?,
                Tag::Prices => {
                    let prices = offer.prices.get_or_insert_with(Vec::new);
                    while let Some(tag) = self.next_child()? {
                        match tag {
                            Tag::Price => {
                                if let Some(price) = self.price()? {
                                    self.push_limited(prices, price);
                                }
                            }
                            _ => self.skip()?,
                        }
                    }
                }
                Tag::Quantity => offer.quantity = self.decimal()?,
                // ≤2.07: <Склад ИдСклада="…" КоличествоНаСкладе="…"/> directly in the offer.
                Tag::Warehouse => {
                    let stocks = offer.stocks.get_or_insert_with(Vec::new);
                    self.stock(stocks)?;
                }
                // ИзмененияПакетаПредложений: Склады/Склад.
                Tag::Warehouses => {
                    let stocks = offer.stocks.get_or_insert_with(Vec::new);
                    while let Some(tag) = self.next_child()? {
                        match tag {
                            Tag::Warehouse => self.stock(stocks)?,
                            _ => self.skip()?,
                        }
                    }
                }
                // 2.09+: Остатки/Остаток/Склад/{Ид,Количество}, or Остаток/Количество (total).
                Tag::Rests => {
                    let stocks = offer.stocks.get_or_insert_with(Vec::new);
                    while let Some(tag) = self.next_child()? {
                        if tag != Tag::Rest {
                            self.skip()?;
                            continue;
                        }
                        while let Some(tag) = self.next_child()? {
                            match tag {
                                Tag::Warehouse => self.stock(stocks)?,
                                Tag::Quantity => {
                                    let total = self.decimal()?;
                                    if offer.quantity.is_none() {
                                        offer.quantity = total;
                                    }
                                }
                                _ => self.skip()?,
                            }
                        }
                    }
                }
                _ => self.skip()?,
            }
        }
        if status.as_deref() == Some("Удален") {
            offer.deleted = true;
        }
        let id = self.require_id(id)?;
        match id.split_once('#') {
            Some((product, characteristic)) => {
                offer.product_id = product.to_owned();
                offer.characteristic_id =
                    Some(characteristic.trim()).filter(|c| !c.is_empty()).map(str::to_owned).or(characteristic_id);
                offer.id = id;
            }
            None => {
                offer.product_id = id.clone();
                offer.id = match &characteristic_id {
                    Some(characteristic) => format!("{id}#{characteristic}"),
                    None => id,
                };
                offer.characteristic_id = characteristic_id;
            }
        }
        Ok(Item::Offer(offer))
    }

    /// `БазоваяЕдиница`: (`@Код` or the text, the short name when `@Код` gave the code).
    fn base_unit(&mut self) -> Result<(Option<String>, Option<String>), CmlError> {
        let code = self.take_attr(Tag::Code);
        let short_name = self.take_attr(Tag::ShortName);
        let text = self.text()?;
        Ok(match code {
            Some(code) => (Some(code), text.or(short_name)),
            None => (text, None),
        })
    }

    /// The text of the element, or of its `child` element (`Изготовитель/Наименование`,
    /// `Адрес/Представление`), which wins when both are present.
    fn text_or_child(&mut self, child: Tag) -> Result<Option<String>, CmlError> {
        self.text.clear();
        self.text_over = false;
        self.text_cap = self.limits.max_text;
        let mut from_child = None;
        loop {
            match self.step(true)? {
                super::Step::Open(tag) if tag == child && from_child.is_none() => {
                    let direct = std::mem::take(&mut self.text);
                    let over = self.text_over;
                    from_child = self.text()?;
                    self.text = direct;
                    self.text_over = over;
                    self.text_cap = self.limits.max_text;
                }
                super::Step::Open(_) => self.skip()?,
                super::Step::Close => break,
                super::Step::Eof => return Err(self.malformed("unexpected end of file")),
            }
        }
        Ok(from_child.or_else(|| super::non_empty(&self.text)))
    }

    /// `ЗначенияСвойств/ЗначенияСвойства/{Ид, Значение+}`: one pair per non-empty value.
    fn property_values(&mut self, out: &mut Vec<(String, String)>) -> Result<(), CmlError> {
        while let Some(tag) = self.next_child()? {
            if tag != Tag::PropertyValue {
                self.skip()?;
                continue;
            }
            let mut id: Option<String> = None;
            // Values seen before the Ид (unusual, but legal).
            let mut early: Vec<String> = Vec::new();
            while let Some(tag) = self.next_child()? {
                match tag {
                    Tag::Id => id = self.text()?,
                    Tag::Value => {
                        let Some(value) = self.text()? else { continue };
                        match &id {
                            Some(id) => {
                                let id = id.clone();
                                self.push_limited(out, (id, value));
                            }
                            None => early.push(value),
                        }
                    }
                    _ => self.skip()?,
                }
            }
            if let Some(id) = id {
                for value in early {
                    self.push_limited(out, (id.clone(), value));
                }
            }
        }
        Ok(())
    }

    /// `ЗначенияРеквизитов/ЗначениеРеквизита/{Наименование, Значение}`, empty values dropped.
    fn requisites(&mut self, out: &mut Vec<(String, String)>) -> Result<(), CmlError> {
        while let Some(tag) = self.next_child()? {
            if tag != Tag::Requisite {
                self.skip()?;
                continue;
            }
            let (mut name, mut value) = (None, None);
            while let Some(tag) = self.next_child()? {
                match tag {
                    Tag::Name => name = self.text()?,
                    Tag::Value if value.is_none() => value = self.text()?,
                    _ => self.skip()?,
                }
            }
            if let (Some(name), Some(value)) = (name, value) {
                self.push_limited(out, (name, value));
            }
        }
        Ok(())
    }

    /// `ХарактеристикиТовара/ХарактеристикаТовара/{Ид, Наименование, Значение}`.
    fn characteristics(&mut self, out: &mut Vec<Characteristic>) -> Result<(), CmlError> {
        while let Some(tag) = self.next_child()? {
            if tag != Tag::Characteristic {
                self.skip()?;
                continue;
            }
            let mut characteristic = Characteristic::default();
            let mut name = None;
            while let Some(tag) = self.next_child()? {
                match tag {
                    Tag::Id => characteristic.id = self.text()?,
                    Tag::Name => name = self.text()?,
                    Tag::Value => characteristic.value = self.text()?,
                    _ => self.skip()?,
                }
            }
            if name.is_some() || characteristic.value.is_some() {
                characteristic.name = name.unwrap_or_default();
                self.push_limited(out, characteristic);
            }
        }
        Ok(())
    }

    /// `СтавкиНалогов/СтавкаНалога`: the `Ставка` of `НДС`, else of the first rate.
    fn tax_rate(&mut self) -> Result<Option<String>, CmlError> {
        let mut chosen: Option<(bool, String)> = None;
        while let Some(tag) = self.next_child()? {
            if tag != Tag::TaxRate {
                self.skip()?;
                continue;
            }
            let (mut name, mut rate) = (None, None);
            while let Some(tag) = self.next_child()? {
                match tag {
                    Tag::Name => name = self.text()?,
                    Tag::Rate => rate = self.text()?,
                    _ => self.skip()?,
                }
            }
            let Some(rate) = rate else { continue };
            let is_vat = name.as_deref() == Some("НДС");
            if chosen.is_none() || (is_vat && chosen.as_ref().is_some_and(|(vat, _)| !vat)) {
                chosen = Some((is_vat, rate));
            }
        }
        Ok(chosen.map(|(_, rate)| rate))
    }

    /// `Цены/Цена`; `None` (with a deferred error) when it lacks its type or amount.
    fn price(&mut self) -> Result<Option<Price>, CmlError> {
        let mut price = Price::default();
        let (mut type_id, mut amount) = (None, None);
        while let Some(tag) = self.next_child()? {
            match tag {
                Tag::PriceTypeId => type_id = self.text()?,
                Tag::PricePerUnit => amount = self.scaled(2)?,
                Tag::Currency => price.currency = self.text()?,
                Tag::PriceUnit => price.unit = self.text_or_child(Tag::Code)?,
                Tag::Factor => price.factor = self.text()?,
                Tag::MinQuantity => price.min_quantity = self.text()?,
                Tag::Tax => {
                    while let Some(tag) = self.next_child()? {
                        match tag {
                            Tag::TaxIncluded => price.tax_included = self.flag()?,
                            _ => self.skip()?,
                        }
                    }
                }
                _ => self.skip()?,
            }
        }
        match (type_id, amount) {
            (Some(type_id), Some(amount)) => {
                price.price_type_id = type_id;
                price.amount_minor = amount;
                Ok(Some(price))
            }
            (None, _) => {
                let error = self.missing("ИдТипаЦены", None);
                self.defer(error);
                Ok(None)
            }
            (_, None) => {
                // A non-number was already deferred as BadNumber; this adds nothing then.
                let error = self.missing("ЦенаЗаЕдиницу", None);
                self.defer(error);
                Ok(None)
            }
        }
    }

    /// One warehouse's stock: `Склад@ИдСклада/@КоличествоНаСкладе`, or
    /// `Склад/{Ид|ИдСклада, Количество|КоличествоНаСкладе}`.
    fn stock(&mut self, out: &mut Vec<(String, Decimal)>) -> Result<(), CmlError> {
        let mut warehouse = self.take_attr(Tag::WarehouseId);
        let mut quantity = None;
        if let Some(text) = self.take_attr(Tag::WarehouseQuantity) {
            quantity = Decimal::parse(&text);
            if quantity.is_none() {
                self.bad_number(Some((Tag::WarehouseQuantity, &text)));
            }
        }
        while let Some(tag) = self.next_child()? {
            match tag {
                Tag::Id | Tag::WarehouseId => warehouse = self.text()?,
                Tag::Quantity | Tag::WarehouseQuantity => quantity = self.decimal()?,
                _ => self.skip()?,
            }
        }
        if let (Some(warehouse), Some(quantity)) = (warehouse, quantity) {
            self.push_limited(out, (warehouse, quantity));
        }
        Ok(())
    }
}
