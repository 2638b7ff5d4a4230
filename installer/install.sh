#!/bin/sh
# install.sh: put the `megashop` binary in place and run `megashop install`.
#
#   curl -fsSL https://get.megashop.example/install.sh | sudo sh -s -- [FLAGS] [-- INSTALL-ARGS]
#   sudo sh install.sh --from-file ./megashop -- --domain shop.ru ...      (offline)
#
# What it does, in order:
#   1. checks the system: Linux on x86_64/amd64 or aarch64/arm64 (anything else
#      fails); Debian or Ubuntu recommended (a warning, not a failure, elsewhere);
#   2. checks that the bin dir (default /usr/local/bin) is writable, before
#      downloading anything;
#   3. gets the binary into a temp dir: --from-file PATH copies it, otherwise it
#      is downloaded (curl, or wget when curl is missing) from --url URL, default
#      <base>/megashop-<arch>-linux with <base> = --base-url;
#   4. verifies its SHA-256 (rule below); a mismatch fails here, before anything
#      is installed;
#   5. copies it to a temp file in the bin dir, mode 0755, checks that it runs
#      (`--version`, else `--help`), then renames it to <bin dir>/megashop, so the
#      old binary is replaced atomically and never half-written;
#   6. runs `<bin dir>/megashop install` with every argument given after `--`
#      (unless --no-install).
#
# Argument rule: this script's own flags come first; everything after the first
# `--` goes to `megashop install` unchanged. An unknown flag before `--` is an
# error (a typo must not be passed on or ignored).
#
# Checksum rule: with --sha256 HEX the binary must match it (downloads and
# --from-file alike). A download without --sha256 must match <url>.sha256
# fetched from the same place (sha256sum format: the first word is the hex
# digest); when that file cannot be fetched, the install fails unless
# --insecure-skip-checksum is given. --from-file without --sha256 is not checked.
#
# Messages go to stderr as `install.sh: ...`; a failure is one line
# `install.sh: error: ...` and a non-zero exit. They are in Russian when the
# locale (LC_ALL, else LC_MESSAGES, else LANG) starts with `ru`.
#
# For tests, MEGASHOP_INSTALL_UNAME_M replaces `uname -m` and
# MEGASHOP_INSTALL_OS_RELEASE names the file read instead of /etc/os-release.
#
# POSIX sh (runs under dash); checked with `shellcheck -s sh`. Everything is in
# functions and `main` is called on the last line, so with `curl ... | sh` the
# shell has read the whole script before anything runs.

set -u

# No release server exists yet: this default is where releases are meant to
# be published. Until then use --from-file, or --url/--base-url pointing at
# your own mirror.
DEFAULT_BASE_URL=https://get.megashop.example/releases/latest

ru=0
case ${LC_ALL:-${LC_MESSAGES:-${LANG:-}}} in
    ru*) ru=1 ;;
esac

# Temp files, removed on exit (see cleanup).
work_dir=
staged=

# say EN RU: one message line on stderr, in the user's language.
say() {
    if [ "$ru" = 1 ]; then
        printf 'install.sh: %s\n' "$2" >&2
    else
        printf 'install.sh: %s\n' "$1" >&2
    fi
}

warn() {
    say "warning: $1" "предупреждение: $2"
}

die() {
    say "error: $1" "ошибка: $2"
    exit 1
}

cleanup() {
    if [ -n "$staged" ]; then
        rm -f -- "$staged"
    fi
    if [ -n "$work_dir" ]; then
        rm -rf -- "$work_dir"
    fi
}

