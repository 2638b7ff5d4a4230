#!/usr/bin/env python3
"""Generates a catalogue in Megashop's canonical CSV format, for import benchmarks.

One row per variant; the product columns repeat on every row of the product, as
`megashop export` writes them. About 5 variants per product (1 to 9, evenly), so the
default 1,000,000 rows make about 200,000 products. Each product has a category from a
fixed tree (62 categories, 3 levels), a brand (`attr:brand`) and a power rating
(`attr:power_w:number`); each variant a size (`option:Размер`), a 13-digit EAN barcode,
prices in three price types (`price:opt`, `price:retail`, `price:vip`) and stock in two
warehouses (`stock:msk`, `stock:spb`). Titles and descriptions are Russian; some hold
double quotes, commas and line breaks, so the CSV quoting is exercised.

The output is deterministic for a seed, and a run with fewer --rows writes a prefix of a
longer run (up to the last, possibly cut, product). It is UTF-8 with a BOM, `\\n` line
ends, minimal quoting, columns in the order export writes them.

    scripts/gen-catalog.py --rows 1000000 -o catalog.csv     # prints a JSON summary
    scripts/gen-catalog.py --rows 10 | head                  # CSV to stdout

Python 3.11, standard library only.
"""

import argparse
import csv
import json
import random
import sys
import time

# (path, noun for titles, SKU prefix); inner nodes come from the paths.
LEAVES = [
    ("Электроника > Смартфоны", "Смартфон", "SPH"),
    ("Электроника > Ноутбуки", "Ноутбук", "NTB"),
    ("Электроника > Планшеты", "Планшет", "TAB"),
    ("Электроника > Телевизоры", "Телевизор", "TV"),
    ("Электроника > Аудио > Наушники", "Наушники", "HPH"),
    ("Электроника > Аудио > Колонки", "Портативная колонка", "SPK"),
    ("Электроника > Аксессуары > Кабели", "Кабель", "CBL"),
    ("Электроника > Аксессуары > Зарядные устройства", "Зарядное устройство", "CHG"),
    ("Бытовая техника > Кухня > Чайники", "Чайник электрический", "KTL"),
    ("Бытовая техника > Кухня > Микроволновые печи", "Микроволновая печь", "MWO"),
    ("Бытовая техника > Кухня > Блендеры", "Блендер", "BLN"),
    ("Бытовая техника > Кухня > Кофемашины", "Кофемашина", "CFM"),
    ("Бытовая техника > Уборка > Пылесосы", "Пылесос", "VAC"),
    ("Бытовая техника > Уборка > Роботы-пылесосы", "Робот-пылесос", "RVC"),
    ("Бытовая техника > Климат > Обогреватели", "Обогреватель", "HTR"),
    ("Бытовая техника > Климат > Вентиляторы", "Вентилятор", "FAN"),
    ("Бытовая техника > Климат > Кондиционеры", "Кондиционер", "AC"),
    ("Инструменты > Электроинструмент > Дрели", "Дрель", "DRL"),
    ("Инструменты > Электроинструмент > Шуруповёрты", "Шуруповёрт", "SCR"),
    ("Инструменты > Электроинструмент > Перфораторы", "Перфоратор", "PRF"),
    ("Инструменты > Электроинструмент > Углошлифовальные машины", "УШМ", "AGR"),
    ("Инструменты > Ручной инструмент", "Набор инструментов", "HTS"),
    ("Инструменты > Садовая техника > Газонокосилки", "Газонокосилка", "LMW"),
    ("Инструменты > Садовая техника > Триммеры", "Триммер", "TRM"),
    ("Одежда > Мужская > Куртки", "Куртка мужская", "MJK"),
    ("Одежда > Мужская > Футболки", "Футболка мужская", "MTS"),
    ("Одежда > Мужская > Брюки", "Брюки мужские", "MTR"),
    ("Одежда > Женская > Платья", "Платье", "WDR"),
    ("Одежда > Женская > Блузки", "Блузка", "WBL"),
    ("Одежда > Детская", "Комбинезон детский", "KJS"),
    ("Обувь > Мужская обувь > Кроссовки", "Кроссовки мужские", "MSN"),
    ("Обувь > Мужская обувь > Ботинки", "Ботинки мужские", "MBT"),
    ("Обувь > Женская обувь > Туфли", "Туфли", "WSH"),
    ("Обувь > Женская обувь > Сапоги", "Сапоги женские", "WBT"),
    ("Спорт > Велосипеды", "Велосипед", "BIK"),
    ("Спорт > Тренажёры", "Тренажёр", "GYM"),
    ("Спорт > Туризм > Палатки", "Палатка", "TNT"),
    ("Спорт > Туризм > Рюкзаки", "Рюкзак", "BPK"),
    ("Дом и сад > Мебель > Стулья", "Стул", "CHR"),
    ("Дом и сад > Мебель > Столы", "Стол", "TBL"),
    ("Дом и сад > Освещение", "Светильник", "LMP"),
    ("Дом и сад > Текстиль", "Комплект постельного белья", "BED"),
]

