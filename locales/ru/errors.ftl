# Сообщения об ошибках API и CLI (русский). Стабильный код ошибки выбирает код,
# см. docs/ru/api.md.
unknown-host = На адресе { $host } нет магазина.
not-found = Не найдено: { $entity } «{ $key }».
reference-not-found = Поле { $field } ссылается на то, чего нет: { $entity } «{ $key }».
taken = Значение «{ $value }» поля { $field } уже занято в этом магазине.
validation-failed = { $count ->
    [one] { $count } поле заполнено неверно.
    [few] { $count } поля заполнены неверно.
   *[many] { $count } полей заполнены неверно.
}
in-use = Нельзя удалить: { $entity } ещё используется.
unauthorized = Нужна авторизация: передайте действующий токен (Bearer).
token-expired = Срок действия токена истёк, получите новый.
forbidden = У вас нет прав на это действие в этом магазине.
invalid-token = Токен здесь недействителен: войдите заново.
invalid-credentials = Неверный логин или пароль.
invalid-refresh = Сессия недействительна: войдите заново.
refresh-reused = Эту сессию использовали с другого устройства, и мы закрыли её для безопасности. Войдите заново.
refresh-expired = Срок сессии истёк: войдите заново.
code-invalid = Неверный код. Проверьте его и попробуйте ещё раз.
code-expired = Срок действия кода истёк. Запросите новый.
code-locked = Слишком много неверных попыток. Запросите новый код.
link-invalid = Ссылка недействительна или устарела. Запросите новую.
not-verified = Сначала подтвердите почту или телефон: мы отправили вам ссылку или код.
account-disabled = Эта учётная запись отключена.
rate-limited = Слишком много попыток. Повторите через { $seconds } с.
invalid-config = { $count ->
    [one] { $count } значение в конфигурации неверно.
    [few] { $count } значения в конфигурации неверны.
   *[many] { $count } значений в конфигурации неверны.
}
internal-error = У нас что-то пошло не так. Ошибка записана в журнал.
invalid-json = Тело запроса — некорректный JSON для этого метода.
invalid-query = Некорректные параметры запроса.
route-not-found = Такого метода API нет.
method-not-allowed = Этот HTTP-метод здесь не поддерживается.
payload-too-large = Тело запроса слишком большое.
unsupported-media-type = Передайте тело запроса как application/json.

# Интеграции (плагины).
sync-busy = Эта интеграция уже выполняется. Повторите, когда текущий запуск закончится.
plugin-unsupported = Этот плагин так не умеет.
integration-config = Настройки или учётные данные интеграции непригодны.
remote-error = Внешняя система ответила ошибкой.
http-error = Не удалось связаться с внешней системой.
remote-data = Данные не такие, каких ждёт интеграция.
import-failed = Интеграция не смогла записать данные в каталог.

# Названия сущностей в сообщениях выше.
entity-tenant = магазин
entity-product = товар
entity-category = категория
entity-variant = вариант товара
entity-region = регион
entity-price-type = тип цен
entity-warehouse = склад
entity-delivery-method = способ доставки
entity-content = блок контента
entity-import = импорт
entity-report = отчёт
entity-integration = интеграция
entity-plugin = плагин
entity-run = запуск