usage() {
    if [ "$ru" = 1 ]; then
        cat <<'EOF'
Установка Megashop: кладёт программу megashop на место и запускает `megashop install`.

Использование:
  curl -fsSL <адрес>/install.sh | sudo sh -s -- [ПАРАМЕТРЫ] [-- ПАРАМЕТРЫ-INSTALL]
  sudo sh install.sh --from-file ./megashop [ПАРАМЕТРЫ] [-- ПАРАМЕТРЫ-INSTALL]

Параметры:
  --from-file PATH          взять готовый файл (установка без интернета)
  --url URL                 скачать программу с этого адреса (curl, иначе wget)
  --base-url URL            каталог релизов; скачивается URL/megashop-<arch>-linux
                            (по умолчанию https://get.megashop.example/releases/latest)
  --sha256 HEX              ожидаемая контрольная сумма SHA-256 файла
  --insecure-skip-checksum  не проверять скачанный файл (не рекомендуется)
  --bin-dir DIR             куда установить megashop (по умолчанию /usr/local/bin)
  --no-install              только установить программу, не запускать `megashop install`
  -h, --help                эта справка

Всё, что после `--`, передаётся в `megashop install` без изменений; неизвестный
параметр до `--` — ошибка.

Контрольная сумма: если указан --sha256, файл обязан с ней совпасть. Скачанный файл
без --sha256 сверяется с URL.sha256 с того же сервера; если его нет, установка
прерывается (кроме --insecure-skip-checksum). --from-file без --sha256 не проверяется.
При несовпадении ничего не устанавливается.

Для каталога по умолчанию нужны права root (sudo); без них укажите --bin-dir.
EOF
    else
        cat <<'EOF'
Megashop installer: puts the megashop binary in place and runs `megashop install`.

Usage:
  curl -fsSL <url>/install.sh | sudo sh -s -- [FLAGS] [-- INSTALL-ARGS]
  sudo sh install.sh --from-file ./megashop [FLAGS] [-- INSTALL-ARGS]

Flags:
  --from-file PATH          install this file (offline install)
  --url URL                 download the binary from URL (curl, else wget)
  --base-url URL            release directory; downloads URL/megashop-<arch>-linux
                            (default https://get.megashop.example/releases/latest)
  --sha256 HEX              expected SHA-256 of the binary
  --insecure-skip-checksum  do not verify a download (not recommended)
  --bin-dir DIR             where to put megashop (default /usr/local/bin)
  --no-install              only place the binary; do not run `megashop install`
  -h, --help                show this help

Everything after `--` is passed to `megashop install` unchanged; an unknown flag
before `--` is an error.

Checksum: with --sha256 the binary must match it. A download without --sha256 must
match URL.sha256 from the same server; if there is none the install stops (unless
--insecure-skip-checksum). --from-file without --sha256 is not verified. On a
mismatch nothing is installed.

The default bin dir needs root (sudo); without it, use --bin-dir.
EOF
    fi
}

# Prints the machine name used in release file names, or fails.
detect_arch() {
    machine=${MEGASHOP_INSTALL_UNAME_M:-$(uname -m)}
    case $machine in
        x86_64 | amd64) echo x86_64 ;;
        aarch64 | arm64) echo aarch64 ;;
        *) die "unsupported architecture $machine: Megashop is built for x86_64 (amd64) and aarch64 (arm64)" \
            "архитектура $machine не поддерживается: Megashop собирается для x86_64 (amd64) и aarch64 (arm64)" ;;
    esac
}

# os_release_field NAME FILE: the unquoted value of NAME= in an os-release file.
os_release_field() {
    sed -n "s/^$1=//p" "$2" | head -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}

check_os() {
    kernel=$(uname -s)
    if [ "$kernel" != Linux ]; then
        die "Megashop runs on Linux only, and this system is $kernel" \
            "Megashop работает только в Linux, а эта система — $kernel"
    fi
    os_release=${MEGASHOP_INSTALL_OS_RELEASE:-}
    if [ -z "$os_release" ]; then
        os_release=/etc/os-release
        if [ ! -r "$os_release" ] && [ -r /usr/lib/os-release ]; then
            os_release=/usr/lib/os-release
        fi
    fi
    if [ ! -r "$os_release" ]; then
        warn "cannot read $os_release, so the distribution is unknown; Megashop is tested on Debian and Ubuntu; continuing" \
            "не удалось прочитать $os_release, дистрибутив неизвестен; Megashop проверяется на Debian и Ubuntu; продолжаем"
        return 0
    fi
    os_id=$(os_release_field ID "$os_release")
    os_like=$(os_release_field ID_LIKE "$os_release")
    case " $os_id $os_like " in
        *" debian "* | *" ubuntu "*) return 0 ;;
    esac
    os_name=$(os_release_field PRETTY_NAME "$os_release")
    os_name=${os_name:-${os_id:-unknown}}
    warn "$os_name is not Debian or Ubuntu: Megashop is tested on those; continuing" \
        "$os_name — не Debian и не Ubuntu, а Megashop проверяется на них; продолжаем"
}