BRANDS = [
    "Bosch", "Makita", "Philips", "Samsung", "Xiaomi", "Redmond", "Polaris", "Scarlett",
    "Витязь", "Бирюса", "Зубр", "Интерскол", "Энкор", "Ресанта", "Hyundai", "Tefal",
    "De'Longhi", "Dyson", "Huawei", "Lenovo", "ASUS", "Acer", "Sony", "JBL", "Sven",
    "Defender", "Stern", "Forward", "Nordway", "Outventure", "Глория", "Снежная Королева",
    "Zolla", "Henderson", "Ralf Ringer", "Котофей", "Кари", "Аскона", "Шатура", "Дятьково",
]
SERIES = ["Профи", "Лидер", "Стандарт", "Турбо", "Мастер", "Эксперт", "Гранд", "Нова", "Спутник", "Вега"]
COLORS = ["чёрный", "белый", "серый", "синий", "красный", "зелёный", "бежевый", "графит"]
SIZES = ["XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL", "5XL"]
SENTENCES = [
    "Надёжная модель для ежедневного использования.",
    "Корпус из ударопрочного пластика, защита от перегрева.",
    "Гарантия производителя — 2 года, сервисные центры по всей России.",
    "Подходит для дома, дачи и небольшого офиса.",
    "В комплекте: инструкция на русском языке, гарантийный талон, кабель 1,5 м.",
    "Лёгкий, компактный, удобно хранить и перевозить.",
    "Покупатели отмечают тихую работу, простую настройку и аккуратную сборку.",
    "Класс энергопотребления A+, расход не больше заявленного.",
    "Цвет может незначительно отличаться от фотографии.",
    "Сертифицировано по ТР ТС, соответствует ГОСТ.",
]
QUOTED = [
    "Серия \"{series}\" — выбор тех, кто ценит качество.",
    "Модель получила знак \"Лучший выбор\" по итогам {year} года.",
    "Технология \"{series} Smart\", режимы \"Эко\" и \"Турбо\".",
]

TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p",
     "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
))

HEADER = [
    "product", "title", "description", "category", "status", "images", "seo_title",
    "seo_description", "attr:brand", "attr:power_w:number", "sku", "barcode",
    "variant_title", "option:Размер", "weight_grams", "external_id",
    "price:opt", "price:retail", "price:vip", "stock:msk", "stock:spb",
]


def slugify(text):
    out, dash = [], False
    for ch in text.lower():
        t = TRANSLIT.get(ch, ch if ch.isascii() and ch.isalnum() else None)
        if t is None or t == "":
            if t is None and not dash and out:
                out.append("-")
                dash = True
            continue
        out.append(t)
        dash = False
    return "".join(out).strip("-")


def ean13(n):
    """A valid EAN-13 with the Russian prefix 460 and a 9-digit serial."""
    body = f"460{n % 10**9:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def money(kopecks):
    return f"{kopecks // 100}.{kopecks % 100:02d}"


def category_count():
    nodes = set()
    for path, _, _ in LEAVES:
        parts = path.split(" > ")
        nodes.update(" > ".join(parts[: i + 1]) for i in range(len(parts)))
    return len(nodes)