# Fails unless the bin dir, or the nearest existing directory above it (the
# bin dir is created later), is writable.
check_bin_dir() {
    if [ -e "$bin_dir" ] && [ ! -d "$bin_dir" ]; then
        die "--bin-dir $bin_dir is not a directory" "--bin-dir $bin_dir — не каталог"
    fi
    dir=$bin_dir
    while [ ! -e "$dir" ]; do
        dir=$(dirname -- "$dir")
    done
    if [ -d "$dir" ] && [ -w "$dir" ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        die "cannot write to $bin_dir: run as root (with sudo), or choose a directory you can write to with --bin-dir" \
            "нет прав на запись в $bin_dir: запустите от root (через sudo) или укажите доступный каталог в --bin-dir"
    fi
    die "cannot write to $bin_dir (read-only file system?)" \
        "нет прав на запись в $bin_dir (файловая система только для чтения?)"
}

# download URL FILE [quiet]: curl, or wget when curl is not installed.
download() {
    if command -v curl >/dev/null 2>&1; then
        if [ "${3:-}" = quiet ]; then
            curl --fail --silent --location --retry 3 --output "$2" "$1" 2>/dev/null
        else
            curl --fail --silent --show-error --location --retry 3 --output "$2" "$1"
        fi
    elif command -v wget >/dev/null 2>&1; then
        if [ "${3:-}" = quiet ]; then
            wget --quiet --tries=3 --output-document="$2" "$1" 2>/dev/null
        else
            wget --quiet --tries=3 --output-document="$2" "$1"
        fi
    else
        die "neither curl nor wget is installed: install one (apt-get install curl), or download the binary yourself and use --from-file" \
            "нет ни curl, ни wget: установите один из них (apt-get install curl) или скачайте файл сами и укажите --from-file"
    fi
}

# sha256_of FILE: the lowercase hex SHA-256 of FILE.
sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sum=$(sha256sum <"$1")
    elif command -v shasum >/dev/null 2>&1; then
        sum=$(shasum -a 256 <"$1")
    elif command -v openssl >/dev/null 2>&1; then
        sum=$(openssl dgst -sha256 -r <"$1")
    else
        die "cannot compute SHA-256: none of sha256sum, shasum, openssl is installed" \
            "нечем посчитать SHA-256: нет ни sha256sum, ни shasum, ни openssl"
    fi
    echo "${sum%% *}" | tr 'A-F' 'a-f'
}

# is_sha256 TEXT: true when TEXT is 64 lowercase hex digits.
is_sha256() {
    case $1 in
        *[!0-9a-f]* | '') return 1 ;;
    esac
    [ "${#1}" -eq 64 ]
}

# fetch_binary FILE: copies or downloads the binary to FILE and verifies it.
fetch_binary() {
    if [ -n "$from_file" ]; then
        if [ ! -f "$from_file" ] || [ ! -r "$from_file" ]; then
            die "cannot read $from_file" "не удаётся прочитать $from_file"
        fi
        cp -- "$from_file" "$1" || die "cannot copy $from_file" "не удалось скопировать $from_file"
        source_name=$from_file
    else
        say "downloading $url" "скачиваю $url"
        download "$url" "$1" || die "cannot download $url" "не удалось скачать $url"
        source_name=$url
    fi

    if [ -n "$sha256" ]; then
        expected=$sha256
    elif [ -n "$from_file" ]; then
        say "no --sha256 given: $from_file is not verified" "--sha256 не указан: $from_file не проверяется"
        return 0
    elif [ "$skip_checksum" = 1 ]; then
        warn "--insecure-skip-checksum: $url is not verified" "--insecure-skip-checksum: $url не проверяется"
        return 0
    else
        download "$url.sha256" "$work_dir/megashop.sha256" quiet \
            || die "no checksum for $url: $url.sha256 cannot be downloaded; pass --sha256 HEX (or --insecure-skip-checksum, not recommended)" \
                "нет контрольной суммы для $url: не удалось скачать $url.sha256; укажите --sha256 HEX (или --insecure-skip-checksum, не рекомендуется)"
        expected=
        read -r expected _ <"$work_dir/megashop.sha256" || true
        expected=$(echo "$expected" | tr 'A-F' 'a-f')
        is_sha256 "$expected" \
            || die "$url.sha256 does not hold a SHA-256 digest" "в $url.sha256 нет контрольной суммы SHA-256"
    fi

    actual=$(sha256_of "$1") || exit 1
    if [ "$actual" != "$expected" ]; then
        die "checksum mismatch for $source_name: expected $expected, got $actual; nothing was installed" \
            "контрольная сумма $source_name не совпадает: ожидалась $expected, получена $actual; ничего не установлено"
    fi
    say "SHA-256 verified: $actual" "SHA-256 совпадает: $actual"
}

# install_binary FILE: places FILE as $bin_dir/megashop, atomically.
install_binary() {
    target=$bin_dir/megashop
    if [ -d "$target" ]; then
        die "$target is a directory" "$target — каталог"
    fi
    mkdir -p -- "$bin_dir" || die "cannot create $bin_dir" "не удалось создать каталог $bin_dir"
    # Same directory as the target, so the final mv is a rename.
    staged=$(mktemp "$bin_dir/.megashop.XXXXXX") \
        || die "cannot create a temp file in $bin_dir" "не удалось создать временный файл в $bin_dir"
    if ! cp -- "$1" "$staged" || ! chmod 0755 "$staged"; then
        die "cannot copy the binary to $bin_dir" "не удалось скопировать файл в $bin_dir"
    fi

    # Run the new binary before it replaces anything (wrong architecture,
    # a truncated file, a noexec mount).
    if version=$("$staged" --version 2>/dev/null); then
        version=$(echo "$version" | head -n 1)
        version=" ${version#megashop }"
    elif "$staged" --help >/dev/null 2>&1; then
        version=
    else
        die "the new binary does not run on this system (neither --version nor --help works); nothing was installed" \
            "новый файл не запускается в этой системе (не работают ни --version, ни --help); ничего не установлено"
    fi

    mv -f -- "$staged" "$target" || die "cannot move the binary to $target" "не удалось переместить файл в $target"
    staged=
    say "installed megashop$version to $target" "megashop$version установлен в $target"
}

# run_install ARGS...: `megashop install ARGS`.
run_install() {
    say "running $target install" "запускаю $target install"
    # With `curl ... | sh`, stdin is the pipe that carried this script; give
    # the (possibly interactive) installer the terminal instead, when there is one.
    if [ ! -t 0 ] && [ -p /dev/stdin ] && (: </dev/tty) 2>/dev/null; then
        "$target" install "$@" </dev/tty
    else
        "$target" install "$@"
    fi
    status=$?
    if [ "$status" != 0 ]; then
        die "megashop install failed (exit status $status); megashop itself is installed at $target: fix the cause and run \`$target install\` again" \
            "megashop install завершился с ошибкой (код $status); сама программа уже установлена в $target: устраните причину и снова запустите \`$target install\`"
    fi
}

# need_value FLAG ARGC: fails when FLAG has no value after it.
need_value() {
    if [ "$2" -lt 2 ]; then
        die "$1 needs a value" "для $1 нужно значение"
    fi
}

main() {
    from_file=
    url=
    base_url=
    sha256=
    skip_checksum=0
    bin_dir=/usr/local/bin
    run_megashop_install=1

    while [ "$#" -gt 0 ]; do
        case $1 in
            --) shift; break ;;
            -h | --help) usage; exit 0 ;;
            --from-file) need_value "$1" "$#"; from_file=$2; shift ;;
            --from-file=*) from_file=${1#*=} ;;
            --url) need_value "$1" "$#"; url=$2; shift ;;
            --url=*) url=${1#*=} ;;
            --base-url) need_value "$1" "$#"; base_url=$2; shift ;;
            --base-url=*) base_url=${1#*=} ;;
            --sha256) need_value "$1" "$#"; sha256=$2; shift ;;
            --sha256=*) sha256=${1#*=} ;;
            --bin-dir) need_value "$1" "$#"; bin_dir=$2; shift ;;
            --bin-dir=*) bin_dir=${1#*=} ;;
            --insecure-skip-checksum) skip_checksum=1 ;;
            --no-install) run_megashop_install=0 ;;
            *) die "unknown option $1; arguments for \`megashop install\` go after \`--\` (see --help)" \
                "неизвестный параметр $1; параметры для \`megashop install\` указываются после \`--\` (см. --help)" ;;
        esac
        shift
    done
    # "$@" is now the arguments for `megashop install`.

    if [ -n "$from_file" ] && { [ -n "$url" ] || [ -n "$base_url" ]; }; then
        die "--from-file cannot be combined with --url or --base-url" "--from-file нельзя указывать вместе с --url или --base-url"
    fi
    if [ -n "$url" ] && [ -n "$base_url" ]; then
        die "give either --url or --base-url, not both" "укажите либо --url, либо --base-url, но не оба"
    fi
    if [ -z "$bin_dir" ]; then
        die "--bin-dir is empty" "--bin-dir пуст"
    fi
    if [ -n "$sha256" ]; then
        sha256=$(echo "$sha256" | tr 'A-F' 'a-f')
        is_sha256 "$sha256" \
            || die "--sha256 must be 64 hexadecimal digits, not '$sha256'" "--sha256 должен состоять из 64 шестнадцатеричных цифр, а не '$sha256'"
    fi

    check_os
    arch=$(detect_arch) || exit 1
    if [ -z "$from_file" ] && [ -z "$url" ]; then
        base_url=${base_url:-$DEFAULT_BASE_URL}
        url=${base_url%/}/megashop-$arch-linux
    fi
    check_bin_dir

    trap cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    work_dir=$(mktemp -d "${TMPDIR:-/tmp}/megashop-install.XXXXXX") \
        || die "cannot create a temp directory" "не удалось создать временный каталог"

    fetch_binary "$work_dir/megashop"
    install_binary "$work_dir/megashop"
    rm -rf -- "$work_dir"
    work_dir=

    if [ "$run_megashop_install" = 0 ]; then
        say "--no-install: run \`$target install\` yourself when ready" \
            "--no-install: запустите \`$target install\` сами, когда будете готовы"
        exit 0
    fi
    run_install "$@"
}

main "$@"