def products(rng):
    """Endless products: (product cells, [variant cells]), product cells in header order."""
    pid = 0
    serial = 0
    while True:
        pid += 1
        path, noun, prefix = rng.choice(LEAVES)
        brand = rng.choice(BRANDS)
        series = rng.choice(SERIES)
        model = f"{rng.choice('ABCDEKMPTX')}{rng.randint(100, 9999)}"
        color = rng.choice(COLORS)
        shape = rng.random()
        if shape < 0.15:
            title = f'{noun} {brand} "{series}" {model}, {color}'
        elif shape < 0.45:
            title = f"{noun} {brand} {model}, {color}"
        else:
            title = f"{noun} {brand} {series} {model}"
        sentences = rng.sample(SENTENCES, rng.randint(2, 4))
        if rng.random() < 0.25:
            sentences.insert(1, rng.choice(QUOTED).format(series=series, year=rng.randint(2018, 2024)))
        if rng.random() < 0.3:
            cut = rng.randint(1, len(sentences) - 1)
            description = " ".join(sentences[:cut]) + "\n" + " ".join(sentences[cut:])
        else:
            description = " ".join(sentences)
        r = rng.random()
        status = "active" if r < 0.9 else "draft" if r < 0.97 else "archived"
        images = "|".join(
            f"https://cdn.example.ru/p/{pid:07d}/{i}.jpg" for i in range(1, rng.randint(0, 3) + 1)
        )
        if rng.random() < 0.4:
            seo_title = f"Купить {noun.lower()} {brand} {model} — цена, отзывы"
            seo_description = f"{noun} {brand} {model} с доставкой по Москве и Санкт-Петербургу."
        else:
            seo_title = seo_description = ""
        slug = f"{slugify(noun)}-{slugify(brand)}-{slugify(model)}-{pid}"
        power = rng.choice([0, 5, 10, 20, 45, 65, 100, 350, 750, 1200, 1500, 1800, 2000, 2200])
        head = [slug, title, description, path, status, images, seo_title, seo_description,
                brand, str(power)]
        base = rng.randint(199, 199_999) * 100 + rng.choice([0, 0, 0, 50, 90, 99])
        weight = rng.randint(50, 25_000)
        variants = []
        count = rng.randint(1, 9)
        for j, size in enumerate(SIZES[:count]):
            serial += 1
            retail = base + j * rng.choice([0, 10_000, 25_000])
            variants.append([
                f"{prefix}-{pid:07d}-{size}",
                ean13(serial),
                f"Размер {size}",
                size,
                str(weight + j * 10),
                "",
                money(retail * 85 // 100),
                money(retail),
                money(retail * 92 // 100),
                str(0 if rng.random() < 0.1 else rng.randint(1, 200)),
                str(0 if rng.random() < 0.2 else rng.randint(1, 100)),
            ])
        yield pid, head, variants


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="variant rows (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    ap.add_argument("--external-ids", action="store_true",
                    help="fill external_id (otherwise the column is left out, as export does)")
    ap.add_argument("-o", "--output", help="file to write (default: stdout)")
    args = ap.parse_args()
    if args.rows < 1:
        ap.error("--rows must be at least 1")

    started = time.monotonic()
    header = HEADER if args.external_ids else [h for h in HEADER if h != "external_id"]
    ext_at = HEADER.index("external_id")
    out = open(args.output, "w", encoding="utf-8-sig", newline="") if args.output else None
    if out is None:
        sys.stdout.reconfigure(encoding="utf-8", newline="")
        sys.stdout.write("\ufeff")
    sink = out or sys.stdout
    w = csv.writer(sink, lineterminator="\n")
    w.writerow(header)
    rng = random.Random(args.seed)
    written = 0
    n_products = 0
    for pid, head, variants in products(rng):
        n_products += 1
        for v in variants:
            row = head + v
            if args.external_ids:
                row[ext_at] = f"1C-{row[HEADER.index('sku')]}"
            else:
                del row[ext_at]
            w.writerow(row)
            written += 1
            if written == args.rows:
                break
        if written == args.rows:
            break
    if out is not None:
        out.close()
        print(json.dumps({
            "file": args.output, "rows": written, "products": n_products,
            "categories": category_count(), "price_types": 3, "warehouses": 2,
            "seconds": round(time.monotonic() - started, 1),
        }))
    else:
        sys.stdout.flush()
        print(f"gen-catalog: {written} rows, {n_products} products", file=sys.stderr)


if __name__ == "__main__":
    main()
